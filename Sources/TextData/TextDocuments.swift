import FileErrors
import Foundation

/// The documents of one input file: a text file is one document; a JSONL file (extension .jsonl) holds one
/// document per line, a JSON object whose "text" field is a string.
public struct TextDocuments {
    public var documents: [String]
    /// Per document of a JSONL file, the line's fields besides "text" (its "meta" object and any other field), or nil
    /// when it has none; empty for a text file.
    public var metadata: [[String: Any]?] = []
    /// Why the file, or some of its lines, were left out; nil when nothing was.
    public var problem: String?

    /// Reads `url`. Files that cannot be used at all come back with no documents and a problem.
    public static func read(_ url: URL) -> TextDocuments {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            return TextDocuments(documents: [], problem: "no such file")
        }
        if isDirectory.boolValue { return TextDocuments(documents: [], problem: "a directory inside a directory is not read") }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            return TextDocuments(documents: [], problem: "unreadable (\(FileError.reason(error, path: url.path)))")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            return TextDocuments(documents: [], problem: "not valid UTF-8 text")
        }
        if url.pathExtension.lowercased() == "jsonl" { return jsonLines(data) }
        guard text.contains(where: { !$0.isWhitespace }) else { return TextDocuments(documents: [], problem: "empty") }
        return TextDocuments(documents: [text], problem: nil)
    }

    static func jsonLines(_ data: Data) -> TextDocuments {
        var documents = [String]()
        var metadata = [[String: Any]?]()
        var bad = 0, empty = 0, lines = 0
        var firstBad: String?
        for (number, line) in JSONLines.lines(data) {
            lines += 1
            let object = try? JSONSerialization.jsonObject(with: line) as? [String: Any]
            guard let document = object?["text"] as? String else {
                bad += 1
                if firstBad == nil { firstBad = "line \(number) is not a JSON object with a string \"text\"" }
                continue
            }
            if document.contains(where: { !$0.isWhitespace }) {
                documents.append(document)
                let fields = object!.filter { $0.key != "text" }
                metadata.append(fields.isEmpty ? nil : fields)
            } else {
                empty += 1
            }
        }
        if lines == 0 { return TextDocuments(documents: [], problem: "empty") }
        var problems = [String]()
        if bad > 0 { problems.append("\(bad) of \(lines) lines unusable (\(firstBad!))") }
        if empty > 0 { problems.append("\(empty) of \(lines) lines with empty text") }
        return TextDocuments(documents: documents, metadata: metadata, problem: problems.isEmpty ? nil : problems.joined(separator: "; "))
    }

    /// Input arguments to files: a directory stands for its .txt and .jsonl files, sorted by name.
    public static func expand(_ inputs: [URL]) -> [URL] {
        inputs.flatMap { url -> [URL] in
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue else {
                return [url]
            }
            let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
            return names.filter { !$0.hasPrefix(".") && ["txt", "jsonl"].contains(($0 as NSString).pathExtension.lowercased()) }
                .sorted().map { url.appendingPathComponent($0) }
        }
    }
}
