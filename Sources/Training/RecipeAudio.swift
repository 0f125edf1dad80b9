import Layers
import Objectives

/// `objective.tera:` — TERA's alterations (see TERAConfig); every key optional.
public struct TERASection: Codable, Equatable {
    public var timeMaskRate: Float?
    public var spanLength: Int?
    public var zeroFraction: Float?
    public var randomFraction: Float?
    public var maxFrequencyMaskFraction: Float?
    public var noiseProbability: Float?
    public var noiseStd: Float?

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case timeMaskRate = "time_mask_rate", spanLength = "span_length", zeroFraction = "zero_fraction"
        case randomFraction = "random_fraction", maxFrequencyMaskFraction = "max_frequency_mask_fraction"
        case noiseProbability = "noise_probability", noiseStd = "noise_std"
    }

    public init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        timeMaskRate = try c.decodeIfPresent(Float.self, forKey: .timeMaskRate)
        spanLength = try c.decodeIfPresent(Int.self, forKey: .spanLength)
        zeroFraction = try c.decodeIfPresent(Float.self, forKey: .zeroFraction)
        randomFraction = try c.decodeIfPresent(Float.self, forKey: .randomFraction)
        maxFrequencyMaskFraction = try c.decodeIfPresent(Float.self, forKey: .maxFrequencyMaskFraction)
        noiseProbability = try c.decodeIfPresent(Float.self, forKey: .noiseProbability)
        noiseStd = try c.decodeIfPresent(Float.self, forKey: .noiseStd)
    }

    public var config: TERAConfig {
        var config = TERAConfig()
        if let timeMaskRate { config.timeMaskRate = timeMaskRate }
        if let spanLength { config.spanLength = spanLength }
        if let zeroFraction { config.zeroFraction = zeroFraction }
        if let randomFraction { config.randomFraction = randomFraction }
        if let maxFrequencyMaskFraction { config.maxFrequencyMaskFraction = maxFrequencyMaskFraction }
        if let noiseProbability { config.noiseProbability = noiseProbability }
        if let noiseStd { config.noiseStd = noiseStd }
        return config
    }
}

/// `objective.ssast:` — SSAST's masking and loss weights (see SSASTConfig); every key optional.
public struct SSASTSection: Codable, Equatable {
    public var maskRatio: Float?
    public var clusterFactor: Int?
    public var generativeWeight: Float?
    public var negatives: SSASTConfig.Negatives?

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case maskRatio = "mask_ratio", clusterFactor = "cluster_factor", generativeWeight = "generative_weight"
        case negatives
    }

    public init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        maskRatio = try c.decodeIfPresent(Float.self, forKey: .maskRatio)
        clusterFactor = try c.decodeIfPresent(Int.self, forKey: .clusterFactor)
        generativeWeight = try c.decodeIfPresent(Float.self, forKey: .generativeWeight)
        negatives = try c.decodeIfPresent(SSASTConfig.Negatives.self, forKey: .negatives)
    }

    public var config: SSASTConfig {
        var config = SSASTConfig()
        if let maskRatio { config.maskRatio = maskRatio }
        if let clusterFactor { config.clusterFactor = clusterFactor }
        if let generativeWeight { config.generativeWeight = generativeWeight }
        if let negatives { config.negatives = negatives }
        return config
    }
}

extension ObjectiveSection.Kind {
    /// Whether this objective can train a model of `flavor`.
    public func fits(_ flavor: ModelSection.Flavor) -> Bool {
        switch self {
        case .causalLM: return flavor == .gpt2 || flavor == .llama
        case .maskedLM: return flavor == .bert
        case .tera: return flavor == .audioFrames
        case .ssast: return flavor == .audioPatches
        case .bestrq, .hubert: return flavor == .audioFrames || flavor == .audioPatches
        case .beatsTokenizer, .beats: return flavor == .audioPatches
        case .wav2vec2: return flavor == .audioWaveform || flavor == .audioFrames
        }
    }

    public var isAudio: Bool { [.tera, .ssast, .bestrq, .hubert, .beatsTokenizer, .beats, .wav2vec2].contains(self) }
}

extension ModelSection {
    /// The audio encoder this section describes, for features of `featureDimension` bins.
    public func audioEncoderConfig(featureDimension: Int) -> AudioEncoderConfig {
        AudioEncoderConfig(featureDimension: featureDimension, hiddenSize: dModel, layers: layers, heads: heads,
                           intermediateSize: mlpHidden, maxFrames: context, frameStack: frameStack ?? 1,
                           patchFrequency: patchFrequency ?? 16, patchTime: patchTime ?? 16,
                           positions: AudioEncoderConfig.Positions(rawValue: positions ?? "learned") ?? .learned,
                           convolutionKernel: convPositionKernel ?? 32, convolutionGroups: convPositionGroups ?? 16,
                           layerNormEps: normEps ?? 1e-12, dropout: dropout)
    }
}

extension Recipe {
    /// Problems of the audio keys: where they are set without an audio model, and values an audio model cannot use.
    func audioProblems() -> [String] {
        var problems = waveformProblems()
        let m = model
        if m.flavor == .audioWaveform { return problems }
        let audioKeys: [(String, Bool)] = [
            ("model.feature_dim", m.featureDim != nil), ("model.frame_stack", m.frameStack != nil),
            ("model.positions", m.positions != nil), ("model.conv_position_kernel", m.convPositionKernel != nil),
            ("model.conv_position_groups", m.convPositionGroups != nil), ("model.patch_frequency", m.patchFrequency != nil),
            ("model.patch_time", m.patchTime != nil), ("data.features", data.features != nil),
            ("objective.tera", objective.tera != nil), ("objective.ssast", objective.ssast != nil),
            ("objective.bestrq", objective.bestrq != nil), ("objective.hubert", objective.hubert != nil),
            ("objective.beats_tokenizer", objective.beatsTokenizer != nil), ("objective.beats", objective.beats != nil),
        ]
        guard m.flavor.isAudio else {
            let stray = audioKeys.filter(\.1).map(\.0)
            if !stray.isEmpty { problems.append("\(stray.joined(separator: ", ")) apply to audio models only (model.flavor audio_frames or audio_patches)") }
            return problems
        }
        if data.features == nil {
            problems.append("data.features (a feature corpus from pretrain features prepare) is required for model.flavor \(m.flavor.rawValue)")
        }
        if !data.mixture.isEmpty || data.replay != nil || !data.phases.isEmpty || !data.val.isEmpty {
            problems.append("data.mixture, replay, phases and val are for token corpora; audio models read data.features")
        }
        if let featureDim = m.featureDim, featureDim < 1 { problems.append("model.feature_dim must be ≥ 1, got \(featureDim)") }
        if m.tieEmbeddings != nil { problems.append("model.tie_embeddings does not apply to audio models") }
        let config = m.audioEncoderConfig(featureDimension: m.featureDim ?? 1)
        if m.flavor == .audioFrames {
            for key in ["patch_frequency", "patch_time"] where (key == "patch_frequency" ? m.patchFrequency : m.patchTime) != nil {
                problems.append("model.\(key) applies to audio_patches only")
            }
            if let positions = m.positions, AudioEncoderConfig.Positions(rawValue: positions) == nil {
                problems.append("model.positions must be learned or convolutional, got '\(positions)'")
            }
            if config.frameStack < 1 || m.context % config.frameStack != 0 {
                problems.append("model.frame_stack (\(config.frameStack)) must be ≥ 1 and divide model.context (\(m.context))")
            }
            if config.positions == .convolutional
                && (config.convolutionKernel < 1 || config.convolutionGroups < 1 || m.dModel % config.convolutionGroups != 0) {
                problems.append("model.conv_position_kernel must be ≥ 1 and model.conv_position_groups must divide model.d_model (\(m.dModel))")
            }
        } else {
            for (key, set) in [("frame_stack", m.frameStack != nil), ("positions", m.positions != nil),
                               ("conv_position_kernel", m.convPositionKernel != nil),
                               ("conv_position_groups", m.convPositionGroups != nil)] where set {
                problems.append("model.\(key) applies to audio_frames only (audio_patches has learned positions)")
            }
            if config.patchFrequency < 1 || config.patchTime < 1 || m.context < config.patchTime {
                problems.append("model.patch_frequency and patch_time must be ≥ 1 and patch_time at most model.context (\(m.context))")
            }
            if let featureDim = m.featureDim, config.patchFrequency >= 1, featureDim % config.patchFrequency != 0 {
                problems.append("model.patch_frequency (\(config.patchFrequency)) must divide model.feature_dim (\(featureDim))")
            }
        }
        if objective.kind == .tera, let problem = (objective.tera ?? TERASection()).config.problem { problems.append("objective.tera: \(problem)") }
        if objective.kind == .ssast, let problem = (objective.ssast ?? SSASTSection()).config.problem { problems.append("objective.ssast: \(problem)") }
        if objective.kind != .tera && objective.tera != nil { problems.append("objective.tera applies to objective.kind tera only") }
        if objective.kind != .ssast && objective.ssast != nil { problems.append("objective.ssast applies to objective.kind ssast only") }
        problems += maskedPredictionProblems()
        problems += beatsProblems()
        return problems
    }
}
