import Objectives

/// Masking keys shared by `objective.bestrq` and `objective.hubert` (see MaskedPredictionConfig).
protocol MaskingKeys {
    var maskProb: Float? { get }
    var spanLength: Int? { get }
    var maskRatio: Float? { get }
}

extension MaskingKeys {
    var config: MaskedPredictionConfig {
        var config = MaskedPredictionConfig()
        if let maskProb { config.maskProbability = maskProb }
        if let spanLength { config.spanLength = spanLength }
        if let maskRatio { config.patchMaskRatio = maskRatio }
        return config
    }
}

/// `objective.bestrq:` — the masking and the random-projection quantiser (Chiu et al. 2022); every key optional.
public struct BESTRQSection: Codable, Equatable, MaskingKeys {
    public var maskProb: Float?
    public var spanLength: Int?
    public var maskRatio: Float?
    /// Codes in the codebook (the paper: 8192) and their dimension (16).
    public var codebookSize: Int?
    public var codeDim: Int?
    /// The quantiser's own seed (default 0), apart from train.seed: runs of any seed share targets.
    public var seed: UInt64?

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case maskProb = "mask_prob", spanLength = "span_length", maskRatio = "mask_ratio"
        case codebookSize = "codebook_size", codeDim = "code_dim", seed
    }

    public init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        maskProb = try c.decodeIfPresent(Float.self, forKey: .maskProb)
        spanLength = try c.decodeIfPresent(Int.self, forKey: .spanLength)
        maskRatio = try c.decodeIfPresent(Float.self, forKey: .maskRatio)
        codebookSize = try c.decodeIfPresent(Int.self, forKey: .codebookSize)
        codeDim = try c.decodeIfPresent(Int.self, forKey: .codeDim)
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed)
    }
}

/// `objective.hubert:` — the masking and the k-means targets (Hsu et al. 2021). `centroids` is required: a file
/// from `pretrain kmeans`; with `teacher` (a checkpoint) and `layer` the centroids cluster that layer's output,
/// without them the cepstra of the frames.
public struct HuBERTSection: Codable, Equatable, MaskingKeys {
    public var maskProb: Float?
    public var spanLength: Int?
    public var maskRatio: Float?
    public var centroids = ""
    public var teacher: String?
    public var layer: Int?

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case maskProb = "mask_prob", spanLength = "span_length", maskRatio = "mask_ratio", centroids, teacher, layer
    }

    public init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        maskProb = try c.decodeIfPresent(Float.self, forKey: .maskProb)
        spanLength = try c.decodeIfPresent(Int.self, forKey: .spanLength)
        maskRatio = try c.decodeIfPresent(Float.self, forKey: .maskRatio)
        centroids = try c.decodeIfPresent(String.self, forKey: .centroids) ?? ""
        teacher = try c.decodeIfPresent(String.self, forKey: .teacher)
        layer = try c.decodeIfPresent(Int.self, forKey: .layer)
    }
}

extension Recipe {
    /// Problems of objective.bestrq and objective.hubert: sections of another kind, masking keys of the other
    /// encoder, invalid values, a missing centroid file name.
    func maskedPredictionProblems() -> [String] {
        var problems: [String] = []
        if objective.kind != .bestrq && objective.bestrq != nil { problems.append("objective.bestrq applies to objective.kind bestrq only") }
        if objective.kind != .hubert && objective.hubert != nil { problems.append("objective.hubert applies to objective.kind hubert only") }
        let keys: (String, MaskingKeys)
        switch objective.kind {
        case .bestrq:
            let section = objective.bestrq ?? BESTRQSection()
            keys = ("objective.bestrq", section)
            if let size = section.codebookSize, size < 2 { problems.append("objective.bestrq.codebook_size must be ≥ 2, got \(size)") }
            if let dimension = section.codeDim, dimension < 1 { problems.append("objective.bestrq.code_dim must be ≥ 1, got \(dimension)") }
        case .hubert:
            guard let section = objective.hubert, !section.centroids.isEmpty else {
                return problems + ["objective.hubert.centroids is required: a file from pretrain kmeans"]
            }
            keys = ("objective.hubert", section)
            if (section.teacher == nil) != (section.layer == nil) {
                problems.append("objective.hubert.teacher and layer go together (a checkpoint and which of its layers the centroids cluster)")
            }
            if section.teacher == nil && model.flavor == .audioPatches {
                problems.append("objective.hubert without a teacher clusters per-frame cepstra, which label audio_frames positions only")
            }
        default:
            return problems
        }
        let (name, section) = keys
        if model.flavor == .audioPatches && (section.maskProb != nil || section.spanLength != nil) {
            problems.append("\(name).mask_prob and span_length apply to audio_frames (audio_patches masks mask_ratio of the patches)")
        }
        if model.flavor == .audioFrames && section.maskRatio != nil {
            problems.append("\(name).mask_ratio applies to audio_patches (audio_frames masks spans: mask_prob, span_length)")
        }
        if let problem = section.config.problem { problems.append("\(name): \(problem)") }
        return problems
    }
}
