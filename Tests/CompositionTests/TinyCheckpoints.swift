import Foundation
import Layers
import Tensors
import Training

/// Tiny random decoder checkpoints (vocabulary 64, context 16) written as the trainer writes them, for the
/// composition and merge tests.
enum TinyCheckpoints {
    static func section(layers: Int = 2, dModel: Int = 16, flavor: ModelFlavor = .gpt2) -> ModelSection {
        var section = ModelSection()
        (section.flavor, section.layers, section.dModel, section.heads, section.context, section.vocabSize) = (flavor, layers, dModel, 2, 16, 64)
        return section
    }

    /// A model of `section` drawn from `seed`, every weight moved by N(0, 0.1²) so that biases and norms differ too.
    static func state(_ section: ModelSection, seed: UInt64) throws -> [String: Tensor] {
        var generator = RandomGenerator(seed: seed)
        let model = try section.family.makeBackbone(section, options: BackboneOptions(), generator: &generator)
        for (_, tensor) in model.namedParameters() {
            for i in 0..<tensor.count { tensor.data[i] += 0.1 * generator.nextNormal() }
        }
        return model.stateDict()
    }

    /// Writes a checkpoint of `weights` (default: drawn from `seed`) with a tokenizer.json of `tokenizer`.
    @discardableResult
    static func write(_ directory: URL, section: ModelSection = section(), seed: UInt64 = 1, weights: [String: Tensor]? = nil,
                      tokenizer: String = "{\"tokenizer\": 1}") throws -> URL {
        var writer = CheckpointWriter(weights: try weights ?? state(section, seed: seed))
        writer.config = CheckpointConfig(model: section, objective: ObjectiveSection())
        writer.extraFiles = { try Data(tokenizer.utf8).write(to: $0.appendingPathComponent(Checkpoint.tokenizerFile)) }
        try writer.write(checkpointAt: directory)
        return directory
    }
}
