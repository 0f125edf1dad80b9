// "Did you mean …?" for a misspelt recipe key or subcommand.

/// The name among `candidates` that `name` most likely misspells: the same name written another way (`batchSize`
/// for `batch_size`), the initials of its words (`learning_rate` for `lr`), or the nearest by edit distance when it
/// is within a third of the name's length; nil when none is that close.
public func nearestName(to name: String, among candidates: [String]) -> String? {
    let written = normalized(name)
    if let same = candidates.first(where: { normalized($0) == written }) { return same }
    let words = name.split(whereSeparator: { $0 == "_" || $0 == "-" })
    if words.count >= 2, let initials = candidates.first(where: { $0 == String(words.compactMap(\.first)).lowercased() }) {
        return initials
    }
    let scored = candidates.map { (name: $0, distance: editDistance(written, normalized($0))) }
    guard let best = scored.min(by: { $0.distance < $1.distance }), best.distance <= max(1, written.count / 3) else { return nil }
    return best.name
}

/// Lowercased, without word separators.
private func normalized(_ name: String) -> [Character] {
    name.lowercased().filter { $0 != "_" && $0 != "-" }.map { $0 }
}

/// Edits (insert, delete, substitute, swap two neighbours) that turn `a` into `b` (optimal string alignment).
func editDistance(_ a: [Character], _ b: [Character]) -> Int {
    if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
    var previous2 = [Int](repeating: 0, count: b.count + 1)
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { current[j] = min(current[j], previous2[j - 2] + 1) }
        }
        (previous2, previous, current) = (previous, current, previous2)
    }
    return previous[b.count]
}
