import Foundation

/// A claim of a paper as a study's numbers judge it (never assumed).
public struct StudyClaim: Codable {
    public var statement: String
    public var holds: Bool
    /// The numbers it rests on, as the table shows them.
    public var evidence: String

    public init(statement: String, holds: Bool, evidence: String) {
        (self.statement, self.holds, self.evidence) = (statement, holds, evidence)
    }

    /// "- **holds**: statement — evidence", a line of a results section.
    public var markdown: String { "- **\(holds ? "holds" : "does not hold")**: \(statement) — \(evidence)" }

    /// "holds: statement (evidence)", what the study commands print.
    public var consoleLine: String { "\(holds ? "holds" : "DOES NOT HOLD"): \(statement) (\(evidence))" }
}

/// A row of a study measured over seeds.
protocol SeededRow {
    var seed: Int { get }
}

/// `a` against `b` seed by seed (same seed, same data order): the differences a − b of `value`; the claim that a is
/// lower holds when it is lower for every seed, so that an effect smaller than the spread between seeds still counts
/// only if it is consistent.
func paired<Row: SeededRow>(_ a: [Row], _ b: [Row], _ value: (Row) -> Double) -> (holds: Bool, evidence: String) {
    let differences = a.compactMap { row in b.first { $0.seed == row.seed }.map { value(row) - value($0) } }
    let lower = differences.filter { $0 < 0 }.count
    let difference = meanAndDeviation(differences)
    return (!differences.isEmpty && lower == differences.count,
            String(format: "paired by seed: Δ %+.4f ± %.4f, lower for %d of %d seeds", difference.mean, difference.deviation,
                   lower, differences.count))
}

/// "mean ± deviation" to four decimals, the mean alone when the deviation is 0.
/// "mean ± sd" to four decimals; the mean alone when the sd would print as 0.0000 (equal values whose mean rounds
/// off by an ulp have a deviation of about 1e-16).
func spread(_ value: (mean: Double, deviation: Double)) -> String {
    value.deviation >= 0.00005 ? String(format: "%.4f ± %.4f", value.mean, value.deviation) : String(format: "%.4f", value.mean)
}

func spread(_ values: [Double]) -> String { spread(meanAndDeviation(values)) }
