import Foundation
import Training

/// A validation curve: steps and losses, in step order.
public struct StudyCurve: Codable, Equatable {
    public var steps: [Int] = []
    public var losses: [Double] = []

    /// The rows' values of one validation set (nil: the main `val_loss`).
    public init(_ records: [MetricsRecord], set: String?) {
        for record in records {
            guard let loss = set.map({ record.namedValidationLosses[$0] }) ?? record.valLoss else { continue }
            steps.append(record.step)
            losses.append(loss)
        }
    }

    public var final: Double? { losses.last }

    /// Without the last point: the final evaluation reads the whole val split, the periodic ones a fixed subset
    /// of its windows, so only the periodic points are compared with each other (gap depth, rise).
    public var periodic: StudyCurve {
        var curve = self
        if !curve.steps.isEmpty {
            curve.steps.removeLast()
            curve.losses.removeLast()
        }
        return curve
    }
}

/// What one arm measured: the numbers of the table (issue 5, item 5).
public struct StudyCPTArmResult: Codable {
    public var name: String
    public var label: String
    public var groups: [String]
    public var steps: Int
    public var tokens: Int
    public var seconds: Double
    /// Curves after the switch (step 0 is the upstream checkpoint, evaluated as loaded).
    public var downstream: StudyCurve
    public var upstream: StudyCurve
    /// Last values (the final evaluation reads the whole val splits).
    public var downstreamFinal: Double
    public var upstreamFinal: Double
    /// Upstream val loss at the end minus the upstream checkpoint's: forgetting (negative: the arm improved it).
    public var forgetting: Double
    /// Downstream val loss at the end minus the upstream checkpoint's: negative is learning the new domain.
    public var downstreamChange: Double
    /// Stability gap (Guo et al. 2024) on the downstream curve: the rise above its value at the switch, its peak
    /// and the first step back at or below that value.
    public var gapDepth: Double
    public var gapPeakStep: Int
    public var gapRecoveryStep: Int?
    /// The highest upstream loss after the switch minus its value at the switch, and the last periodic value
    /// minus it (both on the periodic evaluations): a rise well above the end is a transient that partly recovered.
    public var upstreamRise: Double
    public var upstreamRiseAtEnd: Double
    /// Learning-curve backtest of the arm's main-split curve (nil when the fit failed).
    public var backtest: StudyBacktest?
}

/// The upstream checkpoint's losses: the reference of forgetting and of the downstream change.
public struct StudyCPTReference: Codable {
    public var upstreamLoss: Double
    public var downstreamLoss: Double
    public var seconds: Double
    public var upstream: StudyCurve
    public var downstream: StudyCurve
    public var backtest: StudyBacktest?
}

/// The numbers of the table from the runs' metrics rows.
public enum StudyCPTMeasure {
    /// The upstream run: its own val split is `val_loss`, the downstream one `val_loss/downstream`.
    public static func reference(records: [MetricsRecord], seconds: Double, backtest: StudyBacktest?) throws -> StudyCPTReference {
        let upstream = StudyCurve(records, set: nil), downstream = StudyCurve(records, set: StudyCPTPlan.downstreamSet)
        guard let up = upstream.final, let down = downstream.final else {
            throw TrainingError("the upstream run logged no val_loss and val_loss/\(StudyCPTPlan.downstreamSet)")
        }
        return StudyCPTReference(upstreamLoss: up, downstreamLoss: down, seconds: seconds, upstream: upstream,
                                 downstream: downstream, backtest: backtest)
    }

    /// A downstream arm from its metrics rows (the infinite arm: the main run up to the branch, then the anneal).
    public static func arm(_ arm: StudyCPTArm, records: [MetricsRecord], reference: StudyCPTReference, seconds: Double,
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
