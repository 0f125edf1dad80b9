import Foundation

/// `classify`: a character n-gram classifier of ours (`pretrain curate train-langid`, naive Bayes over hashed 1–4-grams)
/// labels each document: meta[`field`] is the most probable label and meta[`field`_score] its posterior. It is the
/// language identifier (trained on the fortunes' `lang`) and any other document classifier trained the same way (the
/// fortunes' `offensive` sections). `score_label` also writes the posterior of that one label as meta[`field`_<label>]
/// (P(offensive = true), for a filter's threshold or percentile).
public final class Classify: CurationStep {
    public static let kind = "classify"
    public static let keys = ["model", "field", "score_label"]

    public let classifier: LanguageIdentifier
    public let field: String
    public let scoreLabel: String?
    private let scoreIndex: Int?

    public init(settings: StepSettings) throws {
        guard let path = try settings.string("model"), !path.isEmpty else {
            throw settings.problem(nil, "needs a 'model:' (a classifier written by `pretrain curate train-langid`)")
        }
        do { classifier = try LanguageIdentifier.load(from: URL(fileURLWithPath: path)) } catch {
            throw settings.problem("model", "\(error)")
        }
        field = try settings.string("field") ?? "lang"
        guard !field.isEmpty else { throw settings.problem("field", "must be a non-empty meta key") }
        scoreLabel = try settings.string("score_label")
        if let scoreLabel {
            guard let index = classifier.labels.firstIndex(of: scoreLabel) else {
                throw settings.problem("score_label", "'\(scoreLabel)' is not a label of \(path) (labels: \(classifier.labels.joined(separator: ", ")))")
            }
            scoreIndex = index
        } else {
            scoreIndex = nil
        }
    }

    public func apply(to document: inout CurationDocument) throws -> StepVerdict {
        let posteriors = classifier.posteriors(document.text)
        let best = posteriors.indices.max { posteriors[$0] < posteriors[$1] }!
        document.meta[field] = .string(classifier.labels[best])
        document.meta[field + "_score"] = .number(posteriors[best])
        if let scoreIndex, let scoreLabel { document.meta[field + "_" + scoreLabel] = .number(posteriors[scoreIndex]) }
        return .keep
    }
}
