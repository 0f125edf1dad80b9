import Curation
import FileErrors
import Foundation
import TextData
import Training

/// The corpora a study tokenizes for itself, each prepared once per content of its inputs.
public enum StudyCorpora {
    /// The plain-text plays (.txt) of a directory, sorted by name.
    public static func plays(_ directory: URL) throws -> [URL] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".txt") }.sorted()
        guard !names.isEmpty else { throw TrainingError("\(directory.path): no .txt plays to read") }
        return names.map { directory.appendingPathComponent($0) }
    }

    static let stampName = "inputs.crc"

    /// Prepares `inputs` into `directory` unless it already holds a corpus made from the same inputs: the CRC32C and
    /// size of every input (and of a given tokenizer.json), with the split, are stamped beside corpus.json once it is
    /// written, so a study whose input text changed prepares that corpus again instead of training on the old one.
    public static func prepare(_ directory: URL, inputs: [URL], split: CorpusPreparation.Split, tokenizer: CorpusPreparation.TokenizerSource,
                        console: ConsoleProgress) throws {
        var files = inputs
        if case .file(let url) = tokenizer { files.append(url) }
        let stamp = try files.map { url -> String in
            let (crc, size) = try CRC32C.checksum(ofFileAt: url)
            return "\(url.lastPathComponent) \(String(crc, radix: 16)) \(size)"
        }.joined(separator: "\n") + "\nsplit \(split)\ntokenizer \(tokenizer)\n"
        let stampURL = directory.appendingPathComponent(stampName)
        if FileManager.default.fileExists(atPath: directory.appendingPathComponent(PreparedCorpus.manifestName).path),
           (try? String(contentsOf: stampURL, encoding: .utf8)) == stamp {
            return
        }
        console.message("── corpus \(directory.lastPathComponent) → \(directory.path)")
        try? FileManager.default.removeItem(at: stampURL)
        try CorpusPreparation(inputs: inputs, split: split, tokenizer: tokenizer).run(into: directory)
        try stamp.write(to: stampURL, atomically: true, encoding: .utf8)
    }
}

/// Writes `documents` as JSONL (`{"text": …}` lines) unless the file holds exactly these bytes already, so that a
/// corpus prepared from it keeps its input stamp; the studies' one writer of the texts they tokenize.
func writeDocuments(_ documents: [String], to url: URL) throws {
    try FileError.createDirectory(url.deletingLastPathComponent())
    var data = Data()
    for document in documents { data += MetaValue.object(["text": .string(document)]).jsonText.utf8; data.append(0x0A) }
    if (try? Data(contentsOf: url)) != data {
        try FileError.wrap("write", path: url.path) { try data.write(to: url, options: .atomic) }
    }
}
