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
            throw SynthesisError.missingText("cannot read the Shakespeare text directory \(directory.path) (--text-dir): \(error.localizedDescription)")
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
            pools[split, default: []] += text.split(separator: "\n").compactMap { Self.speakable(String($0)) }
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
    /// or too long.
    public static func speakable(_ raw: String) -> String? {
        let line = raw.replacingOccurrences(of: "--", with: " ")
            .split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
        let words = line.split(separator: " ")
        guard wordRange.contains(words.count) else { return nil }
        if line.contains(where: { $0.isNumber || "[]_<>|{}#*".contains($0) }) { return nil }
        if let first = words.first, ["Enter", "Exit", "Exeunt", "Re-enter", "Scene", "SCENE", "ACT", "Act"]
            .contains(first.trimmingCharacters(in: .punctuationCharacters)) { return nil }
        // Headings and speaker tags are upper case ("ACT III", "KING HENRY."); a line of verse is not.
        let shouting = words.filter { $0.count > 1 && $0.allSatisfy { !$0.isLetter || $0.isUppercase } }
        if shouting.count * 2 >= words.count { return nil }
        guard line.contains(where: { $0.isLowercase }) else { return nil }
        return line
    }
}
