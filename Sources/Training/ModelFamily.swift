import Foundation
import Layers
import Tensors

/// A model family, the value of `model.flavor`: its keys, their validation, the data it trains on and how a fresh
/// backbone is built. One file per family (Sources/Training/Registered/) conforms and is registered.
public protocol ModelFamily {
    static var flavor: ModelFlavor { get }
    /// What the family trains on: token windows, feature crops or waveform crops.
    static var dataForm: any DataForm.Type { get }
    /// The `model.` keys the family reads besides `ModelSection.commonKeys`. A recipe that sets a key some other
    /// family reads and this one does not is an error that names who reads it.
    static var keys: Set<String> { get }
    /// Problems of the model section's values for this family, each naming its key.
    static func problems(_ model: ModelSection) -> [String]
    /// The transformers class `pretrain export --format hf` writes this family as; nil: not exportable.
    static var huggingFaceArchitecture: String? { get }
    /// A freshly initialised backbone of the (resolved) model section, the part an objective wraps with its heads:
    /// a decoder, an encoder with an MLM head, an audio encoder, the waveform model.
    static func makeBackbone(_ model: ModelSection, options: BackboneOptions, generator: inout RandomGenerator) throws -> Module
}

extension ModelFamily {
    public static func problems(_ model: ModelSection) -> [String] { [] }
    public static var huggingFaceArchitecture: String? { nil }
}

/// What an objective asks of the backbone before it is built.
public struct BackboneOptions {
    /// A learned embedding that replaces masked positions (HuBERT, BEST-RQ and wav2vec 2.0 over frames).
    public var maskEmbedding = false

    public init(maskEmbedding: Bool = false) { self.maskEmbedding = maskEmbedding }
}

extension ModelSection {
    /// Keys every family reads.
    public static let commonKeys: Set<String> = ["flavor", "layers", "d_model", "heads", "context", "dropout", "mlp_hidden", "norm_eps"]

    /// The registered family of `flavor`.
    public var family: any ModelFamily.Type { get throws { try flavor.family } }

    /// Keys set (away from their defaults) that the family does not read, each with the families that do.
    func strayKeys(of family: any ModelFamily.Type) -> [String] {
        let own = family.keys.union(Self.commonKeys)
        return keysSet().filter { !own.contains($0) }.map { key in
            let readers = Registry.families.filter { $0.keys.contains(key) }.map { $0.flavor.rawValue }
            return "model.\(key) does not apply to model.flavor \(flavor.rawValue)"
                + (readers.isEmpty ? "" : " (it applies to \(readers.joined(separator: ", ")))")
        }
    }
}
