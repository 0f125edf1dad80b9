import FileErrors
import AudioData
import Foundation
import Layers
import Probes
import Tensors

/// The automatic judges of synthesised speech, on the held-out (test) utterances of a TTS corpus:
///   - intelligibility: the phoneme error rate of a CTC recogniser (`pretrain finetune`'s output) on the synthesised
///     audio of each utterance's phonemes, against its PER on the real espeak-ng audio of the same utterance and on
///     copy synthesis (the real log-mel through the same Griffin-Lim vocoder: what the vocoder alone loses);
///   - mel-cepstral distortion of each audio (its log-mel analysed again, as the copy synthesis' is) against the real
///     recording: (10/ln 10)·√(2·Σ_d (c_d − ĉ_d)²) averaged over the frames
///     of a dynamic-time-warping path, c_1…c_13 the orthonormal DCT-II of each natural-log mel frame (c_0, the level,
///     left out; cepstra of the log-mel rather than SPTK's mel-cepstral analysis, so values are comparable only here);
///   - the real-time factor of synthesis (mel and vocoder) on this machine;
///   - skipped words and inserted runs in what the recogniser heard of the synthesised audio (`SkipsAndRepeats`), and
///     for a synthesiser with an intermediate representation (speech units) the PER and MCD of resynthesis: the real
///     frames through it and back, the vocoder after it.
/// The first `samples` utterances' three WAVs go into OUT/samples/ and report.html plays them.
public struct TextToSpeechJudge {
    public var utteranceLimit: Int?
    public var samples = 4
    public var cepstra = 13

    public init() {}

    public struct Judgement: Codable, Equatable {
        public var utterances: Int
        public var referencePhonemes: Int
        public var perReal: Double
        public var perCopySynthesis: Double
        public var perSynthesized: Double
        /// perSynthesized / perReal.
        public var perRatio: Double
        public var mcdCopySynthesis: Double
        public var mcdSynthesized: Double
        public var audioSeconds: Double
        public var synthesisSeconds: Double
        public var realTimeFactor: Double
        /// The real mel through the synthesiser's units and back (nil when it has none).
        public var perResynthesis: Double?
        public var mcdResynthesis: Double?
        /// The synthesised audio's edits against the reference, with skipped words and inserted runs.
        public var synthesizedEdits: SkipsAndRepeats
        /// Generated sequences that filled the model's context before they ended.
        public var truncated: Int
        public var checkpoint: String
        public var recognizer: String

        enum CodingKeys: String, CodingKey {
            case utterances, referencePhonemes = "reference_phonemes", perReal = "per_real",
                 perCopySynthesis = "per_copy_synthesis", perSynthesized = "per_synthesized", perRatio = "per_ratio",
                 mcdCopySynthesis = "mcd_copy_synthesis", mcdSynthesized = "mcd_synthesized", audioSeconds = "audio_seconds",
                 synthesisSeconds = "synthesis_seconds", realTimeFactor = "real_time_factor", checkpoint, recognizer,
                 perResynthesis = "per_resynthesis", mcdResynthesis = "mcd_resynthesis", synthesizedEdits = "synthesized_edits",
                 truncated
        }
    }

    /// Judgements as a markdown table, a row each: (name, judgement).
    public static func markdown(_ rows: [(String, Judgement)]) -> String {
        var lines = ["| synthesiser | PER | PER / real | MCD (dB) | resynthesis PER | skipped words | inserted runs | truncated | real-time factor |",
                     "|---|---|---|---|---|---|---|---|---|"]
        for (name, j) in rows {
            let e = j.synthesizedEdits
            lines.append(String(format: "| %@ | %.4f | %.2f | %.2f | %@ | %d of %d | %d | %d | %.3f |", name, j.perSynthesized, j.perRatio,
                                j.mcdSynthesized, j.perResynthesis.map { String(format: "%.4f", $0) } ?? "–", e.skippedWords, e.words,
                                e.insertedRuns, j.truncated, j.realTimeFactor))
        }
        let real = rows.first.map { String(format: "PER of the real audio %.4f, of copy synthesis %.4f; %d utterances.", $0.1.perReal,
                                                 $0.1.perCopySynthesis, $0.1.utterances) } ?? ""
        return lines.joined(separator: "\n") + "\n\n" + real + "\n"
    }

    /// Reads OUT/judge.json of an earlier run.
    public static func judgement(_ directory: URL) throws -> Judgement {
        let url = directory.appendingPathComponent("judge.json")
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try JSONFile.decode(Judgement.self, from: url, expected: "a judgement of pretrain tts judge", decoder: decoder)
    }

    /// A recogniser from `pretrain finetune`'s output directory (result.json, checkpoint/, ctc_head.safetensors).
    public static func recognizer(_ directory: URL) throws -> PhonemeRecognizer {
        let files = FineTuningDirectory(directory)
        let result = try JSONFile.decode(CTCFineTuningResult.self, from: files.result,
                                         expected: "a fine-tuning result (the recogniser is an output directory of pretrain finetune)")
        let loaded = try loadAudioEncoder(files.checkpoint)
        let encoder = try FeatureEncoderFineTuning(encoder: loaded.encoder, normalization: loaded.normalization,
                                                   featureOptions: loaded.featureOptions)
        var generator = RandomGenerator(seed: 0)
        let head = Linear(encoder.dimension, result.phonemeInventory.count + 1, generator: &generator)
        do { try head.load(contentsOf: files.ctcHead) } catch {
            throw TrainingError("\(files.ctcHead.path): \(error)")
        }
        return PhonemeRecognizer(encoder: encoder, head: head, inventory: result.phonemeInventory)
    }

    /// Judges `speaker` on `corpus`' test utterances with `recognizer`; writes judge.json, report.html and samples/
    /// into `out`. `log` gets a line per utterance.
    public func run(speaker: any SpeechSynthesizer, recognizer: PhonemeRecognizer, recognizerName: String, corpus: TTSCorpus,
                    out: URL, log: (String) -> Void = { _ in }) throws -> Judgement {
        var test = corpus.test
        if let utteranceLimit { test = Array(test.prefix(utteranceLimit)) }
        guard !test.isEmpty else { throw TrainingError("\(corpus.directory.path): no test utterances to judge") }
        let sampleDirectory = out.appendingPathComponent("samples")
        try FileManager.default.createDirectory(at: sampleDirectory, withIntermediateDirectories: true)
        let rate = speaker.melOptions.sampleRate
        var errors = (real: 0, copy: 0, synthesized: 0), reference = 0
        var distortion = (copy: 0.0, synthesized: 0.0), audioSeconds = 0.0, synthesisSeconds = 0.0
        var resynthesis: (errors: Int, distortion: Double)?, edits = SkipsAndRepeats(), truncated = 0
        var rows: [String] = []
        for (index, utterance) in test.enumerated() {
            let phonemes = utterance.phonemeIds.map { corpus.info.phonemes[Int($0) - 1] }
            let real = try Waveform(contentsOf: corpus.directory.appendingPathComponent(utterance.path), sampleRate: rate)
            let copy = try speaker.vocoder.waveform(logMel: utterance.mel)
            let start = Date()
            let speech = try speaker.say(phonemes: phonemes)
            synthesisSeconds += Date().timeIntervalSince(start)
            if speech.truncated { truncated += 1 }
            audioSeconds += Double(speech.samples.count) / Double(rate)
            /// What the recogniser hears of an audio, and the audio's MCD against the real frames.
            func judged(_ audio: [Float]) throws -> (heard: [String], mcd: Double) {
                (try recognizer.transcribe(Waveform(samples: audio, sampleRate: rate)),
                 Self.melCepstralDistortion(try speaker.vocoder.spectrogram.logMel(audio), utterance.mel, count: cepstra))
            }
            let (copyJudged, synthesizedJudged) = (try judged(copy), try judged(speech.samples))
            let heard = (real: try recognizer.transcribe(real), copy: copyJudged.heard, synthesized: synthesizedJudged.heard)
            let synthesizedEdits = SkipsAndRepeats(heard: heard.synthesized, reference: phonemes, wordLengths: utterance.wordPhonemes)
            let counts = (PhonemeRecognizer.errors(heard.real, phonemes), PhonemeRecognizer.errors(heard.copy, phonemes),
                          synthesizedEdits.errors)
            errors = (errors.real + counts.0, errors.copy + counts.1, errors.synthesized + counts.2)
            edits = edits + synthesizedEdits
            if let frames = speaker.resynthesize(utterance.mel) {
                let again = try judged(try speaker.vocoder.waveform(logMel: TextToSpeech.padded(frames, options: speaker.melOptions)))
                resynthesis = ((resynthesis?.errors ?? 0) + PhonemeRecognizer.errors(again.heard, phonemes),
                               (resynthesis?.distortion ?? 0) + again.mcd)
            }
            reference += phonemes.count
            let mcd = (copyJudged.mcd, synthesizedJudged.mcd)
            distortion = (distortion.copy + mcd.0, distortion.synthesized + mcd.1)
            log(String(format: "%@: phoneme errors real %d, copy %d, synthesised %d of %d; MCD %.2f", utterance.path,
                       counts.0, counts.1, counts.2, phonemes.count, mcd.1))
            if index < samples {
                for (suffix, audio) in [("real", real.samples), ("copy", copy), ("tts", speech.samples)] {
                    try TextToSpeech.writeWAV(audio, sampleRate: rate, to: sampleDirectory.appendingPathComponent("\(index)-\(suffix).wav"))
                }
                rows.append(Self.sampleRow(index: index, text: utterance.text, phonemes: phonemes, heard: heard))
            }
        }
        let n = Double(reference)
        let judgement = Judgement(
            utterances: test.count, referencePhonemes: reference, perReal: Double(errors.real) / n,
            perCopySynthesis: Double(errors.copy) / n, perSynthesized: Double(errors.synthesized) / n,
            perRatio: errors.real > 0 ? Double(errors.synthesized) / Double(errors.real) : .infinity,
            mcdCopySynthesis: distortion.copy / Double(test.count), mcdSynthesized: distortion.synthesized / Double(test.count),
            audioSeconds: audioSeconds, synthesisSeconds: synthesisSeconds, realTimeFactor: synthesisSeconds / audioSeconds,
            perResynthesis: resynthesis.map { Double($0.errors) / n }, mcdResynthesis: resynthesis.map { $0.distortion / Double(test.count) },
            synthesizedEdits: edits, truncated: truncated, checkpoint: speaker.directory.path, recognizer: recognizerName)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        try encoder.encode(judgement).write(to: out.appendingPathComponent("judge.json"), options: .atomic)
        try Self.report(judgement, rows: rows).write(to: out.appendingPathComponent("report.html"), atomically: true, encoding: .utf8)
        return judgement
    }

    /// Orthonormal DCT-II coefficients 1…count of each frame.
    static func cepstra(_ mel: FeatureMatrix, count: Int) -> [[Double]] {
        let m = mel.dimension
        return (0..<mel.frameCount).map { t in
            (1...count).map { k in
                var sum = 0.0
                for j in 0..<m { sum += Double(mel[t, j]) * cos(Double.pi * Double(k) * (Double(j) + 0.5) / Double(m)) }
                return sum * (2 / Double(m)).squareRoot()
            }
        }
    }

    /// The mean per-frame distortion (dB) along the dynamic-time-warping path between two log-mel sequences.
    public static func melCepstralDistortion(_ a: FeatureMatrix, _ b: FeatureMatrix, count: Int = 13) -> Double {
        let (x, y) = (cepstra(a, count: count), cepstra(b, count: count))
        let scale = 10 / log(10.0) * 2.0.squareRoot()
        func distance(_ i: Int, _ j: Int) -> Double {
            var sum = 0.0
            for d in 0..<count { sum += (x[i][d] - y[j][d]) * (x[i][d] - y[j][d]) }
            return scale * sum.squareRoot()
        }
        // total[i][j]: the cheapest path to (i, j); steps[i][j]: its length, to average over the path.
        let (n, m) = (x.count, y.count)
        var total = [Double](repeating: .infinity, count: n * m), steps = [Int](repeating: 0, count: n * m)
        for i in 0..<n {
            for j in 0..<m {
                let cost = distance(i, j)
                if i == 0 && j == 0 { (total[0], steps[0]) = (cost, 1); continue }
                var best = (Double.infinity, 0)
                for (pi, pj) in [(i - 1, j - 1), (i - 1, j), (i, j - 1)] where pi >= 0 && pj >= 0 && total[pi * m + pj] < best.0 {
                    best = (total[pi * m + pj], steps[pi * m + pj])
                }
                (total[i * m + j], steps[i * m + j]) = (best.0 + cost, best.1 + 1)
            }
        }
        return total[n * m - 1] / Double(steps[n * m - 1])
    }

    static func sampleRow(index: Int, text: String, phonemes: [String], heard: (real: [String], copy: [String], synthesized: [String])) -> String {
        func audio(_ suffix: String) -> String { "<audio controls preload=\"none\" src=\"samples/\(index)-\(suffix).wav\"></audio>" }
        func escaped(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        }
        return """
            <tr><td>\(escaped(text))<br><small>\(escaped(phonemes.joined(separator: " ")))</small></td>
            <td>\(audio("real"))<br><small>\(escaped(heard.real.joined(separator: " ")))</small></td>
            <td>\(audio("copy"))<br><small>\(escaped(heard.copy.joined(separator: " ")))</small></td>
            <td>\(audio("tts"))<br><small>\(escaped(heard.synthesized.joined(separator: " ")))</small></td></tr>
            """
    }

    static func report(_ j: Judgement, rows: [String]) -> String {
        """
        <!doctype html><html><head><meta charset="utf-8"><title>Text-to-speech judgement</title>
        <style>body{font-family:sans-serif;margin:2em}td,th{border:1px solid #ccc;padding:.4em;vertical-align:top}table{border-collapse:collapse}</style>
        </head><body><h1>Text-to-speech judgement</h1>
        <p>Checkpoint \(j.checkpoint); recogniser \(j.recognizer); \(j.utterances) test utterances, \(j.referencePhonemes) phonemes.</p>
        <table><tr><th></th><th>real espeak-ng audio</th><th>copy synthesis (real mel → Griffin-Lim)</th><th>synthesised</th></tr>
        <tr><th>PER of the recogniser</th><td>\(String(format: "%.4f", j.perReal))</td><td>\(String(format: "%.4f", j.perCopySynthesis))</td><td>\(String(format: "%.4f", j.perSynthesized)) (\(String(format: "%.2f", j.perRatio))× real)</td></tr>
        <tr><th>MCD against the real audio (dB)</th><td>0</td><td>\(String(format: "%.2f", j.mcdCopySynthesis))</td><td>\(String(format: "%.2f", j.mcdSynthesized))</td></tr>
        </table>
        \(j.perResynthesis.map { String(format: "<p>Resynthesis (the real frames through the speech units and back): PER %.4f, MCD %.2f dB.</p>", $0, j.mcdResynthesis ?? .nan) } ?? "")
        <p>In the synthesised audio the recogniser's alignment deletes \(j.synthesizedEdits.deletions) and inserts \(j.synthesizedEdits.insertions) phonemes: \(j.synthesizedEdits.skippedWords) of \(j.synthesizedEdits.words) words skipped (more than half their phonemes deleted), \(j.synthesizedEdits.insertedRuns) runs of \(SkipsAndRepeats.runLength) or more inserted phonemes\(j.truncated > 0 ? "; \(j.truncated) generations filled the context without ending" : "").</p>
        <p>Synthesis: \(String(format: "%.1f", j.synthesisSeconds)) s for \(String(format: "%.1f", j.audioSeconds)) s of audio (real-time factor \(String(format: "%.3f", j.realTimeFactor))).</p>
        <h2>Samples</h2><p>Under each player: the phonemes the recogniser heard.</p>
        <table><tr><th>text and its phonemes</th><th>real</th><th>copy synthesis</th><th>synthesised</th></tr>
        \(rows.joined(separator: "\n"))
        </table></body></html>

        """
    }
}
