import FileErrors
import Foundation

/// The input files of a run, read as documents in order. A `.jsonl` file holds one document a line,
/// `{"text": "…", "meta": {…}, …}`: fields besides `text` and `meta` go into meta (a key in both keeps meta's value),
/// and blank lines are skipped. Any other file (`.txt`) is one document. Every document gets `meta.source`, the input
/// file's name, unless it has one. Files are read in chunks, a line at a time.
public struct DocumentInput {
    /// A file to read and the name errors give it (the path as the user gave it).
    public struct File: Equatable {
        public let url: URL
        public let name: String
        public var isJSONLines: Bool { url.pathExtension.lowercased() == "jsonl" }
    }

    public let files: [File]
    /// Skip (and count) a malformed line or a text file that is not UTF-8, instead of stopping at it.
    public var skipBadLines: Bool

    /// What reading found.
    public struct Counts: Equatable {
        public var files = 0
        public var documents = 0
        /// Bytes of the files read.
        public var bytes = 0
        public var badLines = 0
        /// The first few bad lines' messages, for the report.
        public var badLineExamples: [String] = []
    }

    public init(files: [File], skipBadLines: Bool = false) {
        self.files = files
        self.skipBadLines = skipBadLines
    }

    /// The files that `paths` name: a directory stands for its .jsonl and .txt files, sorted by name. A path that does
    /// not exist is an error naming it.
    public init(paths: [String], skipBadLines: Bool = false) throws {
        var files: [File] = []
        for path in paths {
            let url = URL(fileURLWithPath: path)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
                throw FileError(path: path, operation: "read the input", reason: FileError.reason(errno: ENOENT))
            }
            if isDirectory.boolValue {
                let names = try FileError.wrap("list the input directory", path: path) {
                    try FileManager.default.contentsOfDirectory(atPath: url.path)
                }
                let inputs = names.filter { !$0.hasPrefix(".") && ["jsonl", "txt"].contains(($0 as NSString).pathExtension.lowercased()) }
                guard !inputs.isEmpty else { throw CurationError("\(path): the directory holds no .jsonl or .txt files") }
                files += inputs.sorted().map { File(url: url.appendingPathComponent($0), name: (path as NSString).appendingPathComponent($0)) }
            } else {
                files.append(File(url: url, name: path))
            }
        }
        self.init(files: files, skipBadLines: skipBadLines)
    }

    /// Calls `body` with each document in order, numbered from 0.
    public func forEach(_ body: (CurationDocument) throws -> Void) throws -> Counts {
        var counts = Counts()
        for file in files {
            counts.files += 1
            let source = file.url.lastPathComponent
            if file.isJSONLines {
                let reader = try ChunkedFileReader(file.url)
                var lineNumber = 0
                while try reader.nextLine({ line in
                    lineNumber += 1
                    guard line.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) else { return }
                    switch Self.document(line, source: source) {
                    case .success(var document):
                        (document.index, document.line) = (counts.documents, lineNumber)
                        counts.documents += 1
                        try body(document)
                    case .failure(let problem):
                        try bad("\(file.name) line \(lineNumber): \(problem)", &counts)
                    }
                }) {}
                counts.bytes += reader.bytesRead
            } else {
                let data = try FileError.wrap("read the input", path: file.name) { try Data(contentsOf: file.url) }
                counts.bytes += data.count
                guard let text = String(data: data, encoding: .utf8) else {
                    try bad("\(file.name): not UTF-8 text", &counts)
                    continue
                }
                let document = CurationDocument(text: text, meta: ["source": .string(source)], index: counts.documents, line: 0)
                counts.documents += 1
                try body(document)
            }
        }
        return counts
    }

    private func bad(_ message: String, _ counts: inout Counts) throws {
        guard skipBadLines else { throw CurationError(message) }
        counts.badLines += 1
        if counts.badLineExamples.count < 5 { counts.badLineExamples.append(message) }
    }

    /// The document of one JSONL line, or what is wrong with the line.
    static func document(_ line: UnsafeBufferPointer<UInt8>, source: String) -> Result<CurationDocument, CurationError> {
        let notADocument = #"not a JSON object with a string "text""#
        guard let value = JSONValueParser.parse(line) else { return .failure(CurationError("\(notADocument) (not valid JSON)")) }
        guard case .object(var fields) = value, case .string(let text)? = fields.removeValue(forKey: "text") else {
            return .failure(CurationError(notADocument))
        }
        var meta: [String: MetaValue] = [:]
        switch fields.removeValue(forKey: "meta") {
        case .object(let object)?: meta = object
        case nil, .null?: break
        default: return .failure(CurationError(#""meta" is not a JSON object"#))
        }
        for (key, value) in fields where meta[key] == nil { meta[key] = value }
        if meta["source"] == nil { meta["source"] = .string(source) }
        return .success(CurationDocument(text: text, meta: meta))
    }
}
