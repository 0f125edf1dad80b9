import Foundation

/// `control_tag`: conditional training's tags (Korbak et al. 2023, "Pretraining Language Models with Human
/// Preferences"): a scorer's value (meta[`field`], e.g. a classifier's P(offensive)) decides whether the document is
/// prefixed with the `good` or the `bad` control token, so that a model trained on the tagged text learns p(x | tag)
/// and `pretrain generate --condition <|good|> --ban <|bad|>` samples the good side. The tokens must be special tokens
/// of the tokenizer (`pretrain tokenize --train-vocab N --special-tokens "<|endoftext|>,<|good|>,<|bad|>"`).
/// `bad_above` (default) tags a value above `threshold` bad; `bad_below: true` the other way round. meta.control
/// gets "good" or "bad". A document without a numeric value there is dropped (`missing: keep` leaves it untagged).
public final class ControlTag: CurationStep {
    public static let kind = "control_tag"
    public static let keys = ["field", "threshold", "good", "bad", "bad_below", "separator", "missing"]

    public enum Missing: String, CaseIterable { case drop, keep }

    public let field: String
    public let threshold: Double
    public let good: String
    public let bad: String
    public let badBelow: Bool
    public let separator: String
    public let missing: Missing

    public init(settings: StepSettings) throws {
        guard let field = try settings.string("field"), !field.isEmpty else {
            throw settings.problem(nil, "needs a 'field:' (the meta value that decides the tag)")
        }
        guard let threshold = try settings.double("threshold") else { throw settings.problem(nil, "needs a 'threshold:'") }
        self.field = field
        self.threshold = threshold
        good = try settings.string("good") ?? "<|good|>"
        bad = try settings.string("bad") ?? "<|bad|>"
        guard !good.isEmpty, !bad.isEmpty, good != bad else {
            throw settings.problem("good", "and bad must be two different non-empty tokens")
        }
        badBelow = try settings.bool("bad_below") ?? false
        separator = try settings.string("separator") ?? ""
        missing = try settings.choice("missing") ?? .drop
    }

    public func apply(to document: inout CurationDocument) throws -> StepVerdict {
        guard case .number(let value)? = document.metaValue(field) else {
            return missing == .keep ? .keep : .drop(DropReason("\(field) missing", "control_tag: no number at meta.\(field)"))
        }
        let isBad = badBelow ? value < threshold : value > threshold
        document.text = (isBad ? bad : good) + separator + document.text
        document.meta["control"] = .string(isBad ? "bad" : "good")
        return .keep
    }
}
