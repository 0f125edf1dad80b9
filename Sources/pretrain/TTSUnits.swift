import FileErrors
import ArgumentParser
import AudioData
import Foundation
import Training

/// `pretrain tts units --corpus data/tts --aligner FASTSPEECH --out DIR`: the speech-unit vocabulary and LM corpora.
struct TTSUnits: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "units",
        abstract: "Make speech units of a TTS corpus and the token corpora of unit language models (tts, tts-aligned, speech, interleaved).",
        discussion: """
            k-means of the normalised train log-mel frames gives one unit per frame; a FastSpeech checkpoint's aligner gives \
            each phoneme's frames; a linear unit-to-mel decoder is fitted to the train frames (OUT/unit_decoder.safetensors, \
            for tts say / judge --unit-decoder). Writes OUT/speech_units.json and one prepared corpus per layout (OUT/tts, OUT/tts-aligned, \
            OUT/speech, OUT/interleaved), each usable as data.corpus of a gpt2 or llama recipe.
            Example: pretrain tts units --aligner runs/tts/fastspeech-small --out data/units
            """)

    @Option(help: "The TTS corpus (pretrain data synth-speech --subsets tts).") var corpus = "data/tts"
    @Option(help: "A FastSpeech checkpoint or run directory of that corpus, whose aligner gives the durations.") var aligner: String
    @Option(help: "Output directory.") var out: String
    @Option(help: "Speech units (k-means clusters).") var units = 128
    @Option(help: "Seed of k-means and of the interleaved spans.") var seed: UInt64 = 0

    func validate() throws {
        guard units >= 2 else { throw ValidationError("--units must be ≥ 2, got \(units)") }
    }

    func run() throws {
        let speaker = try TextToSpeech.load(URL(fileURLWithPath: aligner))
        let corpus = try TTSCorpus.load(URL(fileURLWithPath: self.corpus), mel: speaker.info.mel)
        guard corpus.info.phonemes == speaker.info.phonemes else {
            throw ValidationError("\(aligner) was trained on another phoneme inventory than \(self.corpus)'s")
        }
        var preparation = SpeechUnitPreparation()
        (preparation.unitCount, preparation.seed) = (units, seed)
        let summary = try preparation.run(corpus: corpus, aligner: speaker.model, out: URL(fileURLWithPath: out), log: { print($0) })
        print(String(format: "%d units, inertia %.3f per frame, decoder error %.3f; aligned utterances %@, interleaved %@",
                     summary.unitCount, summary.inertia, summary.decoderError, "\(summary.alignedUtterances)", "\(summary.interleavedUtterances)"))
        for (layout, tokens) in summary.trainTokens.sorted(by: { $0.key < $1.key }) { print("\(out)/\(layout): \(tokens) train tokens") }
    }
}

/// `pretrain tts words CKPT... --out DIR`: the sWUGGY/sBLIMP-style preference tests of spoken LMs.
struct TTSWords: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "words",
        abstract: "Test spoken LMs: words over non-words, word order, and continuation across speech and text.",
        discussion: """
            Pairs come from the TTS corpus' texts (real words seen in train text; held-out test lines), are spoken by \
            espeak-ng in the corpus' voice and turned into units; each model prefers the pair member of higher summed log \
            probability; the cross-modal kinds score a held-out line's next word against another after its spoken or written \
            first words. Writes OUT/preference.json. Example: pretrain tts words runs/units/speech runs/units/interleaved --out runs/words
            """)

    @Argument(help: "Decoder checkpoints or run directories trained on pretrain tts units corpora.") var checkpoints: [String]
    @Option(help: "The TTS corpus whose texts the pairs come from.") var corpus = "data/tts"
    @Option(help: "Output directory.") var out: String
    @Option(help: "Word / non-word pairs.") var lexical = 200
    @Option(help: "Sentence / swapped-sentence pairs.") var syntactic = 100
    @Option(help: "Pairs of each cross-modal continuation kind (speech→text, text→speech).") var continuation = 100
    @Option(help: "Seed of the pairs.") var seed: UInt64 = 0
    @Option(help: "The espeak-ng voice (the corpus').") var voice = "en-us"

    func run() throws {
        var test = SpokenPreferenceTest()
        (test.lexicalPairs, test.syntacticPairs, test.continuationPairs) = (lexical, syntactic, continuation)
        (test.seed, test.voice) = (seed, voice)
        _ = try test.run(checkpoints: checkpoints.map { URL(fileURLWithPath: $0) }, corpus: URL(fileURLWithPath: corpus),
                         out: URL(fileURLWithPath: out), log: { print($0) })
    }
}

/// How a speech-unit LM draws its units (`tts say`, `tts judge`); a FastSpeech checkpoint ignores these.
struct UnitSampling: ParsableArguments {
    @Option(help: "Seed of a speech-unit LM's sampling.") var seed: UInt64 = 0
    @Option(help: "Sampling temperature of a speech-unit LM.") var temperature: Float = 1
    @Option(name: .customLong("top-k"), help: "Draw a speech-unit LM's units from the K most likely.") var topK = 10
    @Flag(help: "Decode a tts-aligned speech-unit LM without phoneme guidance.") var unguided = false
    @Option(name: .customLong("unit-decoder"), help: "A speech-unit LM's unit-to-mel decoder (pretrain tts units' unit_decoder.safetensors; default: the units' centroids).")
    var unitDecoder: String?

    func configured(_ synthesizer: any SpeechSynthesizer) throws -> any SpeechSynthesizer {
        guard var unit = synthesizer as? UnitTextToSpeech else {
            guard unitDecoder == nil else { throw ValidationError("--unit-decoder needs a speech-unit LM; this is a FastSpeech checkpoint") }
            return synthesizer
        }
        guard temperature >= 0, topK >= 1 else { throw ValidationError("--temperature must be ≥ 0 and --top-k ≥ 1") }
        (unit.seed, unit.temperature, unit.topK) = (seed, temperature, topK)
        if unguided { unit.guided = false }
        if let unitDecoder { try unit.useDecoder(URL(fileURLWithPath: unitDecoder)) }
        return unit
    }
}

/// `pretrain tts table JUDGE_DIR... [--preference FILE]`: earlier judgements and preference tests as markdown.
struct TTSTable: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "table", abstract: "Tabulate tts judge output directories (and a tts words preference.json) as markdown.")

    @Argument(help: "Output directories of pretrain tts judge (each holds judge.json).") var judgements: [String] = []
    @Option(help: "A preference.json of pretrain tts words.") var preference: String?

    func run() throws {
        let rows = try judgements.map { (URL(fileURLWithPath: $0).lastPathComponent, try TextToSpeechJudge.judgement(URL(fileURLWithPath: $0))) }
        if !rows.isEmpty { print(TextToSpeechJudge.markdown(rows)) }
        if let preference {
            let report = try JSONFile.decode(SpokenPreferenceTest.Report.self, from: URL(fileURLWithPath: preference),
                                             expected: "a preference.json of pretrain tts words")
            print(report.markdown())
        }
    }
}
