import Layers
import Tensors

extension ModelFlavor {
    /// Audio encoder over 2-D spectrogram patches, SSAST/BEATs style.
    public static let audioPatches = ModelFlavor(rawValue: "audio_patches")
}

/// `model.flavor: audio_patches` — a Transformer over spectrogram patches (AudioPatchEncoder) on feature crops.
public enum AudioPatchesFamily: ModelFamily {
    public static let flavor = ModelFlavor.audioPatches
    public static let dataForm: any DataForm.Type = FeatureCrops.self
    public static let keys: Set<String> = ["feature_dim", "patch_frequency", "patch_time"]

    public static func problems(_ model: ModelSection) -> [String] {
        var problems = model.audioProblems()
        let config = model.audioEncoderConfig(featureDimension: model.featureDim ?? 1)
        if config.patchFrequency < 1 || config.patchTime < 1 || model.context < config.patchTime {
            problems.append("model.patch_frequency and patch_time must be ≥ 1 and patch_time at most model.context (\(model.context))")
        }
        if let featureDim = model.featureDim, config.patchFrequency >= 1, featureDim % config.patchFrequency != 0 {
            problems.append("model.patch_frequency (\(config.patchFrequency)) must divide model.feature_dim (\(featureDim))")
        }
        return problems
    }

    public static func makeBackbone(_ model: ModelSection, options: BackboneOptions, generator: inout RandomGenerator) throws -> Module {
        let config = try model.resolvedAudioEncoderConfig()
        guard config.featureDimension % config.patchFrequency == 0 else {
            throw TrainingError("model.patch_frequency \(config.patchFrequency) does not divide the \(config.featureDimension) feature bins")
        }
        return AudioPatchEncoder(config, generator: &generator)
    }
}
