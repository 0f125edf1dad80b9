import Layers
import Tensors

/// wav2vec 2.0's objective over fbank frames instead of the raw waveform, as Zhang et al. 2020 ("Pushing the
/// limits of semi-supervised learning") and w2v-BERT pre-train on log-mel filterbanks: the frame encoder's stacked
/// frames are the latent frames z. Their input projection plays the feature projection, spans of them are
/// replaced by the mask embedding, and the quantiser reads the stacked, corpus-normalised frames themselves
/// (no trained feature encoder before it, hence no feature penalty).
///
/// With `contrastiveLayers` set it is w2v-BERT's (Chung et al. 2021 §3): the first `contrastiveLayers` layers are the
/// contrastive module, whose output the contrastive loss reads; the layers after them are the masked-prediction
/// module, whose output `mlm_head` turns into logits over the quantiser's entries, one softmax per group.
/// Keys: encoder.… (AudioFrameEncoder's, with mask_embedding, as HuBERT's), quantizer.…, project_hid, project_q,
/// mlm_head (w2v-BERT only).
public final class Wav2Vec2FramesForPreTraining: Module, Wav2Vec2Backbone {
    @Key public var encoder: AudioFrameEncoder
    @Key public var quantizer: GumbelVectorQuantizer
    @Key public var projectContext: Linear
    @Key public var projectTargets: Linear
    @Key public var codePredictionHead: Linear?
    public let contrastiveState: Int

    /// `encoder` must have been made with a mask embedding; `contrastiveLayers` (w2v-BERT) must leave at least one
    /// layer for the masked-prediction module.
    public init(encoder: AudioFrameEncoder, config: Wav2Vec2Config, contrastiveLayers: Int? = nil,
                generator: inout RandomGenerator) {
        precondition(encoder.maskEmbedding != nil, "wav2vec 2.0 over frames masks them: make the encoder with maskEmbedding: true")
        if let contrastiveLayers {
            precondition((1..<encoder.config.layers).contains(contrastiveLayers),
                         "w2v-BERT's contrastive module takes 1 … \(encoder.config.layers - 1) of \(encoder.config.layers) layers, got \(contrastiveLayers)")
        }
        contrastiveState = contrastiveLayers ?? encoder.config.layers
        _encoder = Key(wrappedValue: encoder, "encoder")
        let heads = Wav2Vec2Heads(latentDimension: encoder.config.frameStack * encoder.config.featureDimension,
                                  hiddenSize: encoder.config.hiddenSize, config: config, generator: &generator)
        _quantizer = Key(wrappedValue: heads.quantizer, "quantizer")
        _projectContext = Key(wrappedValue: heads.projectContext, "project_hid")
        _projectTargets = Key(wrappedValue: heads.projectTargets, "project_q")
        _codePredictionHead = Key(wrappedValue: contrastiveLayers.map { _ in
            Linear(encoder.config.hiddenSize, config.codebookGroups * config.codebookEntries, generator: &generator)
        }, "mlm_head")
        super.init()
    }

    public var audioEncoder: AudioEncoder { encoder }

    /// batch: normalised fbank (B, T, F) with lengths in frames → stacked frames (B, ⌈T/k⌉, k·F), the quantiser's input.
    public func latentFrames(_ batch: FeatureBatch) -> Wav2Vec2Latents {
        Wav2Vec2Latents(quantizerInput: encoder.stackFrames(batch.features), encoderInput: batch.features,
                        inputLengths: batch.lengths, frameLengths: encoder.stackedLengths(batch.lengths), penaltyInput: nil)
    }

    public func contextualize(_ latents: Wav2Vec2Latents, masked: [Bool]) -> [Tensor] {
        encoder.encode(latents.encoderInput, lengths: latents.inputLengths, masked: masked).hiddenStates
    }
}
