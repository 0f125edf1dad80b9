import Foundation
import Training

/// A validation curve: steps and losses, in step order.
struct StudyCurve: Codable {
    var steps: [Int] = []
    var losses: [Double] = []

    /// The rows' values of one validation set (nil: the main `val_loss`).
    init(_ records: [MetricsRecord], set: String?) {
        for record in records {
            guard let loss = set.map({ record.namedValidationLosses[$0] }) ?? record.valLoss else { continue }
            steps.append(record.step)
            losses.append(loss)
        }
    }

    var final: Double? { losses.last }

    /// Without the last point: the final evaluation reads the whole val split, the periodic ones a fixed subset
    /// of its windows, so only the periodic points are compared with each other (gap depth, rise).
    var periodic: StudyCurve {
        var curve = self
        if !curve.steps.isEmpty {
            curve.steps.removeLast()
            curve.losses.removeLast()
        }
        return curve
    }
}

/// What one arm measured: the numbers of the table (issue 5, item 5).
struct StudyCPTArmResult: Codable {
    var name: String
    var label: String
    var groups: [String]
    var steps: Int
    var tokens: Int
    var seconds: Double
    /// Curves after the switch (step 0 is the upstream checkpoint, evaluated as loaded).
    var downstream: StudyCurve
    var upstream: StudyCurve
    /// Last values (the final evaluation reads the whole val splits).
    var downstreamFinal: Double
    var upstreamFinal: Double
    /// Upstream val loss at the end minus the upstream checkpoint's: forgetting (negative: the arm improved it).
    var forgetting: Double
    /// Downstream val loss at the end minus the upstream checkpoint's: negative is learning the new domain.
    var downstreamChange: Double
    /// Stability gap (Guo et al. 2024) on the downstream curve: the rise above its value at the switch, its peak
    /// and the first step back at or below that value.
    var gapDepth: Double
    var gapPeakStep: Int
    var gapRecoveryStep: Int?
    /// The highest upstream loss after the switch minus its value at the switch, and the last periodic value
    /// minus it (both on the periodic evaluations): a rise well above the end is a transient that partly recovered.
    var upstreamRise: Double
    var upstreamRiseAtEnd: Double
    /// Learning-curve backtest of the arm's main-split curve (nil when this build cannot make one).
    var backtest: StudyBacktest?
}

/// The upstream checkpoint's losses: the reference of forgetting and of the downstream change.
struct StudyCPTReference: Codable {
    var upstreamLoss: Double
    var downstreamLoss: Double
    var seconds: Double
    var upstream: StudyCurve
    var downstream: StudyCurve
    var backtest: StudyBacktest?
}

enum StudyCPTMeasure {
    /// The upstream run: its own val split is `val_loss`, the downstream one `val_loss/downstream`.
    static func reference(records: [MetricsRecord], seconds: Double, backtest: StudyBacktest?) throws -> StudyCPTReference {
        let upstream = StudyCurve(records, set: nil), downstream = StudyCurve(records, set: StudyCPTPlan.downstreamSet)
        guard let up = upstream.final, let down = downstream.final else {
            throw TrainingError("the upstream run logged no val_loss and val_loss/\(StudyCPTPlan.downstreamSet)")
        }
        return StudyCPTReference(upstreamLoss: up, downstreamLoss: down, seconds: seconds, upstream: upstream,
                                 downstream: downstream, backtest: backtest)
    }

    /// A downstream arm from its metrics rows (the infinite arm: the main run up to the branch, then the anneal).
    static func arm(_ arm: StudyCPTArm, records: [MetricsRecord], reference: StudyCPTReference, seconds: Double,
                    backtest: StudyBacktest?) throws -> StudyCPTArmResult {
        let downstream = StudyCurve(records, set: nil), upstream = StudyCurve(records, set: StudyCPTPlan.upstreamSet)
        let (down, up) = (downstream.periodic, upstream.periodic)
        guard let downFinal = downstream.final, let upFinal = upstream.final,
              let gap = StabilityGap.measure(steps: down.steps, losses: down.losses, switchStep: 0),
              let rise = StabilityGap.measure(steps: up.steps, losses: up.losses, switchStep: 0) else {
            throw TrainingError("arm \(arm.name): its metrics hold no val_loss and val_loss/\(StudyCPTPlan.upstreamSet) after step 0")
        }
        return StudyCPTArmResult(
            name: arm.name, label: arm.label, groups: arm.groups.map(\.rawValue), steps: records.last?.step ?? 0,
            tokens: records.last?.tokensSeen ?? 0, seconds: seconds, downstream: downstream, upstream: upstream,
            downstreamFinal: downFinal, upstreamFinal: upFinal, forgetting: upFinal - reference.upstreamLoss,
            downstreamChange: downFinal - reference.downstreamLoss, gapDepth: gap.depth, gapPeakStep: gap.peakStep,
            gapRecoveryStep: gap.recoveryStep, upstreamRise: rise.depth, upstreamRiseAtEnd: rise.finalChange,
            backtest: backtest)
    }
}

/// The qualitative claims of issue 5, judged on the measured numbers (never assumed).
struct StudyCPTClaim: Codable {
    var statement: String
    var holds: Bool
    /// The numbers it rests on, as the table shows them.
    var evidence: String
}

extension StudyCPTClaim {
    static func judge(_ arms: [StudyCPTArmResult]) -> [StudyCPTClaim] {
        let byName = Dictionary(uniqueKeysWithValues: arms.map { ($0.name, $0) })
        var claims: [StudyCPTClaim] = []
        func f(_ value: Double) -> String { String(format: "%+.4f", value) }
        // rewarm_1x is the replay-0 % arm: the replay arms differ from it only in the replay fraction.
        if let none = byName["rewarm_1x"], let most = byName["replay_25"] {
            claims.append(StudyCPTClaim(statement: "replay 25 % forgets less than replay 0 %",
                                        holds: most.forgetting < none.forgetting,
                                        evidence: "forgetting \(f(most.forgetting)) vs \(f(none.forgetting))"))
        }
        if let constant = byName["no_rewarm"] {
            let rewarmed = arms.filter { $0.name.hasPrefix("rewarm_") }.sorted { $0.name < $1.name }
            if !rewarmed.isEmpty {
                let better = rewarmed.filter { $0.downstreamFinal < constant.downstreamFinal }
                claims.append(StudyCPTClaim(
                    statement: "rewarming helps downstream loss (every rewarm peak ends below no rewarm)",
                    holds: better.count == rewarmed.count,
                    evidence: "downstream " + rewarmed.map { String(format: "%@ %.4f", $0.name, $0.downstreamFinal) }
                        .joined(separator: ", ") + String(format: " vs no rewarm %.4f", constant.downstreamFinal)))
            }
        }
        if let cosine = byName["repeated_cosine"], let infinite = byName["infinite_anneal"] {
            claims.append(StudyCPTClaim(statement: "the infinite schedule (with its anneal) forgets no more than repeated cosine at equal tokens",
                                        holds: infinite.forgetting <= cosine.forgetting,
                                        evidence: "forgetting \(f(infinite.forgetting)) vs \(f(cosine.forgetting))"))
        }
        return claims
    }
}
