import Foundation

/// The registry of step kinds: `kind` → the step type, whose `init(settings:)` is its factory. The built-in steps are
/// listed once, here; a step outside this module calls `register` before a pipeline is read.
public enum CurationSteps {
    public static let builtIn: [any CurationStep.Type] = [
        Normalize.self, ExactDedup.self, NearDedup.self, BoilerplateLines.self, QualityHeuristics.self, MetaFilter.self,
        SetMeta.self, Classify.self, ControlTag.self,
    ]

    private static let lock = NSLock()
    nonisolated(unsafe) private static var registered: [any CurationStep.Type] = builtIn

    /// Adds a step kind; registering a kind again replaces it (a test's variant of a built-in).
    public static func register(_ step: any CurationStep.Type) {
        lock.withLock {
            registered.removeAll { $0.kind == step.kind }
            registered.append(step)
        }
    }

    /// The registered kinds, in registration order.
    public static var kinds: [String] { lock.withLock { registered.map { $0.kind } } }

    public static func type(of kind: String) -> (any CurationStep.Type)? { lock.withLock { registered.first { $0.kind == kind } } }

    /// The step `settings` describe: its kind must be registered (checked by the pipeline reader) and every key
    /// one its type lists.
    public static func make(_ settings: StepSettings, keys present: [String]) throws -> any CurationStep {
        guard let type = type(of: settings.kind) else { preconditionFailure("unregistered kind \(settings.kind)") }
        if let unknown = present.first(where: { !type.keys.contains($0) }) {
            let suggestion = closestName(to: unknown, among: type.keys).map { " (did you mean \($0)?)" } ?? ""
            let valid = type.keys.isEmpty ? "it takes no keys" : "valid keys: \(type.keys.joined(separator: ", "))"
            throw settings.problem(locatedAt: unknown, "unknown key '\(unknown)'\(suggestion); \(valid)")
        }
        return try type.init(settings: settings)
    }
}

/// The name among `candidates` nearest to `name` by edit distance, when within a third of its length (a misspelling).
func closestName(to name: String, among candidates: [String]) -> String? {
    func distance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var previous = Array(0...b.count), current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count { current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)) }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
    let written = Array(name.lowercased())
    let best = candidates.map { ($0, distance(written, Array($0.lowercased()))) }.min { $0.1 < $1.1 }
    guard let best, best.1 <= max(1, written.count / 3) else { return nil }
    return best.0
}
