import AudioData
import Foundation
import Probes
import SpeechSynthesis

/// manifest.jsonl of a speech corpus through its three readers: the probes' (`ProbeTask.examples`, every task),
/// `pretrain features prepare`'s split (`FeatureCorpusPreparation.manifest`) and the synthesiser's
/// (`CorpusFiles.readManifest`, which a resumed `pretrain data synth-speech` reads).
enum ManifestFuzzing {
    /// One manifest line as `pretrain data synth-speech` writes it (keys sorted).
    static func line(_ path: String, _ subset: String, _ split: String, label: String?, phonemes: String,
                     extra: String = #""noise":"none","gain_db":0"#) -> String {
        let labelField = label.map { #","label":"\#($0)""# } ?? ""
        return #"{"duration":1.5,"language":"en","path":"\#(path)","phonemes":"\#(phonemes)","speaker":"s01","split":"\#(split)","#
            + #""subset":"\#(subset)","text":"to be","voice":"en-us+m3"\#(labelField),\#(extra)}"#
    }

    /// Train and test lines of every probe task, a dev line of the pre-training subset, and the optional fields
    /// (snr_db, reverb, a null) in use.
    static let seed: [UInt8] = {
        let lines = [
            line("ks/train/0001.wav", "ks", "train", label: "yes", phonemes: "j ɛ s",
                 extra: #""noise":"white","snr_db":20,"gain_db":-3,"reverb":[50,50]"#),
            line("ks/test/0002.wav", "ks", "test", label: "no", phonemes: "n oʊ", extra: #""noise":"pink","snr_db":10.5,"gain_db":0"#),
            line("lid/train/0003.wav", "lid", "train", label: "fi", phonemes: "m o i"),
            line("lid/test/0004.wav", "lid", "test", label: "en", phonemes: "h aɪ", extra: #""noise":"none","gain_db":1,"reverb":null"#),
            line("sid/train/0005.wav", "sid", "train", label: "s01", phonemes: "ð ə"),
            line("sid/test/0006.wav", "sid", "test", label: "s01", phonemes: "ð ə", extra: #""noise":"babble","snr_db":5,"gain_db":-6"#),
            line("pr/train/0007.wav", "pr", "train", label: nil, phonemes: "t uː b iː"),
            line("pr/test/0008.wav", "pr", "test", label: nil, phonemes: "ɔː n ɒ t"),
            line("pretrain/dev/0009.wav", "pretrain", "dev", label: nil, phonemes: ""),
        ]
        return Array((lines.joined(separator: "\n") + "\n").utf8)
    }()

    static func family(_ name: String, _ mutate: @escaping (inout [UInt8], inout FuzzRandom) -> Void) -> MutationFamily {
        MutationFamily(name) { random in
            var bytes = seed
            for _ in 0..<random.geometricCount(max: 3) { mutate(&bytes, &random) }
            return FuzzInput("manifest.jsonl", bytes)
        }
    }

    static let target = FuzzTarget(
        name: "manifest", parses: "manifest.jsonl of speech and music corpora (probes, features prepare, synth-speech)",
        seeds: [FuzzInput("manifest.jsonl", seed)],
        families: TextMutations.json.map { family($0.name, $0.mutate) } + [family("bytes") { ByteMutations.havoc(&$0, &$1) }],
        parse: { _, directory in
            var firstError: Error?
            func attempt(_ body: () throws -> Void) {
                do { try body() } catch { if firstError == nil { firstError = error } }
            }
            // Every task whose subset the manifest names (a speech manifest has no music subsets to ask for).
            attempt { for task in try ProbeTask.available(corpus: directory) { attempt { _ = try task.examples(corpus: directory) } } }
            attempt { _ = try FeatureCorpusPreparation.manifest(in: directory) }
            attempt { _ = try CorpusFiles.readManifest(directory.appendingPathComponent("manifest.jsonl")) }
            if let firstError { throw firstError }
        })
}
