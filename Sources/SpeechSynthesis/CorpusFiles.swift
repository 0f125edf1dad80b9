import FileErrors
import Foundation

/// The corpus's text files, each written to a temporary name and renamed, so that an interrupted run never
/// leaves a half-written manifest.jsonl, corpus.json or phonemes.txt behind.
public enum CorpusFiles {
    public static let manifest = "manifest.jsonl"
    public static let summary = "corpus.json"
    public static let phonemeInventory = "phonemes.txt"
    /// What the existing audio was made with (seed, speakers, languages, tool versions); a resumed run must match.
    public static let identity = ".synthesis-identity.json"

    public static func writeAtomically(_ data: Data, to url: URL) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).partial")
        do {
            try data.write(to: temporary)
            if FileManager.default.fileExists(atPath: url.path) { try FileManager.default.removeItem(at: url) }
            try FileManager.default.moveItem(at: temporary, to: url)
        } catch {
            throw SynthesisError.unwritableOutput("cannot write \(url.path): \(FileError.reason(error, path: url.path))")
        }
    }

    static func encoder(pretty: Bool) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
                                          : [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// One JSON object per line, in the order given.
    public static func writeManifest<Entry: Encodable>(_ entries: [Entry], to url: URL) throws {
        let encoder = encoder(pretty: false)
        var data = Data()
        for entry in entries {
            data.append(try encoder.encode(entry))
            data.append(0x0a)
        }
        try writeAtomically(data, to: url)
    }

    public static func readManifest(_ url: URL) throws -> [ManifestEntry] {
        guard let data = try? Data(contentsOf: url) else {
            throw SynthesisError.missingText("cannot read \(url.path)")
        }
        return try JSONLines.lines(data).map { number, json in
            do { return try JSONDecoder().decode(ManifestEntry.self, from: json) } catch {
                throw SynthesisError.badOption("\(url.path) line \(number) is not a manifest entry: \(JSONFile.problem(error))")
            }
        }
    }

    /// The phoneme inventory of the phoneme recognition subset (of all English utterances when there is none),
    /// one phoneme a line, in Unicode scalar order: the output vocabulary of a phoneme recogniser.
    public static func phonemeInventory(_ entries: [ManifestEntry]) -> [String] {
        let recognition = entries.filter { $0.subset == "pr" }
        let source = recognition.isEmpty ? entries.filter { $0.language == "en" } : recognition
        let phonemes = Set(source.flatMap { $0.phonemes.split(separator: " ").map(String.init) })
        return phonemes.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
    }

    public static func writeJSON<T: Encodable>(_ value: T, to url: URL) throws {
        var data = try encoder(pretty: true).encode(value)
        data.append(0x0a)
        try writeAtomically(data, to: url)
    }
}

/// corpus.json: what is in the corpus and how to make it again.
public struct CorpusSummary: Codable, Equatable {
    public struct Count: Codable, Equatable {
        public var utterances = 0
        public var hours = 0.0
    }
    public var seed: UInt64
    public var sampleRate: Int
    public var espeakNGVersion: String
    public var soxVersion: String
    public var commandLine: [String]
    public var options: SynthesisOptions
    public var total: Count
    /// subset → split → count
    public var subsets: [String: [String: Count]]
    public var keywordClasses: [String]
    public var speakers: [SpeakerProfile]
    public var sidSpeakers: [String]
    public var phonemeInventorySize: Int

    enum CodingKeys: String, CodingKey {
        case seed, options, total, subsets, speakers
        case sampleRate = "sample_rate", espeakNGVersion = "espeak_ng_version", soxVersion = "sox_version"
        case commandLine = "command_line", keywordClasses = "keyword_classes", sidSpeakers = "sid_speakers"
        case phonemeInventorySize = "phoneme_inventory_size"
    }

    public static func counts(_ entries: [ManifestEntry]) -> (Count, [String: [String: Count]]) {
        var total = Count(), subsets: [String: [String: Count]] = [:]
        for entry in entries {
            subsets[entry.subset, default: [:]][entry.split, default: Count()].utterances += 1
            subsets[entry.subset, default: [:]][entry.split, default: Count()].hours += entry.duration / 3600
            total.utterances += 1
            total.hours += entry.duration / 3600
        }
        return (total, subsets)
    }
}
