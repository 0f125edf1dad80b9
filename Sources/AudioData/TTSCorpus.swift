import FileErrors
import Foundation

/// A text-to-speech corpus in memory: each utterance's phoneme ids and its log-mel frames (TTSMelSpectrogram) with a
/// per-frame energy and pitch, read from a synthesised corpus directory (`pretrain data synth-speech --subsets tts`): its
/// manifest.jsonl lines of one `subset`, `path` and space-separated `phonemes`; the `split` field decides train
/// (train), val (dev) and test (test).
public struct TTSCorpus {
    /// The file a checkpoint keeps beside the weights: what synthesis needs to turn phonemes into audio.
    public struct Info: Codable, Equatable {
        public static let fileName = "tts.json"
        /// The phoneme inventory; id i + 1 is phonemes[i], 0 is padding.
        public var phonemes: [String]
        public var mel: TTSMelOptions
        /// Mean and standard deviation of the train frames' energy and pitch: the model sees (v − mean) / std.
        public var energyMean: Float
        public var energyStd: Float
        /// nil in the settings of a checkpoint made before pitch was tracked.
        public var pitchMean: Float?
        public var pitchStd: Float?

        enum CodingKeys: String, CodingKey {
            case phonemes, mel, energyMean = "energy_mean", energyStd = "energy_std", pitchMean = "pitch_mean", pitchStd = "pitch_std"
        }

        public init(phonemes: [String], mel: TTSMelOptions, energyMean: Float, energyStd: Float, pitchMean: Float? = nil,
                    pitchStd: Float? = nil) {
            (self.phonemes, self.mel, self.energyMean, self.energyStd) = (phonemes, mel, energyMean, energyStd)
            (self.pitchMean, self.pitchStd) = (pitchMean, pitchStd)
        }

        /// Phoneme tokens → ids; an unknown token is an error naming it (and `what`, e.g. the text).
        public func ids(_ tokens: [String], what: String) throws -> [Int32] {
            try Self.ids(tokens, inventory: phonemes, what: what)
        }

        /// Phoneme tokens → their 1-based ids in `inventory`; an unknown token is an error naming it and `what`.
        public static func ids(_ tokens: [String], inventory: [String], what: String) throws -> [Int32] {
            let index = Dictionary(uniqueKeysWithValues: inventory.enumerated().map { ($0.element, Int32($0.offset + 1)) })
            return try tokens.map { token in
                guard let id = index[token] else {
                    throw AudioError("\(what): the phoneme '\(token)' is not in the model's inventory of \(inventory.count)")
                }
                return id
            }
        }

        public static func load(_ directory: URL) throws -> Info {
            try JSONFile.decode(Info.self, from: directory.appendingPathComponent(fileName), expected: "the TTS settings of a tts corpus")
        }

        public func write(to directory: URL) throws {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(self).write(to: directory.appendingPathComponent(Self.fileName), options: .atomic)
        }
    }

    public struct Utterance {
        public var path: String
        /// What the utterance says (the manifest's `text`; "" where it has none).
        public var text: String
        public var phonemeIds: [Int32]
        /// (frames, melCount) log-mel.
        public var mel: FeatureMatrix
        /// (frames) normalised log energy.
        public var energy: [Float]
        /// (frames) normalised log F0, unvoiced frames interpolated (`PitchTracker.interpolatedLogPitch`).
        public var pitch: [Float]
        /// The phoneme count of each espeak-ng word (the manifest's `word_phonemes`); nil when the manifest has none
        /// or its counts do not add up to the phonemes.
        public var wordPhonemes: [Int]? = nil

        /// The per-frame values of a variance by name (energy, pitch); nil for another name.
        public func variance(_ name: String) -> [Float]? {
            switch name {
            case "energy": energy
            case "pitch": pitch
            default: nil
            }
        }
    }

    /// The variances a corpus supplies per frame.
    public static let variances = ["pitch", "energy"]

    public var directory: URL
    public var info: Info
    public var train: [Utterance]
    public var val: [Utterance]
    public var test: [Utterance]
    /// Utterances left out, with why (fewer frames than phonemes, more than `maxFrames`).
    public var skipped: [(path: String, reason: String)]

    /// Frame energy: the log of the frame's mel magnitudes' Euclidean norm (FastSpeech 2 takes the norm of the linear
    /// spectrum's frame; the mel frame is what the model predicts, so it is what the energy is read from here).
    public static func energy(_ mel: FeatureMatrix) -> [Float] {
        (0..<mel.frameCount).map { t in
            var sum = 0.0
            for m in 0..<mel.dimension { let value = exp(Double(mel[t, m])); sum += value * value }
            return Float(log(sum.squareRoot()))
        }
    }

    /// Loads the `subset` utterances of `directory`'s manifest. Utterances with more than `maxFrames` frames or
    /// fewer frames than phonemes are skipped (listed in `skipped`).
    public static func load(_ directory: URL, subset: String = "tts", mel options: TTSMelOptions = TTSMelOptions(),
                            maxFrames: Int = .max) throws -> TTSCorpus {
        let manifest = directory.appendingPathComponent("manifest.jsonl")
        guard let text = try? String(contentsOf: manifest, encoding: .utf8) else {
            throw AudioError("\(manifest.path): cannot read the corpus manifest (make one with pretrain data synth-speech --subsets tts)")
        }
        var lines: [(path: String, split: String, phonemes: [String], text: String, words: [Int]?)] = []
        for (number, line) in text.split(separator: "\n").enumerated() where !line.allSatisfy(\.isWhitespace) {
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                throw AudioError("\(manifest.path) line \(number + 1): not a JSON object")
            }
            guard (object["subset"] as? String) == subset else { continue }
            guard let path = object["path"] as? String, let split = object["split"] as? String,
                  let phonemes = object["phonemes"] as? String else {
                throw AudioError("\(manifest.path) line \(number + 1): a \(subset) utterance needs path, split and phonemes")
            }
            let tokens = phonemes.split(separator: " ").map(String.init)
            let words = (object["word_phonemes"] as? String)?.split(separator: " ").compactMap { Int($0) }
            lines.append((path, split, tokens, object["text"] as? String ?? "",
                          words.flatMap { $0.reduce(0, +) == tokens.count && $0.allSatisfy { $0 > 0 } ? $0 : nil }))
        }
        guard lines.contains(where: { $0.split == "train" }) else {
            throw AudioError("\(manifest.path): no train utterances of subset \(subset)")
        }
        let inventory = Set(lines.filter { $0.split == "train" }.flatMap(\.phonemes)).sorted()
        var info = Info(phonemes: inventory, mel: options, energyMean: 0, energyStd: 1)
        let spectrogram = try TTSMelSpectrogram(options: options)
        let tracker = try PitchTracker(sampleRate: options.sampleRate, frameLength: options.windowLength, hopLength: options.hopLength)
        // Every utterance's frames, energy and pitch, computed in parallel (the FFT plans are shared, the buffers not).
        let results = ParallelResults<Result<(FeatureMatrix, [Float]), Error>>(count: lines.count)
        DispatchQueue.concurrentPerform(iterations: lines.count) { index in
            let url = directory.appendingPathComponent(lines[index].path)
            results[index] = Result {
                do {
                    let waveform = try Waveform(contentsOf: url, sampleRate: options.sampleRate)
                    return (try spectrogram.logMel(waveform.samples), try tracker.track(waveform.samples))
                } catch let error as AudioError {
                    throw AudioError("\(url.path): \(error.message.hasPrefix(url.path) ? String(error.message.dropFirst(url.path.count + 2)) : error.message)")
                }
            }
        }
        var splits: [String: [Utterance]] = [:]
        var skipped: [(String, String)] = []
        for (line, result) in zip(lines, results.values) {
            let (mel, f0) = try result!.get()
            let ids: [Int32]
            do { ids = try info.ids(line.phonemes, what: line.path) } catch {
                skipped.append((line.path, "a phoneme the train utterances never use")); continue
            }
            if ids.isEmpty || mel.frameCount < ids.count { skipped.append((line.path, "fewer frames than phonemes")); continue }
            if mel.frameCount > maxFrames { skipped.append((line.path, "more than \(maxFrames) frames")); continue }
            splits[line.split, default: []].append(Utterance(path: line.path, text: line.text, phonemeIds: ids, mel: mel,
                                                             energy: energy(mel), pitch: PitchTracker.interpolatedLogPitch(f0),
                                                             wordPhonemes: line.words))
        }
        let train = splits["train"] ?? []
        guard !train.isEmpty else { throw AudioError("\(manifest.path): every train utterance was skipped") }
        (info.energyMean, info.energyStd) = meanAndDeviation(train.flatMap(\.energy))
        (info.pitchMean, info.pitchStd) = meanAndDeviation(train.flatMap(\.pitch))
        func normalised(_ utterances: [Utterance]?) -> [Utterance] {
            (utterances ?? []).map { utterance in
                var copy = utterance
                copy.energy = utterance.energy.map { ($0 - info.energyMean) / info.energyStd }
                copy.pitch = utterance.pitch.map { ($0 - info.pitchMean!) / info.pitchStd! }
                return copy
            }
        }
        return TTSCorpus(directory: directory, info: info, train: normalised(splits["train"]), val: normalised(splits["dev"]),
                         test: normalised(splits["test"]), skipped: skipped)
    }

    /// Mean and standard deviation (at least 1e-5) of `values`.
    static func meanAndDeviation(_ values: [Float]) -> (Float, Float) {
        let mean = values.reduce(0.0) { $0 + Double($1) } / Double(values.count)
        let variance = values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(values.count)
        return (Float(mean), Float(max(variance.squareRoot(), 1e-5)))
    }
}

/// Results written by index from concurrent iterations (each index once), read after they all finished.
final class ParallelResults<Value>: @unchecked Sendable {
    private(set) var values: [Value?]
    private let lock = NSLock()
    init(count: Int) { values = Array(repeating: nil, count: count) }
    subscript(index: Int) -> Value? {
        get { lock.lock(); defer { lock.unlock() }; return values[index] }
        set { lock.lock(); values[index] = newValue; lock.unlock() }
    }
}
