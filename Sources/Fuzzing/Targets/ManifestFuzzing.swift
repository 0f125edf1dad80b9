import AudioData
import Foundation
import Probes
import SpeechSynthesis

/// manifest.jsonl of a speech corpus through its three readers: the probes' (`ProbeTask.examples`, every task),
/// `pretrain features prepare`'s split (`FeatureCorpusPreparation.manifest`) and the synthesiser's
/// (`CorpusFiles.readManifest`, which a resumed `pretrain data synth-speech` reads).
enum ManifestFuzzing {
    static let seed: [UInt8] = {
        let lines = [
            #"{"duration":1.25,"language":"en","path":"ks/train/0001.wav","phonemes":"j ɛ s","speaker":"s01","split":"train","subset":"ks","text":"yes","voice":"en-us+m3","label":"yes","noise":"white","snr_db":20,"gain_db":-3,"reverb":[50,50]}"#,
            #"{"duration":0.9,"language":"en","path":"ks/test/0002.wav","phonemes":"n oʊ","speaker":"s02","split":"test","subset":"ks","text":"no","voice":"en-us+f2","label":"no","noise":"pink","snr_db":10.5,"gain_db":0}"#,
            #"{"duration":2.5,"language":"fi","path":"lid/train/0003.wav","phonemes":"m o i","speaker":"s03","split":"train","subset":"lid","text":"moi","voice":"fi","label":"fi","noise":"none","gain_db":1}"#,
            #"{"duration":2.0,"language":"en","path":"lid/test/0004.wav","phonemes":"h aɪ","speaker":"s01","split":"test","subset":"lid","text":"hi","voice":"en","label":"en","noise":"none","gain_db":1,"reverb":null}"#,
            #"{"duration":1.5,"language":"en","path":"sid/train/0005.wav","phonemes":"ð ə","speaker":"s01","split":"train","subset":"sid","text":"the","voice":"en","label":"s01","noise":"none","gain_db":0}"#,
            #"{"duration":1.5,"language":"en","path":"sid/test/0006.wav","phonemes":"ð ə","speaker":"s01","split":"test","subset":"sid","text":"the","voice":"en","label":"s01","noise":"babble","snr_db":5,"gain_db":-6}"#,
            #"{"duration":3.0,"language":"en","path":"pr/train/0007.wav","phonemes":"t uː b iː","speaker":"s02","split":"train","subset":"pr","text":"to be","voice":"en","noise":"none","gain_db":0}"#,
            #"{"duration":3.0,"language":"en","path":"pr/test/0008.wav","phonemes":"ɔː n ɒ t","speaker":"s03","split":"test","subset":"pr","text":"or not","voice":"en","noise":"none","gain_db":0}"#,
            #"{"duration":4.0,"path":"pretrain/train/0009.wav","phonemes":"","split":"dev","subset":"pretrain","text":"","noise":"none","gain_db":0}"#,
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
        name: "manifest", parses: "manifest.jsonl of speech corpora (probes, features prepare, synth-speech)",
        seeds: [FuzzInput("manifest.jsonl", seed)],
        families: [
            family("numbers") { TextMutations.replaceNumber(&$0, with: TextMutations.extremeNumbers, &$1) },
            family("non-finite") { TextMutations.replaceNumber(&$0, with: TextMutations.nonFiniteJSON, &$1) },
            family("strings") { TextMutations.replaceString(&$0, &$1) },
            family("lines") { bytes, random in
                random.pick([TextMutations.duplicateLines, TextMutations.swapLines, TextMutations.deleteLines])(&bytes, &random)
            },
            family("deep-nesting") { TextMutations.nestJSON(&$0, &$1) },
            family("bytes") { ByteMutations.havoc(&$0, &$1) },
            family("invalid-utf8") { ByteMutations.insertInvalidUTF8(&$0, &$1) },
        ],
        parse: { _, directory in
            var firstError: Error?
            func attempt(_ body: () throws -> Void) {
                do { try body() } catch { if firstError == nil { firstError = error } }
            }
            for task in ProbeTask.allCases { attempt { _ = try task.examples(corpus: directory) } }
            attempt { _ = try FeatureCorpusPreparation.manifest(in: directory) }
            attempt { _ = try CorpusFiles.readManifest(directory.appendingPathComponent("manifest.jsonl")) }
            if let firstError { throw firstError }
        })
}
