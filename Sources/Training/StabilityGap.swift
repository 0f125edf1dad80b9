import Foundation

/// What a loss curve did after a switch of data or schedule (continuing from a checkpoint, a curriculum phase):
/// the stability gap of Guo et al. (2024), "Efficient continual pre-training by mitigating the stability gap" —
/// on the new domain the loss first rises, then falls below where it started; on the old domain the rise is
/// forgetting, and it may never recover.
public struct StabilityGap: Equatable {
    public var switchStep: Int
    /// The loss at the switch: the last value at or before `switchStep`, else the first one after it.
    public var reference: Double
    public var referenceStep: Int
    /// The highest loss after the switch, and where.
    public var peak: Double
    public var peakStep: Int
    /// The first step at or after the peak at which the loss is back at or below `reference`; nil when the
    /// curve never gets back (within its steps).
    public var recoveryStep: Int?
    /// The last value of the curve.
    public var final: Double
    public var finalStep: Int

    /// How far the loss rose above its value at the switch (0 when it never did).
    public var depth: Double { max(0, peak - reference) }
    /// Last minus reference: negative when the curve ended lower (learning), positive when higher (forgetting).
    public var finalChange: Double { final - reference }

    /// Measures one curve (steps increasing; non-finite losses are ignored). nil when no finite value lies after
    /// `switchStep`.
    public static func measure(steps: [Int], losses: [Double], switchStep: Int) -> StabilityGap? {
        precondition(steps.count == losses.count, "one loss per step")
        let points = zip(steps, losses).filter { $0.1.isFinite }
        let after = points.filter { $0.0 > switchStep }
        guard let first = after.first, let last = after.last else { return nil }
        let reference = points.last { $0.0 <= switchStep } ?? first
        let peak = after.max { $0.1 < $1.1 }!   // the earliest of equal maxima
        let recovery = after.first { $0.0 >= peak.0 && $0.1 <= reference.1 }
        return StabilityGap(switchStep: switchStep, reference: reference.1, referenceStep: reference.0,
                            peak: peak.1, peakStep: peak.0, recoveryStep: recovery?.0, final: last.1, finalStep: last.0)
    }
}
