import FileErrors
import Foundation

/// Speakable lines from the Shakespeare corpus (data/shakespeare): verse and prose lines of a few words, split as
/// the text corpus is (README in data/): Hamlet gives the dev texts, The Tempest the test texts, the other plays
/// and poems the train texts, so no line is spoken in two splits.
public struct ShakespeareLines {
    public let train: [String]
    public let dev: [String]
    public let test: [String]

    public static let devFile = "hamlet.txt"
    public static let testFile = "tempest.txt"
    /// Words per line: long enough to carry phonetic variety, short enough for a 2–5 s utterance.
    public static let wordRange = 4...12

    public init(train: [String], dev: [String], test: [String]) {
        self.train = train; self.dev = dev; self.test = test
    }

    /// Reads every .txt file in `directory` (sorted by name, so the pools are the same on every machine).
    public init(directory: URL) throws {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
                .filter { $0.hasSuffix(".txt") }.sorted()
        } catch {
            throw SynthesisError.missingText("cannot read the Shakespeare text directory \(directory.path) (--text-dir): \(FileError.reason(error, path: directory.path))")
        }
        for required in [Self.devFile, Self.testFile] where !names.contains(required) {
            throw SynthesisError.missingText("\(directory.path) lacks \(required), which gives the dev/test texts (--text-dir)")
        }
        var pools: [String: [String]] = ["train": [], "dev": [], "test": []]
        for name in names {
            let path = directory.appendingPathComponent(name).path
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw SynthesisError.missingText("cannot read \(path) as UTF-8 text")
            }
            let split = name == Self.devFile ? "dev" : name == Self.testFile ? "test" : "train"
            pools[split, default: []] += Array(text.utf8).split(separator: 0x0a).compactMap(Self.speakable(utf8:))
        }
        // A line that recurs ("Exeunt all but Hamlet", a refrain) stays only in the first split that has it.
        var seen = Set<String>()
        func unique(_ lines: [String]) -> [String] { lines.filter { seen.insert($0).inserted } }
        train = unique(pools["train"]!)
        dev = unique(pools["dev"]!)
        test = unique(pools["test"]!)
        for (split, lines) in [("train", train), ("dev", dev), ("test", test)] where lines.isEmpty {
            throw SynthesisError.missingText("no speakable lines for the \(split) split in \(directory.path)")
        }
    }

    public func lines(split: String) -> [String] {
        switch split { case "dev": return dev; case "test": return test; default: return train }
    }

    /// The line cleaned for speech, or nil for headings, speaker tags, stage directions and lines too short
    /// or too long. Works on UTF-8 bytes (the texts are English; a non-ASCII letter counts as neither case):
    /// Character-level tests on the 170,000 lines of the corpus take seconds, these a small fraction of one.
    public static func speakable(_ raw: String) -> String? { speakable(utf8: Array(raw.utf8)[...]) }

    static func speakable(utf8 bytes: ArraySlice<UInt8>) -> String? {
        var words: [ArraySlice<UInt8>] = []
        var start: Int?
        let (lower, upper) = (bytes.startIndex, bytes.endIndex)
        for i in lower...upper {
            let byte = i < upper ? bytes[i] : 0x20
            // "--" is a dash between words ("Hamlet,--"), said as a pause: it separates words like a space.
            let dash = byte == 0x2d && ((i + 1 < upper && bytes[i + 1] == 0x2d) || (i > lower && bytes[i - 1] == 0x2d))
            if byte == 0x20 || byte == 0x09 || byte == 0x0d || dash {
                if let first = start { words.append(bytes[first..<i]); start = nil }
                if words.count > wordRange.upperBound { return nil }
            } else if start == nil {
                start = i
            }
        }
        guard wordRange.contains(words.count) else { return nil }
        var shouting = 0, lowercase = false
        for word in words {
            if word.contains(where: { (0x30...0x39).contains($0) || Self.notSpoken.contains($0) }) { return nil }
            if word.contains(where: { (0x61...0x7a).contains($0) }) { lowercase = true }
            else if word.count > 1 { shouting += 1 }
        }
        // Headings and speaker tags are upper case ("ACT III", "KING HENRY."); a line of verse is not.
        guard lowercase, shouting * 2 < words.count else { return nil }
        let first = String(decoding: words[0].filter { $0 != 0x2e && $0 != 0x2c && $0 != 0x3a && $0 != 0x3b }, as: UTF8.self)
        if ["Enter", "Exit", "Exeunt", "Re-enter", "Scene", "SCENE", "ACT", "Act"].contains(first) { return nil }
        return words.map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
    }

    /// Bytes of markup and numbering, never of speech: [ ] _ < > | { } # *
    static let notSpoken = Set("[]_<>|{}#*".utf8)
}
