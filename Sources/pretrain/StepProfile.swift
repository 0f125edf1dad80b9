import Foundation
import Tensors

/// One training step's time by op kind (`pretrain bench --profile`, `OpProfiler`): the mean over profiled steps, in
/// milliseconds, with the wall time of the same steps so that the part no kind explains shows.
struct StepProfile {
    var rows: [(phase: String, kind: String, milliseconds: Double)]
    var stepMilliseconds: Double
    var newBuffers: Double

    static func measure(steps: Int, step: () -> Void) -> StepProfile {
        let allocationsBefore = BufferPool.shared.allocations
        OpProfiler.start()
        let started = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<steps { step() }
        let wall = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6 / Double(steps)
        OpProfiler.stop()
        func rows(_ phase: String, _ times: [String: UInt64]) -> [(String, String, Double)] {
            times.map { (phase, $0.key, Double($0.value) / 1e6 / Double(steps)) }.sorted { $0.2 > $1.2 }
        }
        return StepProfile(rows: rows("forward", OpProfiler.forward) + rows("backward", OpProfiler.backward) + rows("step", OpProfiler.other),
                           stepMilliseconds: wall,
                           newBuffers: Double(BufferPool.shared.allocations - allocationsBefore) / Double(steps))
    }

    /// What the kinds leave unexplained (glue between the tape's last op and the end of a step, thread start-up).
    var unattributed: Double {
        stepMilliseconds - rows.filter { !$0.kind.hasPrefix("allocation") }.reduce(0) { $0 + $1.milliseconds }
    }

    var table: String {
        func padded(_ text: String, _ width: Int) -> String { text.padding(toLength: max(width, text.count), withPad: " ", startingAt: 0) }
        var lines = [padded("phase", 10) + padded("kind", 36) + "  ms/step   share"]
        for row in rows + [("", "unattributed", unattributed)] {
            lines.append(padded(row.phase, 10) + padded(row.kind, 36)
                         + String(format: "%9.2f  %5.1f %%", row.milliseconds, 100 * row.milliseconds / stepMilliseconds))
        }
        lines.append(padded("step (wall time of the profiled steps)", 46) + String(format: "%9.2f", stepMilliseconds)
                     + String(format: "  new buffers per step: %.1f", newBuffers))
        return lines.joined(separator: "\n") + "\n"
    }

    var json: String {
        let fields = rows.map { "\"\($0.phase).\($0.kind)\": " + String(format: "%.3f", $0.milliseconds) }
            + ["\"unattributed\": " + String(format: "%.3f", unattributed), "\"step\": " + String(format: "%.3f", stepMilliseconds),
               "\"new_buffers\": " + String(format: "%.1f", newBuffers)]
        return "{" + fields.joined(separator: ", ") + "}"
    }
}
