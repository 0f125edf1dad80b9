import Foundation

/// An objective that can tell from its own metrics that a run is going wrong, and say what to change.
public protocol TrainingHealthReporting: AnyObject {
    /// Warnings for the metrics row just drained at update `step` (1-based); each kind at most once per process.
    func healthWarnings(step: Int, metrics: [String: Double]) -> [String]
}

/// The two ways a small wav2vec 2.0 run fails silently (recipes/wav2vec2-small.yaml measured both): the quantiser
/// collapses onto a few codes, or the diversity loss and the feature penalty hold the model at the trivial solution,
/// where every candidate is equally similar and the contrastive loss stays at ln(K + 1).
public enum Wav2Vec2Health {
    case codebookCollapse
    case contrastiveAtChance

    /// Below this fraction of the G·V entries in use (the code perplexity's share) the codebook has collapsed
    /// (issue 7's criterion for a healthy quantiser).
    public static let minimumCodebookUsage = 0.10
    /// Updates after which a contrastive loss still within `chanceMargin` of ln(K + 1) means the model is stuck:
    /// healthy runs of the recipe leave chance by update ~400.
    public static let stuckAfter = 1000
    public static let chanceMargin = 0.01

    /// What is wrong in one metrics row, if anything. The Gumbel temperature starts high enough that early rows
    /// use most codes, so a low usage is a collapse whenever it is seen. The usage is measured per micro-batch,
    /// whose M masked frames can use at most M codes a group: below V masked frames the threshold shrinks by M / V.
    public static func diagnose(step: Int, metrics: [String: Double], config: Wav2Vec2Config) -> [(Wav2Vec2Health, String)] {
        var found: [(Wav2Vec2Health, String)] = []
        let reachable = min(1, (metrics["masked_frames"] ?? .infinity) / Double(config.codebookEntries))
        if let usage = metrics["codebook_usage"], usage < minimumCodebookUsage * reachable {
            let entries = config.codebookGroups * config.codebookEntries
            found.append((.codebookCollapse, String(
                format: "warning: wav2vec 2.0's codebook is collapsing at update %d: %.1f %% of the G·V = %d entries in use "
                    + "(code perplexity %.1f, below %.0f %%); raise objective.wav2vec2.diversity_weight (now %g)",
                step, usage * 100, entries, usage * Double(entries), minimumCodebookUsage * reachable * 100,
                Double(config.diversityWeight))))
        }
        let candidates = config.negatives + config.crossSampleNegatives + 1
        let chance = Foundation.log(Double(candidates))
        if step >= stuckAfter, let contrastive = metrics["contrastive_loss"], contrastive >= chance - chanceMargin {
            found.append((.contrastiveAtChance, String(
                format: "warning: wav2vec 2.0's contrastive loss is still at chance at update %d (%.3f, ln %d = %.3f): "
                    + "the targets carry nothing to predict; lower objective.wav2vec2.diversity_weight (now %g) "
                    + "or feature_penalty_weight (now %g)",
                step, contrastive, candidates, chance, Double(config.diversityWeight), Double(config.featurePenaltyWeight))))
        }
        return found
    }
}
