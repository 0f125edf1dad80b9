import FileErrors
import Foundation
import SafeTensors

/// `pretrain features prepare IN --out DIR`: fbank features of every audio file under IN in train/val shards,
/// with the train split's per-bin mean/std (normalization.safetensors) and corpus.json.
///
/// The split comes from IN/manifest.jsonl when there is one (its `path` and `split` fields: train → train;
/// val, valid, validation, dev → val; anything else, e.g. test, is held out); otherwise a seeded hash of the
/// utterance key sends `valFraction` of the files to val, so adding files never moves the others.
public enum FeatureCorpusPreparation {
    public struct Options {
        public var fbank = FbankOptions()
        public var valFraction = 0.05
        public var seed: UInt64 = 0
        /// A shard is closed once it holds this many frames.
        public var framesPerShard = 1_000_000
        /// Skip (and count) files of bad audio — non-finite samples, an absurd sample rate or length — instead of
        /// stopping at the first with its error.
        public var skipBadAudio = false
        /// Only the train/val utterances whose manifest fields every filter accepts (`--where subset=pretrain
        /// --where gender=female`; needs IN/manifest.jsonl); the others are left out and counted. When none of the
        /// utterances they keep is in the manifest's val split, the seeded hash sends `valFraction` of them to val.
        public var filters: [ManifestFilter] = []
        /// With filters: at most this many utterances (in corpus order) per value of the last filter's field, so that
        /// `gender=male,female` with a cap gives a corpus balanced between them.
        public var maxPerValue: Int?
        /// What each frame holds: the fbank (default), or the log constant-Q transform of the same frames (`cqt`:
        /// MERT's musical targets, `data.targets` beside the fbank corpus of the same audio).
        public var kind = FeatureKind.fbank
        /// `cqt`: bins (12 a semitone-spaced octave from C1, 32.7 Hz; 84 reach B7, 3.95 kHz).
        public var constantQBins = 84

        public init() {
            fbank.numMelBins = 80
        }
    }

    public enum Split: String { case train, val, heldOut }

    public enum FeatureKind: String, CaseIterable { case fbank, cqt }

    /// The log constant-Q frames (ln(|X| + 1e-6)) aligned with the fbank's: frame t is centred where fbank frame t's
    /// window is (sample t·shift + window/2), and there are as many. `transform`'s hop must be the fbank's shift.
    public static func constantQFrames(_ samples: [Float], transform: ConstantQTransform, fbank: FbankOptions) -> FeatureMatrix {
        let frames = fbank.frameCount(sampleCount: samples.count)
        guard frames > 0 else { return FeatureMatrix(frameCount: 0, dimension: transform.bins, values: []) }
        let all = transform(Array(samples.dropFirst(fbank.windowSize / 2)))
        return FeatureMatrix(frameCount: frames, dimension: transform.bins,
                             values: all.values[0..<(frames * transform.bins)].map { Foundation.log($0 + 1e-6) })
    }

    /// Prepares DIR (created if needed); undecodable files (and bad audio with `skipBadAudio`) are skipped, listed
    /// and counted in corpus.json.
    /// Throws when nothing could be decoded or the train split is empty.
    @discardableResult
    /// `progress` gets (files done, files) as each file is read.
    public static func prepare(input: URL, output: URL, options: Options = Options(), log: (String) -> Void = { _ in },
                               progress: (_ done: Int, _ total: Int) -> Void = { _, _ in }) throws -> FeatureCorpusInfo {
        try options.fbank.validate()
        guard options.valFraction >= 0 && options.valFraction < 1 else {
            throw AudioError("the val fraction must be in [0, 1), got \(options.valFraction)")
        }
        let corpus = try AudioCorpus(input)
        let manifestEntries = try manifestEntries(in: input)
        if !options.filters.isEmpty, manifestEntries == nil {
            throw AudioError("\(input.appendingPathComponent("manifest.jsonl").path): --where needs the corpus manifest, and there is none")
        }
        if let cap = options.maxPerValue, options.filters.isEmpty || cap < 1 {
            throw AudioError("--max-per-value needs --where and must be ≥ 1, got \(cap)")
        }
        func accepted(_ fields: [String: String]) -> Bool { options.filters.allSatisfy { $0.accepts(fields) } }
        // Filters that keep no utterance of the manifest's val split: val by the hash among those they keep.
        let hashVal = !options.filters.isEmpty && !(manifestEntries ?? [:]).values.contains { $0.split == .val && accepted($0.fields) }
        var filteredOut = 0
        var taken: [String: Int] = [:]
        let manifestSplits = manifestEntries?.mapValues(\.split)
        var keptKeys: [String] = []
        let computer = try FbankComputer(options: options.fbank)
        let constantQ = options.kind == .cqt
            ? try ConstantQTransform(sampleRate: options.fbank.sampleRate, hop: options.fbank.windowShift, bins: options.constantQBins)
            : nil
        try FileError.createDirectory(output)

        let dimension = constantQ?.bins ?? options.fbank.dimension
        var statistics = FeatureStatisticsAccumulator(dimension: dimension)
        var writers: [Split: ShardWriter] = [.train: ShardWriter(prefix: "train", directory: output, limit: options.framesPerShard),
                                             .val: ShardWriter(prefix: "val", directory: output, limit: options.framesPerShard)]
        var heldOut = 0
        var pending: [(key: String, split: Split, samples: [Float])] = []
        func flush() throws {
            let computed = constantQ.map { transform in
                pending.map { constantQFrames($0.samples, transform: transform, fbank: options.fbank) }
            } ?? computer.compute(batch: pending.map(\.samples))
            for (file, features) in zip(pending, computed) where features.frameCount > 0 {
                if file.split == .train { try statistics.add(features) }
                try writers[file.split]!.add(file.key, features)
                keptKeys.append(file.key)
            }
            pending.removeAll()
        }
        let skipped = try corpus.forEachWaveform(sampleRate: Int(options.fbank.sampleRate),
                                                 skipBadAudio: options.skipBadAudio, progress: progress) { file, waveform in
            var split = manifestSplits.map { $0[file.key] ?? .heldOut } ?? hashSplit(file.key, valFraction: options.valFraction, seed: options.seed)
            if split == .heldOut { heldOut += 1; return }
            if let last = options.filters.last {
                let fields = manifestEntries?[file.key]?.fields ?? [:]
                guard accepted(fields) else { filteredOut += 1; return }
                let value = fields[last.field]!
                if let cap = options.maxPerValue, taken[value, default: 0] >= cap { filteredOut += 1; return }
                taken[value, default: 0] += 1
                if hashVal { split = hashSplit(file.key, valFraction: options.valFraction, seed: options.seed) }
            }
            pending.append((file.key, split, waveform.samples))
            if pending.count == 64 { try flush() }
        }
        try flush()
        for file in skipped { log("skipped \(file.reason)") }
        // Train or val utterances the manifest lists that are not on disk: the corpus is prepared without them, said once.
        if let manifestEntries {
            let present = Set(corpus.files.map(\.key))
            let missing = manifestEntries.filter { $0.value.split != .heldOut && !present.contains($0.key) && accepted($0.value.fields) }
                .keys.sorted()
            if let first = missing.first {
                log("\(missing.count) train or val file\(missing.count == 1 ? "" : "s") of the manifest missing under \(input.path) "
                    + "(first: \(first)); prepared without \(missing.count == 1 ? "it" : "them")")
            }
        }
        let train = try writers[.train]!.finish(), val = try writers[.val]!.finish()
        guard train.utterances > 0 else {
            throw AudioError("\(input.path): no train utterance with at least one frame (\(corpus.files.count) files, "
                + "\(skipped.count) skipped, \(heldOut) held out by the manifest, \(filteredOut) left out by --where, \(val.utterances) in val)")
        }
        try statistics.normalization().write(to: output.appendingPathComponent(FeatureCorpusInfo.normalizationFile),
                                             metadata: ["features": options.kind.rawValue, "options": options.fbank.kaldiArguments])
        var info = FeatureCorpusInfo(features: options.kind.rawValue, dimension: dimension, options: options.fbank, train: train, val: val,
                                     splitSource: manifestSplits == nil ? "hash" : "manifest",
                                     valFraction: manifestSplits == nil ? options.valFraction : nil,
                                     splitSeed: manifestSplits == nil ? options.seed : nil, heldOut: heldOut,
                                     skipped: skipped.count, skippedFiles: skipped.map(\.key),
                                     skippedBadAudio: options.skipBadAudio ? skipped.filter(\.isBadAudio).count : nil,
                                     normalization: FeatureCorpusInfo.normalizationFile,
                                     utterances: manifestEntries == nil ? nil : FeatureCorpusInfo.utterancesFile)
        if let last = options.filters.last {
            info.filter = options.filters.map(\.description).joined(separator: " ")
            (info.maxPerValue, info.filteredOut) = (options.maxPerValue, filteredOut)
            if hashVal { (info.valFraction, info.splitSeed) = (options.valFraction, options.seed) }
            log("--where \(info.filter!): " + taken.sorted { $0.key < $1.key }.map { "\(last.field) \($0.key) \($0.value)" }
                .joined(separator: ", ") + " utterances kept, \(filteredOut) left out")
        }
        if let manifestEntries {
            try writeUtteranceMetadata(keptKeys, entries: manifestEntries, to: output.appendingPathComponent(FeatureCorpusInfo.utterancesFile))
        }
        try info.write(directory: output)
        return info
    }

    /// Train or val by a seeded FNV-1a hash of the key (stable across runs and machines).
    public static func hashSplit(_ key: String, valFraction: Double, seed: UInt64) -> Split {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325 ^ seed
        for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        hash ^= hash >> 33
        hash = hash &* 0xff51_afd7_ed55_8ccd
        hash ^= hash >> 33
        return Double(hash >> 11) / Double(1 << 53) < valFraction ? .val : .train
    }

    /// IN/manifest.jsonl as key → split, or nil when there is none. Paths are relative to IN.
    public static func manifest(in input: URL) throws -> [String: Split]? {
        try manifestEntries(in: input)?.mapValues(\.split)
    }

    /// IN/manifest.jsonl as key → (split, every other field that is a string, number or boolean, as text), or nil when
    /// there is none.
    public static func manifestEntries(in input: URL) throws -> [String: (split: Split, fields: [String: String])]? {
        let url = input.appendingPathComponent("manifest.jsonl")
        guard let data = try? Data(contentsOf: url) else { return nil }
        var entries: [String: (split: Split, fields: [String: String])] = [:]
        for (number, line) in JSONLines.lines(data) {
            guard let object = try? JSONSerialization.jsonObject(with: line) as? [String: Any],
                  let path = object["path"] as? String else {
                throw AudioError("\(url.path):\(number): expected a JSON object with a \"path\"")
            }
            let split = (object["split"] as? String)?.lowercased() ?? "train"
            let key = path.hasPrefix(input.path + "/") ? String(path.dropFirst(input.path.count + 1)) : path
            var fields = manifestFields(object)
            (fields["path"], fields["split"]) = (nil, nil)
            switch split {
            case "train": entries[key] = (.train, fields)
            case "val", "valid", "validation", "dev": entries[key] = (.val, fields)
            default: entries[key] = (.heldOut, fields)
            }
        }
        return entries
    }

    /// utterances.jsonl: each kept utterance's manifest fields, `{"key", "meta"}` a line in corpus order, for
    /// `data.balance_by` (a speaker's gender or accent).
    static func writeUtteranceMetadata(_ keys: [String], entries: [String: (split: Split, fields: [String: String])], to url: URL) throws {
        var data = Data()
        for key in keys {
            let object: [String: Any] = ["key": key, "meta": entries[key]?.fields ?? [:]]
            data += try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            data.append(0x0A)
        }
        try FileError.wrap("write", path: url.path) { try data.write(to: url, options: .atomic) }
    }
}

/// Writes utterances into numbered shards (PREFIX_000.safetensors, …) of about `limit` frames each.
struct ShardWriter {
    let prefix: String
    let directory: URL
    let limit: Int
    var writer = SafeTensorsWriter()
    var framesInShard = 0
    var split = FeatureCorpusInfo.Split()

    init(prefix: String, directory: URL, limit: Int) {
        self.prefix = prefix
        self.directory = directory
        self.limit = limit
    }

    mutating func add(_ key: String, _ features: FeatureMatrix) throws {
        try writer.add(key, shape: features.shape, floats: features.values)
        framesInShard += features.frameCount
        split.utterances += 1
        split.frames += features.frameCount
        if framesInShard >= limit { try close() }
    }

    mutating func close() throws {
        guard framesInShard > 0 else { return }
        let name = String(format: "%@_%03d.safetensors", prefix, split.shards.count)
        try writer.write(to: directory.appendingPathComponent(name))
        split.shards.append(name)
        writer = SafeTensorsWriter()
        framesInShard = 0
    }

    mutating func finish() throws -> FeatureCorpusInfo.Split {
        try close()
        return split
    }
}
