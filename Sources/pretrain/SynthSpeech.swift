import ArgumentParser
import Foundation
import SpeechSynthesis
import Training

/// `pretrain data synth-speech --out DIR`: a labelled speech corpus made by espeak-ng, the same for a seed.
struct SynthSpeech: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth-speech",
        abstract: "Synthesise a speech corpus with espeak-ng: pre-training audio plus keyword spotting, speaker, language and phoneme tasks.",
        discussion: """
            Writes 16 kHz mono 16-bit WAV files under DIR/<subset>/<split>/, manifest.jsonl (one utterance a line: \
            path, duration, text, phonemes, speaker, voice, language, split, subset, label, noise), phonemes.txt (the \
            phoneme inventory of the pr subset) and corpus.json (counts, hours, seed, tool versions, command line). Subsets: pretrain \
            (unlabelled, --hours), ks (12 Speech Commands v1 classes), sid (--sid-speakers speakers, different texts \
            per split), lid (--languages), pr (English phoneme transcripts); on request, tts (one clean speaker, \
            --tts-voice, for text-to-speech). A corpus for a new language: \
            --pretrain-language X --pr-language X (pre-training phrases and phoneme transcripts in X only). \
            The same arguments give the same files \
            for any --jobs; run again into the same DIR to resume. Needs espeak-ng and sox (make deps).
            Example: pretrain data synth-speech --out data/speech --hours 2 --seed 0
            """)

    @Option(help: "Output directory.")
    var out: String

    @Option(help: "Hours of unlabelled pre-training audio (only the pretrain subset: the labelled subsets keep their sizes; --scale shrinks all).")
    var hours: Double = 2

    @Option(help: "Multiply every subset's size by this (--hours and the --ks, --sid, --lid, --pr counts; each count at least 1), e.g. 0.05 for a quick corpus.")
    var scale: Double = 1

    @Option(help: "Seed: every text, speaker, noise and reverberation follows from it.")
    var seed: UInt64 = 0

    @Option(help: "Parallel workers (espeak-ng/sox pipelines); the output does not depend on it.")
    var jobs: Int = 2

    @Option(help: "Comma-separated subsets to make, of pretrain,ks,sid,lid,pr (the default) and tts.")
    var subsets = SynthesisOptions.allSubsets.joined(separator: ",")

    @Option(name: .customLong("ks"), help: "Keyword spotting utterances per class for train,dev,test.")
    var keywordsPerClass = "100,30,30"

    @Option(name: .customLong("sid"), help: "Speaker identification utterances per speaker for train,dev,test.")
    var sidPerSpeaker = "20,8,8"

    @Option(name: .customLong("sid-speakers"), help: "Speakers in the speaker identification subset.")
    var sidSpeakers = 24

    @Option(name: .customLong("lid"), help: "Language identification utterances per language for train,dev,test.")
    var lidPerLanguage = "50,20,20"

    @Option(name: .customLong("pr"), help: "Phoneme recognition utterances for train,dev,test.")
    var prUtterances = "600,100,100"

    @Option(name: .customLong("tts"), help: "Text-to-speech utterances (subset tts: one clean speaker) for train,dev,test.")
    var ttsUtterances = "1500,50,100"

    @Option(name: .customLong("tts-voice"), help: "The espeak-ng voice of the tts subset.")
    var ttsVoice = "en-us"

    @Option(help: "Comma-separated espeak-ng languages for language identification and pre-training.")
    var languages = WordLists.defaultLanguages.joined(separator: ",")

    @Option(name: .customLong("pretrain-language"),
            help: "Make every pre-training utterance a phrase in this espeak-ng language (a new-language corpus, e.g. fi).")
    var pretrainLanguage: String?

    @Option(name: .customLong("pr-language"),
            help: "Speak the phoneme recognition subset in this language (its voice and espeak-ng IPA), e.g. fi.")
    var prLanguage: String?

    @Option(name: .customLong("speaker-pool"), help: "Speaker profiles in all (voice variant × pitch × rate × accent).")
    var speakerPool = 60

    @Option(name: .customLong("text-dir"), help: "Shakespeare text directory (hamlet.txt gives dev texts, tempest.txt test texts).")
    var textDir = "data/shakespeare"

    func run() throws {
        var options = SynthesisOptions()
        options.seed = seed
        options.hours = hours
        options.subsets = subsets.split(separator: ",").map(String.init)
        options.keywordsPerClass = try SplitSizes(parsing: keywordsPerClass, flag: "--ks")
        options.sidPerSpeaker = try SplitSizes(parsing: sidPerSpeaker, flag: "--sid")
        options.sidSpeakers = sidSpeakers
        options.lidPerLanguage = try SplitSizes(parsing: lidPerLanguage, flag: "--lid")
        options.prUtterances = try SplitSizes(parsing: prUtterances, flag: "--pr")
        options.ttsUtterances = try SplitSizes(parsing: ttsUtterances, flag: "--tts")
        options.ttsVoice = ttsVoice
        options.languages = languages.split(separator: ",").map(String.init)
        options.speakerPool = speakerPool
        options.pretrainLanguage = pretrainLanguage
        options.prLanguage = prLanguage
        options = try options.scaled(by: scale)
        var synthesizer = SpeechCorpusSynthesizer(options: options, textDirectory: URL(fileURLWithPath: textDir))
        synthesizer.jobs = jobs
        synthesizer.commandLine = CommandLine.arguments
        let console = ConsoleProgress(standardError: true)
        let labelled = TaskProgress("synth-speech labelled subsets", unit: "utterances", console: console)
        let pretraining = TaskProgress("synth-speech pretrain", unit: "hours", console: console)
        synthesizer.log = { labelled.message($0) }
        synthesizer.progress = { phase, done, total in
            (phase == "pretrain" ? pretraining : labelled).update(done, of: total)
        }
        let start = Date()
        let summary = try synthesizer.run(into: URL(fileURLWithPath: out))
        pretraining.finish()
        for subset in options.subsets {
            let splits = SplitSizes.splits.compactMap { split in
                summary.subsets[subset]?[split].map { String(format: "%@ %d (%.2f h)", split, $0.utterances, $0.hours) }
            }
            print("\(subset): " + splits.joined(separator: ", "))
        }
        print(String(format: "wrote %@: %d utterances, %.2f hours, %d %@ phonemes, in %.0f s", out,
                     summary.total.utterances, summary.total.hours, summary.phonemeInventorySize, prLanguage ?? "English",
                     Date().timeIntervalSince(start)))
    }
}
