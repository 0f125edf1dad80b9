import Foundation

/// The speeches of a play in the bundled plain-text editions: a block between blank lines whose first line is a
/// speaker's heading ("VIOLA.", "Ham.", "SIR TOBY."), stage directions in brackets left out.
public enum ShakespeareSpeeches {
    public struct Speech: Sendable, Equatable {
        public var speaker: String
        public var text: String
        public var wordCount: Int { text.split(whereSeparator: \.isWhitespace).count }
    }

    public static func parse(_ play: String) -> [Speech] {
        let normalised = play.replacingOccurrences(of: "\r\n", with: "\n")
        var speeches: [Speech] = []
        var block: [Substring] = []
        func close() {
            defer { block.removeAll(keepingCapacity: true) }
            guard block.count >= 2, let heading = speakerHeading(block[0]) else { return }
            let lines = block.dropFirst().filter { !$0.hasPrefix("[") }
            guard !lines.isEmpty else { return }
            speeches.append(Speech(speaker: heading, text: lines.joined(separator: "\n")))
        }
        for line in normalised.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { close() } else { block.append(Substring(trimmed)) }
        }
        close()
        return speeches
    }

    /// The speaker a heading names (without its full stop), or nil when the line is not a heading.
    static func speakerHeading(_ line: Substring) -> String? {
        guard (2...30).contains(line.count), line.hasSuffix("."), let first = line.first, first.isUppercase else { return nil }
        let firstWord = line.split(separator: " ").first.map(String.init) ?? ""
        guard !["ACT", "SCENE", "Act", "Scene"].contains(firstWord.trimmingCharacters(in: .punctuationCharacters)) else {
            return nil
        }
        return String(line.dropLast())
    }
}
