import Tensors

/// Which old unit each unit of a grown axis copies (bert2BERT's mapping g, §3.1). The first units are the old
/// ones in order; the added units follow.
struct UnitMap: Equatable {
    /// source[j]: the old unit new unit j copies.
    let source: [Int]
    /// copies[i]: how many new units copy old unit i (the divisor of its outgoing weights).
    let copies: [Int]
    /// added[j]: unit j is one growth added (AKI fills these from the layer above).
    let added: [Bool]

    var count: Int { source.count }
    var oldCount: Int { copies.count }

    init(source: [Int], oldCount: Int, added: [Bool]) {
        var copies = [Int](repeating: 0, count: oldCount)
        for i in source { copies[i] += 1 }
        (self.source, self.copies, self.added) = (source, copies, added)
    }

    /// The unchanged axis: every unit copies itself once.
    static func identity(_ count: Int) -> UnitMap {
        UnitMap(source: Array(0..<count), oldCount: count, added: [Bool](repeating: false, count: count))
    }

    /// old → new units: the old ones, then the added ones drawn from seeded permutations of the old units, one
    /// permutation used up before the next begins. The paper draws each added unit uniformly; drawing without
    /// replacement keeps the copy counts within one of each other, so with an integer multiple k every unit has
    /// exactly k copies — the condition under which a norm over the grown axis keeps its statistics.
    static func balanced(from old: Int, to new: Int, generator: inout RandomGenerator) -> UnitMap {
        precondition(new >= old && old > 0, "cannot map \(old) units onto \(new)")
        var source = Array(0..<old)
        while source.count < new {
            var permutation = Array(0..<old)
            for i in stride(from: old - 1, to: 0, by: -1) { permutation.swapAt(i, generator.nextInt(below: i + 1)) }
            source += permutation.prefix(new - source.count)
        }
        return UnitMap(source: source, oldCount: old, added: source.indices.map { $0 >= old })
    }

    /// Whole heads: a map of heads → the map of their `headDimension`-wide units (unit h·D + d copies
    /// source[h]·D + d).
    func expandingHeads(dimension: Int) -> UnitMap {
        UnitMap(source: source.flatMap { h in (0..<dimension).map { h * dimension + $0 } },
                oldCount: oldCount * dimension, added: added.flatMap { [Bool](repeating: $0, count: dimension) })
    }

    /// Maps side by side on one axis (GPT-2's fused q | k | v rows).
    static func concatenated(_ maps: [UnitMap]) -> UnitMap {
        var (source, added, offset) = ([Int](), [Bool](), 0)
        for map in maps {
            source += map.source.map { $0 + offset }
            added += map.added
            offset += map.oldCount
        }
        return UnitMap(source: source, oldCount: offset, added: added)
    }
}
