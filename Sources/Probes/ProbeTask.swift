import AudioData
import FileErrors
import Foundation

/// The SUPERB-style tasks a frozen speech representation is probed on (Yang et al., 2021), and the MARBLE-style
/// music tasks (Yuan et al., 2023) of a `pretrain data synth-music` corpus.
public enum ProbeTask: String, CaseIterable, Codable, Sendable {
    /// Keyword spotting: 12 classes as Speech Commands v1 (ten words, silence, unknown).
    case ks
    /// Speaker identification.
    case sid
    /// Language identification.
    case lid
    /// Phoneme recognition (CTC), scored by phoneme error rate.
    case pr
    /// Music: the General MIDI instrument family of a single note (13 classes).
    case instrument
    /// Music: the MIDI note of a single note.
    case pitch
    /// Music: the key and mode of a phrase ("A# major": 24 classes).
    case key
    /// Music: the tempo bucket of a phrase (slow, moderate, fast).
    case tempo

    public static let speech: [ProbeTask] = [.ks, .sid, .lid, .pr]
    public static let music: [ProbeTask] = [.instrument, .pitch, .key, .tempo]

    public var isUtteranceClassification: Bool { self != .pr }

    /// The manifest subset its examples come from.
    public var subset: String {
        switch self {
        case .ks, .sid, .lid, .pr: return rawValue
        case .instrument, .pitch: return "note"
        case .key, .tempo: return "phrase"
        }
    }

    /// The manifest fields whose values, joined by a space, are an example's label.
    var labelFields: [String] {
        switch self {
        case .ks, .sid, .lid, .pr: return ["label"]
        case .instrument: return ["family"]
        case .pitch: return ["pitch"]
        case .key: return ["key", "mode"]
        case .tempo: return ["tempo"]
        }
    }

    /// The tasks whose subset a corpus' manifest holds, in `allCases` order (`--task all`).
    public static func available(corpus: URL) throws -> [ProbeTask] {
        let manifest = corpus.appendingPathComponent("manifest.jsonl")
        guard let data = try? Data(contentsOf: manifest) else {
            throw ProbeDataError("\(manifest.path): cannot read the corpus manifest (made by `pretrain data synth-speech` or synth-music)")
        }
        var subsets: Set<String> = []
        for (_, line) in JSONLines.lines(data) {
            if let subset = ((try? JSONSerialization.jsonObject(with: line)) as? [String: Any])?["subset"] as? String { subsets.insert(subset) }
        }
        return allCases.filter { subsets.contains($0.subset) }
    }
}

/// One labelled utterance of a probe task: its audio and its label (a class name, or phonemes for `pr`).
public struct ProbeExample: Equatable, Sendable {
    public var audio: URL
    public var split: String
    public var label: String
    /// Phonemes of `pr` examples; empty otherwise.
    public var phonemes: [String]
    /// Seconds of audio, from the manifest's `duration` (nil when the manifest has none).
    public var duration: Double?

    public init(audio: URL, split: String, label: String, phonemes: [String], duration: Double? = nil) {
        self.audio = audio
        self.split = split
        self.label = label
        self.phonemes = phonemes
        self.duration = duration
    }
}

/// The line of a corpus manifest (manifest.jsonl from `pretrain data synth-speech`) a probe needs.
struct ManifestLine: Decodable {
    var path: String
    var subset: String
    var split: String
    var label: String?
    var phonemes: String?
    var duration: Double?
}

/// A probe's data that cannot be used; one line (line breaks of values quoted from a manifest are escaped).
public struct ProbeDataError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) {
        self.description = description.replacingOccurrences(of: "\r", with: "\\r").replacingOccurrences(of: "\n", with: "\\n")
    }
}

extension ProbeTask {
    /// The task's examples in a corpus directory's manifest.jsonl, grouped by split; with `filters`, only the lines
    /// every filter accepts (`--where gender=female`: a probe on one group of speakers).
    public func examples(corpus: URL, filters: [ManifestFilter] = []) throws -> [String: [ProbeExample]] {
        let manifest = corpus.appendingPathComponent("manifest.jsonl")
        guard let data = try? Data(contentsOf: manifest) else {
            throw ProbeDataError("\(manifest.path): cannot read the corpus manifest (made by `pretrain data synth-speech`)")
        }
        var result: [String: [ProbeExample]] = [:]
        for (number, line) in JSONLines.lines(data) {
            let entry: ManifestLine
            do { entry = try JSONDecoder().decode(ManifestLine.self, from: line) } catch {
                throw ProbeDataError("\(manifest.path): line \(number) is not a manifest entry (\(JSONFile.problem(error)))")
            }
            guard entry.subset == subset else { continue }
            var label = entry.label
            if !filters.isEmpty || labelFields != ["label"] {
                let fields = ((try? JSONSerialization.jsonObject(with: line)) as? [String: Any]).map(manifestFields) ?? [:]
                guard filters.allSatisfy({ $0.accepts(fields) }) else { continue }
                let values = labelFields.compactMap { fields[$0] }
                label = values.count == labelFields.count ? values.joined(separator: " ") : nil
            }
            let phonemes = (entry.phonemes ?? "").split(separator: " ").map(String.init)
            if self == .pr, phonemes.isEmpty { continue }
            guard self == .pr || label != nil else {
                throw ProbeDataError("\(manifest.path): line \(number) of subset \(subset) has no \(labelFields.joined(separator: " and ")) (task \(rawValue))")
            }
            result[entry.split, default: []].append(ProbeExample(
                audio: corpus.appendingPathComponent(entry.path), split: entry.split,
                label: label ?? "", phonemes: phonemes, duration: entry.duration))
        }
        guard !(result["train"] ?? []).isEmpty, !(result["test"] ?? []).isEmpty else {
            throw ProbeDataError("\(manifest.path): subset '\(subset)' needs train and test utterances"
                + (filters.isEmpty ? " " : " with \(filters.map(\.description).joined(separator: " ")) ") + "(found \(result.mapValues(\.count).sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))")
        }
        return result
    }
}

/// The first `perClass` training examples of each class in a seeded random order (the low-label regime).
public func labelledSubset(_ examples: [ProbeExample], perClass: Int, seed: UInt64) -> [ProbeExample] {
    var random = SplitMix(seed: seed)
    var shuffled = examples
    for index in stride(from: shuffled.count - 1, to: 0, by: -1) {
        shuffled.swapAt(index, Int(random.next() % UInt64(index + 1)))
    }
    var taken: [String: Int] = [:]
    return shuffled.filter { example in
        taken[example.label, default: 0] += 1
        return taken[example.label]! <= perClass
    }
}

/// SplitMix64: a small seeded generator for choosing examples (independent of the engine's streams).
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
