import Foundation

/// `filter`: keeps documents by a meta field — how the values of scorers (quality, a language identifier's
/// confidence, a perplexity, a classifier) select documents. `field` names the meta key (a dotted path reads nested
/// objects: `lang.score`). One kind of test:
/// - `min` and/or `max`: a number in [min, max];
/// - `equals`: a string (a number or boolean field compares as its JSON text, so `equals: "true"` and `equals: 1623`
///   work);
/// - `in`: one of a list of strings, compared likewise;
/// - `keep_top_percent` / `keep_bottom_percent`: the given percent (0, 100] of the documents that reach the step with
///   the highest / lowest value, ties broken by input order; this needs the corpus pass.
/// A document without the field (or, for a numeric test, with a non-number there) is dropped ("missing") unless
/// `missing: keep`.
public final class MetaFilter: CurationStep {
    public static let kind = "filter"
    public static let keys = ["field", "min", "max", "equals", "in", "keep_top_percent", "keep_bottom_percent", "missing"]

    public enum Missing: String, CaseIterable { case drop, keep }
    enum Test {
        case range(min: Double?, max: Double?)
        case oneOf(Set<String>)
        case rank(percent: Double, top: Bool)
    }

    public let field: String
    let test: Test
    let missing: Missing
    public var needsCorpusPass: Bool { if case .rank = test { return true } else { return false } }

    /// For a rank test: the values seen in the corpus pass, then the cut-off value and how many documents exactly at it
    /// are still kept.
    private var values: [Double] = []
    private var cutoff = 0.0
    private var keptAtCutoff = 0

    public init(settings: StepSettings) throws {
        guard let field = try settings.string("field"), !field.isEmpty else { throw settings.problem(nil, "needs a 'field:' (the meta key to test)") }
        self.field = field
        missing = try settings.choice("missing") ?? .drop
        let given = ["min", "max", "equals", "in", "keep_top_percent", "keep_bottom_percent"].filter { settings.has($0) }
        let kinds = Set(given.map { $0 == "max" ? "min" : $0 })
        guard kinds.count == 1 else {
            throw settings.problem(nil, "needs exactly one test: min/max, equals, in, keep_top_percent or keep_bottom_percent"
                + (given.isEmpty ? "" : " (got \(given.joined(separator: ", ")))"))
        }
        switch kinds.first! {
        case "min":
            let (low, high) = (try settings.double("min"), try settings.double("max"))
            if let low, let high, low > high { throw settings.problem("min", "(\(format(low))) is above max (\(format(high)))") }
            test = .range(min: low, max: high)
        case "equals":
            test = .oneOf([try Self.text(settings, "equals")])
        case "in":
            guard let list = try settings.strings("in"), !list.isEmpty else { throw settings.problem("in", "must be a non-empty list") }
            test = .oneOf(Set(list))
        default:
            let key = kinds.first!
            guard let percent = try settings.double(key), percent > 0 && percent <= 100 else {
                throw settings.problem(key, "must be a percentage in (0, 100]")
            }
            test = .rank(percent: percent, top: key == "keep_top_percent")
        }
    }

    private static func text(_ settings: StepSettings, _ key: String) throws -> String {
        guard let value = try settings.string(key) else { throw settings.problem(key, "must not be null") }
        return value
    }

    /// A meta value as the string `equals`/`in` compare with.
    private static func comparable(_ value: MetaValue) -> String {
        if case .string(let string) = value { return string }
        return value.jsonText
    }

    public func observe(_ document: CurationDocument) throws {
        if let value = document.metaValue(field)?.number { values.append(value) }
    }

    public func finishObserving() throws {
        guard case .rank(let percent, let top) = test, !values.isEmpty else { return }
        let keep = Int((percent / 100 * Double(values.count)).rounded(.up))
        values.sort(by: top ? (>) : (<))
        cutoff = values[keep - 1]
        // Documents strictly beyond the cut-off are all kept; at it, the first ones up to `keep` in all.
        keptAtCutoff = keep - values.prefix(keep).filter { $0 != cutoff }.count
        values = []
    }

    public func apply(to document: inout CurationDocument) throws -> StepVerdict {
        guard let value = document.metaValue(field), value != .null else { return missingVerdict("no meta.\(field)") }
        switch test {
        case .range(let low, let high):
            guard let number = value.number else { return missingVerdict("meta.\(field) is not a number") }
            if let low, number < low { return .drop(DropReason("\(field) < \(format(low))", "filter: \(field) \(format(number)) < \(format(low))")) }
            if let high, number > high { return .drop(DropReason("\(field) > \(format(high))", "filter: \(field) \(format(number)) > \(format(high))")) }
        case .oneOf(let allowed):
            let text = Self.comparable(value)
            if !allowed.contains(text) {
                return .drop(DropReason("\(field) not in the list", "filter: \(field) '\(text)' is not \(allowed.sorted().joined(separator: ", "))"))
            }
        case .rank(let percent, let top):
            guard let number = value.number else { return missingVerdict("meta.\(field) is not a number") }
            let beyond = top ? number > cutoff : number < cutoff
            if beyond { return .keep }
            if number == cutoff, keptAtCutoff > 0 {
                keptAtCutoff -= 1
                return .keep
            }
            return .drop(DropReason("\(field) outside the \(top ? "top" : "bottom") \(format(percent))%",
                                    "filter: \(field) \(format(number)) is outside the \(top ? "top" : "bottom") \(format(percent))%"))
        }
        return .keep
    }

    private func missingVerdict(_ detail: String) -> StepVerdict {
        missing == .keep ? .keep : .drop(DropReason("\(field) missing", "filter: \(detail)"))
    }
}
