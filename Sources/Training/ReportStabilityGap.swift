import Foundation

/// The stability-gap section of `pretrain report`: for every switch of a run — the start of a run that continues
/// from another's weights (`--init-from`), a curriculum phase boundary — what each validation loss did after it.
extension RunReport {
    /// A step at which the run's data or starting point changed, and why.
    public struct Switch: Equatable {
        public var step: Int
        public var reason: String

        public init(step: Int, reason: String) {
            self.step = step
            self.reason = reason
        }
    }

    /// The gap of one validation set after one switch.
    public struct MeasuredGap {
        public var switchPoint: Switch
        /// "val" (the main split) or a named set.
        public var validationSet: String
        public var gap: StabilityGap
    }

    /// Switches, in step order: step 0 of an `--init-from` run, and the `until` of every curriculum phase.
    public var switches: [Switch] {
        var result: [Switch] = []
        if let initializedFrom { result.append(Switch(step: 0, reason: "init from \(URL(fileURLWithPath: initializedFrom).lastPathComponent)")) }
        if let recipe, let parsed = try? Recipe.parse(recipe), let plan = MixturePlan(parsed.data) {
            result += plan.boundaries.enumerated().map { Switch(step: $1, reason: "phase \($0 + 2)") }
        }
        return result
    }

    /// Each switch's gap on every validation set, measured up to the next switch.
    public var stabilityGaps: [MeasuredGap] {
        let points = switches
        let sets = ["val_loss"] + metrics.metricNames.filter { $0.hasPrefix("val_loss/") }
        var result: [MeasuredGap] = []
        for (index, point) in points.enumerated() {
            let end = index + 1 < points.count ? points[index + 1].step : Int.max
            for name in sets {
                let series = metrics.series(name).filter { $0.step <= end }
                guard let gap = StabilityGap.measure(steps: series.map(\.step), losses: series.map(\.value),
                                                     switchStep: point.step) else { continue }
                let label = name == "val_loss" ? "val" : String(name.dropFirst("val_loss/".count))
                result.append(MeasuredGap(switchPoint: point, validationSet: label, gap: gap))
            }
        }
        return result
    }

    /// The section's HTML (empty when the run has no switch with validation losses after it).
    func stabilityGapHTML() -> String {
        let gaps = stabilityGaps
        guard !gaps.isEmpty else { return "" }
        let escape = SVGPlot.escapeMarkup
        var html = "<h2>Stability gap</h2>\n<p class=\"meta\">After each switch: the validation loss at the switch, "
            + "its highest value after it (depth = peak − loss at the switch), the first step at which it was back at or "
            + "below its value at the switch, and its last value minus that value (positive: forgetting).</p>\n"
        html += "<table class=\"summary\">\n<tr><td>switch</td><td>validation set</td><td>loss at switch</td><td>peak (step)</td>"
            + "<td>depth</td><td>recovered at step</td><td>final change</td></tr>\n"
        for entry in gaps {
            let gap = entry.gap
            let cells = ["step \(Self.grouped(entry.switchPoint.step)) (\(entry.switchPoint.reason))", entry.validationSet,
                         "\(Self.number(gap.reference)) (step \(Self.grouped(gap.referenceStep)))",
                         "\(Self.number(gap.peak)) (\(Self.grouped(gap.peakStep)))", Self.number(gap.depth),
                         gap.recoveryStep.map { Self.grouped($0) } ?? "not recovered",
                         (gap.finalChange >= 0 ? "+" : "") + Self.number(gap.finalChange)]
            html += "<tr>" + cells.map { "<td>\(escape($0))</td>" }.joined() + "</tr>\n"
        }
        return html + "</table>\n"
    }
}
