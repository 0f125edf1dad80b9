import ArgumentParser
import Foundation
import AudioData
import Training

/// `pretrain tts train RECIPE` (the ordinary trainer on a fastspeech recipe), `pretrain tts say CKPT TEXT --out WAV`,
/// `pretrain tts judge CKPT --recognizer DIR`, and the speech-unit commands (TTSUnits.swift).
struct TTS: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tts",
        abstract: "Text-to-speech: train a FastSpeech model or a speech-unit LM, speak text with it, judge it.",
        subcommands: [Train.self, TTSSay.self, TTSJudge.self, TTSUnits.self, TTSWords.self, TTSTable.self])
}

/// `pretrain tts say CKPT "text" --out x.wav`.
struct TTSSay: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "say",
        abstract: "Speak a text: espeak-ng's phonemes → log-mel frames (FastSpeech, or a speech-unit LM's units) → Griffin-Lim → a WAV.",
        discussion: """
            The text is phonemised by espeak-ng with --voice (the tts corpus' voice, so that the phonemes are the ones the \
            model learnt); a phoneme the model never saw is an error naming it. Prints the phonemes' frames and the real-time \
            factor (seconds of compute per second of audio). A speech-unit LM (trained on pretrain tts units' tts or \
            tts-aligned corpus) samples its units with --seed; a tts-aligned model is decoded under phoneme guidance \
            unless --unguided.
            Example: pretrain tts say runs/fastspeech-small "Good morrow, my lord." --out hello.wav
            """)

    @Argument(help: "A checkpoint directory, or a run directory (its newest complete checkpoint).")
    var checkpoint: String

    @Argument(help: "The text to speak.")
    var text: String

    @Option(help: "Output WAV file.")
    var out: String

    @Option(help: "The espeak-ng voice that phonemises the text.")
    var voice = "en-us"

    @Option(help: "Multiply every predicted duration by this (> 1 speaks slower).")
    var pace: Float = 1

    @Option(name: .customLong("griffin-lim-iterations"), help: "Griffin-Lim iterations of the vocoder.")
    var iterations = 32

    @OptionGroup var sampling: UnitSampling

    func validate() throws {
        guard pace > 0 && pace.isFinite else { throw ValidationError("--pace must be a number > 0, got \(pace)") }
        guard iterations >= 1 else { throw ValidationError("--griffin-lim-iterations must be ≥ 1, got \(iterations)") }
    }

    func run() throws {
        let speaker = try sampling.configured(try loadSpeechSynthesizer(URL(fileURLWithPath: checkpoint), griffinLimIterations: iterations))
        let speech = try speaker.say(phonemes: try espeakPhonemes(text, voice: voice), pace: pace)
        let rate = speaker.melOptions.sampleRate
        try TextToSpeech.writeWAV(speech.samples, sampleRate: rate, to: URL(fileURLWithPath: out))
        print(zip(speech.phonemes, speech.durations).map { "\($0)×\($1)" }.joined(separator: " "))
        print(String(format: "wrote %@: %.2f s (%d frames), real-time factor %.3f%@", out, Double(speech.samples.count) / Double(rate),
                     speech.mel.frameCount, speech.realTimeFactor, speech.truncated ? " (filled the context without ending)" : ""))
    }
}

/// `pretrain tts judge CKPT --recognizer FINETUNE_DIR --corpus data/tts --out DIR`.
struct TTSJudge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "judge",
        abstract: "Judge a TTS checkpoint on a TTS corpus' test utterances: PER of a CTC recogniser, MCD, skips, real-time factor.",
        discussion: """
            Each test utterance's phonemes are synthesised; the recogniser (a pretrain finetune output directory) \
            transcribes the synthesised audio, the real espeak-ng audio and copy synthesis (the real log-mel through the \
            same vocoder), and the PER of each is printed with the synthesised audio's mel-cepstral distortion from the \
            real one. Writes judge.json, report.html (with players for the first --samples utterances) and samples/.
            Example: pretrain tts judge runs/fastspeech-small --recognizer runs/tera/finetune/pr-all-seed0 --out runs/judge
            """)

    @Argument(help: "A FastSpeech or speech-unit LM checkpoint, or its run directory.") var checkpoint: String
    @Option(help: "The recogniser: a pretrain finetune output directory.") var recognizer: String
    @Option(help: "The TTS corpus (pretrain data synth-speech --subsets tts).") var corpus = "data/tts"
    @Option(help: "Output directory.") var out: String
    @Option(help: "Judge only the first N test utterances.") var limit: Int?
    @Option(help: "Utterances whose audio the report plays.") var samples = 4
    @Option(name: .customLong("griffin-lim-iterations"), help: "Griffin-Lim iterations of the vocoder.") var iterations = 32
    @OptionGroup var sampling: UnitSampling

    func run() throws {
        let speaker = try sampling.configured(try loadSpeechSynthesizer(URL(fileURLWithPath: checkpoint), griffinLimIterations: iterations))
        let recognizer = try TextToSpeechJudge.recognizer(URL(fileURLWithPath: self.recognizer))
        let corpus = try TTSCorpus.load(URL(fileURLWithPath: self.corpus), mel: speaker.melOptions)
        var judge = TextToSpeechJudge()
        (judge.utteranceLimit, judge.samples) = (limit, samples)
        let j = try judge.run(speaker: speaker, recognizer: recognizer, recognizerName: self.recognizer, corpus: corpus,
                              out: URL(fileURLWithPath: out), log: { print($0) })
        print(String(format: "PER real %.4f │ copy synthesis %.4f │ synthesised %.4f (%.2f× real) │ MCD copy %.2f, synthesised %.2f dB │ real-time factor %.3f │ %@",
                     j.perReal, j.perCopySynthesis, j.perSynthesized, j.perRatio, j.mcdCopySynthesis, j.mcdSynthesized,
                     j.realTimeFactor, out))
        let e = j.synthesizedEdits
        print("skipped words \(e.skippedWords) of \(e.words), inserted runs \(e.insertedRuns), deletions \(e.deletions), insertions \(e.insertions)"
            + (j.perResynthesis.map { String(format: ", resynthesis PER %.4f", $0) } ?? "") + (j.truncated > 0 ? ", \(j.truncated) truncated" : ""))
    }
}
