import Objectives

/// Masking keys shared by `objective.bestrq` and `objective.hubert` (see MaskedPredictionConfig): spans of frames
/// for audio_frames (mask_prob, span_length), a fraction of the patches for audio_patches (mask_ratio).
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

    /// Masking keys of the other encoder, and invalid values; `name` is the section's recipe path.
    func maskingProblems(_ name: String, flavor: ModelFlavor) -> [String] {
        var problems: [String] = []
        if flavor == .audioPatches && (maskProb != nil || spanLength != nil) {
            problems.append("\(name).mask_prob and span_length apply to audio_frames (audio_patches masks mask_ratio of the patches)")
        }
        if flavor == .audioFrames && maskRatio != nil {
            problems.append("\(name).mask_ratio applies to audio_patches (audio_frames masks spans: mask_prob, span_length)")
        }
        if let problem = config.problem { problems.append("\(name): \(problem)") }
        return problems
    }
}
