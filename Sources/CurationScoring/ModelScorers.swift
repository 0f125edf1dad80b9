import Curation

/// The curation steps that run one of our trained models (and so live above `Training`): `perplexity`,
/// `sequence_classifier`. The command line registers them before it reads a pipeline.
public enum ModelScorers {
    public static let steps: [any CurationStep.Type] = [PerplexityScore.self, SequenceClassifierScore.self]

    /// Registers `steps` (again is harmless) and returns every step kind now known.
    @discardableResult
    public static func register() -> [String] {
        steps.forEach(CurationSteps.register)
        return CurationSteps.kinds
    }
}
