import Foundation

/// `sparsity:` — static unstructured weight sparsity during pre-training (SPDF: sparse pre-training, dense
/// fine-tuning; Thangarasa et al. 2023). A fraction of every linear weight inside the Transformer blocks
/// (`WeightSparsity.sparseParameters`) is set to zero at the start and kept there: their gradients are zeroed before
/// clipping and AdamW. A later run with `--init-from` and no sparsity trains every weight (dense fine-tuning).
public struct SparsitySection: RecipeSection {
    /// How the masked entries of each weight matrix are chosen.
    public enum Mask: String, CaseIterable {
        /// Uniformly at random, from a stream per parameter name (the dense initialisation is unchanged).
        case random
        /// The smallest |w| of each matrix at the start (ties: the lower flat index is masked first).
        case magnitude
    }

    /// Fraction of each sparse weight matrix set to zero, in [0, 1); 0: dense training (the section is off).
    public var fraction: Float = 0
    public var mask = Mask.random
    /// Seed of the random masks; nil: derived from train.seed.
    public var seed: UInt64?

    public init() {}

    public var isEnabled: Bool { fraction > 0 }

    public static let keys: [RecipeKey<SparsitySection>] = [
        .init("fraction", \.fraction), .init("mask", choice: \.mask), .init("seed", \.seed),
    ]

    /// Problems of the values, each naming its key.
    func problems() -> [String] {
        fraction >= 0 && fraction < 1 ? [] : ["sparsity.fraction must be in [0, 1) (0: dense), got \(fraction)"]
    }
}
