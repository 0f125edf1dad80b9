import Layers
import Objectives

/// `objective.wav2vec2:` — masking, quantiser and loss weights of wav2vec 2.0 (see Wav2Vec2Config); every key
/// optional.
public struct Wav2Vec2Section: Codable, Equatable {
    public var maskProb: Float?
    public var spanLength: Int?
    public var numNegatives: Int?
    public var crossSampleNegatives: Int?
    public var contrastiveTemperature: Float?
    public var codebookGroups: Int?
    public var codebookEntries: Int?
    public var codevectorDim: Int?
    public var projDim: Int?
    public var diversityWeight: Float?
    public var featurePenaltyWeight: Float?
    public var maxTemperature: Float?
    public var minTemperature: Float?
    public var temperatureDecay: Double?

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case maskProb = "mask_prob", spanLength = "span_length", numNegatives = "num_negatives"
        case crossSampleNegatives = "cross_sample_negatives"
        case contrastiveTemperature = "contrastive_temperature", codebookGroups = "codebook_groups"
        case codebookEntries = "codebook_entries", codevectorDim = "codevector_dim", projDim = "proj_dim"
        case diversityWeight = "diversity_weight", featurePenaltyWeight = "feature_penalty_weight"
        case maxTemperature = "max_temperature", minTemperature = "min_temperature", temperatureDecay = "temperature_decay"
    }

    public init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        maskProb = try c.decodeIfPresent(Float.self, forKey: .maskProb)
        spanLength = try c.decodeIfPresent(Int.self, forKey: .spanLength)
        numNegatives = try c.decodeIfPresent(Int.self, forKey: .numNegatives)
        crossSampleNegatives = try c.decodeIfPresent(Int.self, forKey: .crossSampleNegatives)
        contrastiveTemperature = try c.decodeIfPresent(Float.self, forKey: .contrastiveTemperature)
        codebookGroups = try c.decodeIfPresent(Int.self, forKey: .codebookGroups)
        codebookEntries = try c.decodeIfPresent(Int.self, forKey: .codebookEntries)
        codevectorDim = try c.decodeIfPresent(Int.self, forKey: .codevectorDim)
        projDim = try c.decodeIfPresent(Int.self, forKey: .projDim)
        diversityWeight = try c.decodeIfPresent(Float.self, forKey: .diversityWeight)
        featurePenaltyWeight = try c.decodeIfPresent(Float.self, forKey: .featurePenaltyWeight)
        maxTemperature = try c.decodeIfPresent(Float.self, forKey: .maxTemperature)
        minTemperature = try c.decodeIfPresent(Float.self, forKey: .minTemperature)
        temperatureDecay = try c.decodeIfPresent(Double.self, forKey: .temperatureDecay)
    }

    public var config: Wav2Vec2Config {
        var config = Wav2Vec2Config()
        if let maskProb { config.maskProbability = maskProb }
        if let spanLength { config.spanLength = spanLength }
        if let numNegatives { config.negatives = numNegatives }
        if let crossSampleNegatives { config.crossSampleNegatives = crossSampleNegatives }
        if let contrastiveTemperature { config.contrastiveTemperature = contrastiveTemperature }
        if let codebookGroups { config.codebookGroups = codebookGroups }
        if let codebookEntries { config.codebookEntries = codebookEntries }
        if let codevectorDim { config.codevectorDimension = codevectorDim }
        if let projDim { config.projectionDimension = projDim }
        if let diversityWeight { config.diversityWeight = diversityWeight }
        if let featurePenaltyWeight { config.featurePenaltyWeight = featurePenaltyWeight }
        if let maxTemperature { config.maxTemperature = maxTemperature }
        if let minTemperature { config.minTemperature = minTemperature }
        if let temperatureDecay { config.temperatureDecay = temperatureDecay }
        return config
    }
}

extension ModelSection {
    /// audio_waveform: the feature encoder this section describes (conv_dim, feature_norm; the paper's kernels and
    /// strides). nil when feature_norm names no normalisation.
    public var featureEncoderConfig: Wav2Vec2FeatureEncoderConfig? {
        guard let normalization = Wav2Vec2FeatureEncoderConfig.Normalization(rawValue: featureNorm ?? "group") else { return nil }
        return Wav2Vec2FeatureEncoderConfig(channels: convDim ?? 128, normalization: normalization)
    }
}

extension Recipe {
    /// Problems of an audio_waveform recipe (wav2vec 2.0) and of its keys anywhere else.
    func waveformProblems() -> [String] {
        var problems: [String] = []
        let m = model
        if m.flavor != .audioWaveform {
            for (key, set) in [("model.conv_dim", m.convDim != nil), ("model.feature_norm", m.featureNorm != nil),
                               ("data.waveforms", data.waveforms != nil)] where set {
                problems.append("\(key) applies to model.flavor audio_waveform only")
            }
            if objective.wav2vec2 != nil && objective.kind != .wav2vec2 {
                problems.append("objective.wav2vec2 applies to objective.kind wav2vec2 only")
            }
            if objective.kind == .wav2vec2 && m.flavor == .audioFrames, let section = objective.wav2vec2 {
                if let problem = section.config.problem { problems.append("objective.wav2vec2: \(problem)") }
                if let weight = section.featurePenaltyWeight, weight > 0 {
                    problems.append("objective.wav2vec2.feature_penalty_weight applies to audio_waveform only (over audio_frames no "
                        + "feature encoder comes before the quantiser); got \(weight)")
                }
            }
            return problems
        }
        if data.waveforms == nil { problems.append("data.waveforms (a directory of speech) is required for model.flavor audio_waveform") }
        if data.features != nil { problems.append("data.features is for feature encoders; audio_waveform reads data.waveforms") }
        for (key, set) in [("frame_stack", m.frameStack != nil), ("positions", m.positions != nil),
                           ("patch_frequency", m.patchFrequency != nil), ("patch_time", m.patchTime != nil),
                           ("tie_embeddings", m.tieEmbeddings != nil)] where set {
            problems.append("model.\(key) does not apply to audio_waveform (convolutional positions over 20 ms frames)")
        }
        if let featureDim = m.featureDim, featureDim != 1 { problems.append("model.feature_dim of audio_waveform is 1 (one sample), got \(featureDim)") }
        guard let encoder = m.featureEncoderConfig else {
            return problems + ["model.feature_norm must be group or layer, got '\(m.featureNorm ?? "")'"]
        }
        if encoder.channels < 1 { problems.append("model.conv_dim must be ≥ 1, got \(encoder.channels)") }
        if encoder.frames(samples: m.context) < 2 {
            problems.append("model.context (\(m.context) samples) must hold at least two 20 ms frames (\(encoder.downsampling + 400) samples)")
        }
        let config = m.audioEncoderConfig(featureDimension: 1)
        if config.convolutionKernel < 1 || config.convolutionGroups < 1 || m.dModel % config.convolutionGroups != 0 {
            problems.append("model.conv_position_kernel must be ≥ 1 and model.conv_position_groups must divide model.d_model (\(m.dModel))")
        }
        if let problem = (objective.wav2vec2 ?? Wav2Vec2Section()).config.problem { problems.append("objective.wav2vec2: \(problem)") }
        return problems
    }
}
