import FileErrors
import Foundation

/// `pretrain report`: one self-contained HTML page per run directory (inline SVG and CSS, no scripts, nothing
/// fetched), so that a run can be looked at in any browser, offline, or attached to an issue:
/// a summary table, the curves (train and val loss, val bits per byte, per-source val loss, learning rate,
/// throughput, gradient norm, skipped updates when there were any) and the resolved recipe.
public struct RunReport {
    public let runDirectory: URL
    public let metrics: MetricsTable
    /// RUN/recipe.yaml as written by the trainer; nil when the run has none.
    public let recipe: String?
    /// The checkpoint named by RUN/checkpoints/latest.
    public let latestCheckpoint: String?
    /// The checkpoint the run's weights came from (`--init-from`; not set for an anneal branch, which continues).
    public let initializedFrom: String?
    /// Training seconds and the machine, from the latest checkpoint's trainer_state.json (nil for older runs).
    public var elapsedSeconds: Double?
    public var machine: String?

    public struct RunDirectoryError: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "\(path): \(reason)" }
    }

    public init(runDirectory: URL) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: runDirectory.path, isDirectory: &isDirectory) else {
            throw RunDirectoryError(path: runDirectory.path, reason: "no such run directory")
        }
        guard isDirectory.boolValue else {
            throw RunDirectoryError(path: runDirectory.path, reason: "not a directory (expected a run directory holding metrics.jsonl)")
        }
        self.runDirectory = runDirectory
        let run = RunDirectory(runDirectory)
        metrics = try MetricsTable(contentsOf: run.metrics)
        recipe = try? String(contentsOf: run.recipe, encoding: .utf8)
        let latest = run.checkpoints.latest
        latestCheckpoint = latest?.lastPathComponent
        let state = latest.flatMap { try? TrainerState.read($0.appendingPathComponent(Checkpoint.stateFile)) }
        initializedFrom = state?.branchedFrom == nil ? state?.initializedFrom : nil
        elapsedSeconds = state?.elapsedSeconds
        machine = state?.machine
    }

    public init(runDirectory: URL, metrics: MetricsTable, recipe: String?, latestCheckpoint: String? = nil,
                initializedFrom: String? = nil) {
        self.runDirectory = runDirectory
        self.metrics = metrics
        self.recipe = recipe
        self.latestCheckpoint = latestCheckpoint
        self.initializedFrom = initializedFrom
    }

    /// Writes the page (default RUN/report.html) and returns where.
    @discardableResult
    public func write(to url: URL? = nil) throws -> URL {
        let destination = url ?? RunDirectory(runDirectory).report
        try FileError.wrap("write the report", path: destination.path) {
            try html().write(to: destination, atomically: true, encoding: .utf8)
        }
        return destination
    }

    // MARK: - Plots

    /// The per-source validation losses, `val_loss/<name>`, sorted by name.
    private var namedValidationMetrics: [String] {
        metrics.metricNames.filter { $0.hasPrefix("val_loss/") }
    }

    public var plots: [SVGPlot] {
        var plots: [SVGPlot] = []
        let switchLines = switches.map { (x: Double($0.step), label: $0.reason) }
        func points(_ name: String) -> [(x: Double, y: Double)] {
            metrics.series(name).map { (Double($0.step), $0.value) }
        }
        // Every plot spans the whole run, so that curves line up from one plot to the next.
        let lastStep = Double(metrics.rows.last.flatMap { $0["step"] } ?? 1)
        func plot(_ title: String, _ yLabel: String, _ series: [SVGPlot.Series], yScale: SVGPlot.Scale = .linear,
                  includesZero: Bool = false) {
            var plot = SVGPlot(title: title, xLabel: "step", yLabel: yLabel, series: series)
            plot.xRange = 0...max(lastStep, 1)
            plot.yScale = yScale
            plot.yIncludesZero = includesZero
            plot.id = "plot\(plots.count)"
            plot.verticalLines = switchLines
            plots.append(plot)
        }
        /// Raw values faint and a smoothed curve over them bold, when the curve is long and noisy.
        func rawAndSmoothed(_ name: String, _ label: String, color: String) -> [SVGPlot.Series] {
            let raw = points(name)
            guard raw.count >= 20 else { return [SVGPlot.Series(label, points: raw, color: color)] }
            let smoothed = Self.zeroPhaseSmoothing(raw.map(\.y), span: max(2, Double(raw.count) / 60))
            return [SVGPlot.Series("\(label) (raw)", points: raw, color: color, lineWidth: 1, opacity: 0.3),
                    SVGPlot.Series("\(label) (smoothed)", points: zip(raw, smoothed).map { ($0.x, $1) }, color: color)]
        }
        let blue = SVGPlot.palette[0], orange = SVGPlot.palette[1], green = SVGPlot.palette[2]

        var loss = rawAndSmoothed("loss", "train", color: blue)
        if !metrics.series("val_loss").isEmpty {
            loss.append(SVGPlot.Series("val", points: points("val_loss"), color: orange, markers: true))
        }
        plot("Loss", "loss (nats / token)", loss)
        if !metrics.series("val_bpb").isEmpty {
            plot("Validation bits per byte", "bits / byte",
                 [SVGPlot.Series("val", points: points("val_bpb"), color: orange, markers: true)])
        }
        let named = namedValidationMetrics
        if !named.isEmpty {
            var series = named.enumerated().map { index, name in
                SVGPlot.Series(String(name.dropFirst("val_loss/".count)), points: points(name),
                               color: SVGPlot.palette[(index + 2) % SVGPlot.palette.count], markers: true)
            }
            if !metrics.series("val_loss").isEmpty {
                series.insert(SVGPlot.Series("val (main)", points: points("val_loss"), color: orange, lineStyle: .dashed), at: 0)
            }
            plot("Validation loss by source", "loss (nats / token)", series)
        }
        plot("Learning rate", "learning rate", [SVGPlot.Series("lr", points: points("lr"), color: green, showInLegend: false)])
        plot("Throughput", "tokens / s", rawAndSmoothed("tokens_per_s", "tokens/s", color: blue), includesZero: true)
        let gradientNorms = metrics.series("grad_norm").map(\.value).filter { $0.isFinite && $0 > 0 }
        let spread = (gradientNorms.max() ?? 1) / (gradientNorms.min() ?? 1)
        // Raw only: spikes are what one looks for here, and smoothing would smear each into a slow decay.
        var gradientSeries = [SVGPlot.Series("grad norm", points: points("grad_norm"), color: SVGPlot.palette[3], lineWidth: 1.2,
                                             showInLegend: clipThreshold != nil)]
        if let clip = clipThreshold, let first = metrics.series("grad_norm").first, let last = metrics.series("grad_norm").last {
            // Updates above the line were scaled down to it (optim.clip).
            gradientSeries.append(SVGPlot.Series("clip \(Self.number(clip))", points: [(Double(first.step), clip), (Double(last.step), clip)],
                                                 color: "#888888", lineStyle: .dashed))
        }
        plot("Gradient norm (before clipping)", "global L2 norm", gradientSeries, yScale: spread > 30 ? .logarithmic : .linear)
        let skipped = metrics.series("skipped_updates").map(\.value).max() ?? 0
        if skipped > 0 {
            plot("Skipped updates (non-finite loss or gradient)", "updates skipped so far",
                 [SVGPlot.Series("skipped", points: points("skipped_updates"), color: "#C00000", showInLegend: false)])
            plots[plots.count - 1].yRange = 0...(skipped + max(1, (skipped * 0.1).rounded(.up)))  // the line clears the frame
        }
        return plots
    }

    /// An exponential moving average run forwards and then backwards, so that the smoothed curve does not lag
    /// behind a falling loss (a one-way average, as TensorBoard's, sits above the raw curve early in training).
    /// Non-finite values (skipped updates) are stepped over.
    static func zeroPhaseSmoothing(_ values: [Double], span: Double) -> [Double] {
        let forward = exponentialMovingAverage(values, span: span)
        return exponentialMovingAverage(forward.reversed(), span: span).reversed()
    }

    /// α = 2 / (span + 1), debiased at the start (as TensorBoard's smoothing is) so that the first values are
    /// not pulled towards zero.
    static func exponentialMovingAverage(_ values: [Double], span: Double) -> [Double] {
        let decay = 1 - 2 / (span + 1)
        var average = 0.0, weight = 0.0
        return values.map { value in
            guard value.isFinite else { return .nan }
            average = decay * average + (1 - decay) * value
            weight = decay * weight + (1 - decay)
            return average / weight
        }
    }

    // MARK: - Summary

    /// (label, value) rows of the summary table.
    public var summary: [(String, String)] {
        var rows: [(String, String)] = []
        let lastStep = metrics.rows.last.flatMap { $0["step"] }.map { Int($0) } ?? 0
        rows.append(("steps logged", "\(Self.grouped(lastStep)) (\(metrics.rows.count) \(metrics.rows.count == 1 ? "row" : "rows"))"))
        if let tokens = metrics.last("tokens_seen") { rows.append(("tokens seen", Self.count(tokens.value))) }
        if let loss = metrics.series("loss").last(where: { $0.value.isFinite }) {
            rows.append(("final train loss", "\(Self.number(loss.value)) at step \(Self.grouped(loss.step))"))
        }
        if let val = metrics.last("val_loss") {
            rows.append(("final val loss", "\(Self.number(val.value)) at step \(Self.grouped(val.step))"))
        }
        if let best = metrics.minimum("val_loss") {
            rows.append(("best val loss", "\(Self.number(best.value)) at step \(Self.grouped(best.step))"))
        }
        if let perplexity = metrics.last("val_ppl") { rows.append(("final val perplexity", Self.number(perplexity.value))) }
        if let bpb = metrics.last("val_bpb") {
            rows.append(("final val bits per byte", "\(Self.number(bpb.value)) at step \(Self.grouped(bpb.step))"))
        }
        if let best = metrics.minimum("val_bpb") {
            rows.append(("best val bits per byte", "\(Self.number(best.value)) at step \(Self.grouped(best.step))"))
        }
        for name in namedValidationMetrics {
            if let value = metrics.last(name) {
                rows.append(("final val loss, \(name.dropFirst("val_loss/".count))",
                             "\(Self.number(value.value)) at step \(Self.grouped(value.step))"))
            }
        }
        if let seconds = wallTime {
            rows.append(("wall time", (seconds.estimated ? "≈ " : "") + Self.duration(seconds.value)
                         + (seconds.estimated ? " (estimated from tokens and tokens/s)" : "")))
        }
        let throughput = metrics.series("tokens_per_s").map(\.value).filter { $0.isFinite && $0 > 0 }.sorted()
        if !throughput.isEmpty {
            rows.append(("median tokens / s", Self.count(throughput[throughput.count / 2])))
        }
        if let fraction = metrics.last("sparsity/fraction"), let masked = metrics.last("sparsity/masked_weights") {
            rows.append(("weight sparsity", String(format: "%g", 100 * fraction.value) + " % of the blocks' linear weights held at 0 "
                         + "(\(Self.grouped(Int(masked.value))) entries; SPDF)"))
        }
        if let dense = metrics.last("flops/dense"), let sparse = metrics.last("flops/sparse_equivalent") {
            rows.append(("training FLOPs (planned)", String(format: "%.3g as run (dense kernels); %.3g with a sparse kernel",
                                                            dense.value, sparse.value)))
        }
        let skipped = metrics.last("skipped_updates").map { Int($0.value) } ?? 0
        rows.append(("skipped updates", String(skipped)))
        if let latestCheckpoint { rows.append(("latest checkpoint", latestCheckpoint)) }
        if let machine { rows.append(("machine", machine)) }
        for branch in annealBranches {
            rows.append(("anneal branch \(branch.name)", branch.finalValLoss.map { "final val loss \(Self.number($0)) at step \(Self.grouped(branch.step))" }
                         ?? "no evaluation yet"))
        }
        return rows
    }

    /// Seconds the run took: the latest checkpoint's `elapsed_seconds` (training time, across resumes), else an
    /// `elapsed_s` column when the metrics have one, otherwise estimated as
    /// Σ Δtokens_seen / tokens_per_s over consecutive rows (tokens_per_s is measured over the wall time since
    /// the previous row, so this misses only what came before the first row and after the last).
    var wallTime: (value: Double, estimated: Bool)? {
        if let elapsedSeconds, elapsedSeconds > 0 { return (elapsedSeconds, false) }   // the trainer's own clock
        if let elapsed = metrics.last("elapsed_s") { return (elapsed.value, false) }
        var seconds = 0.0, previousTokens = 0.0, counted = false
        for row in metrics.rows {
            guard let tokens = row["tokens_seen"] else { continue }
            if let rate = row["tokens_per_s"], rate > 0, rate.isFinite, tokens > previousTokens {
                seconds += (tokens - previousTokens) / rate
                counted = true
            }
            previousTokens = tokens
        }
        return counted ? (seconds, true) : nil
    }

    // MARK: - HTML

    public func html(generatedAt date: Date = Date()) -> String {
        let escape = SVGPlot.escapeMarkup
        let name = runDirectory.standardizedFileURL.lastPathComponent
        let formatter = ISO8601DateFormatter()
        var page = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escape(name)) · pretrain report</title>
        <style>
        body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #222;
               margin: 24px auto; max-width: 1180px; padding: 0 16px; line-height: 1.4; }
        h1 { font-size: 22px; margin: 0 0 4px; }
        h2 { font-size: 17px; margin: 28px 0 10px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
        .meta { color: #666; font-size: 13px; }
        .warning { background: #fff4e0; border: 1px solid #e6b35c; padding: 6px 10px; border-radius: 4px; }
        table.summary { border-collapse: collapse; font-size: 14px; }
        table.summary td { padding: 3px 14px 3px 0; border-bottom: 1px solid #eee; vertical-align: top; }
        table.summary td:first-child { color: #555; }
        table.summary td:last-child { font-variant-numeric: tabular-nums; }
        .plots { display: flex; flex-wrap: wrap; gap: 16px; }
        .plots svg { border: 1px solid #ddd; border-radius: 4px; max-width: 100%; height: auto; }
        pre { background: #f7f7f7; border: 1px solid #ddd; border-radius: 4px; padding: 10px; font-size: 13px;
              overflow-x: auto; }
        </style>
        </head>
        <body>
        <h1>\(escape(name))</h1>
        <div class="meta">\(escape(runDirectory.standardizedFileURL.path)) · report written \(escape(formatter.string(from: date)))</div>

        """
        if metrics.ignoredIncompleteLastLine {
            page += "<p class=\"warning\">The last line of metrics.jsonl is incomplete (the run is still writing it) and was left out.</p>\n"
        }
        page += "<h2>Summary</h2>\n<table class=\"summary\">\n"
        for (label, value) in summary {
            page += "<tr><td>\(escape(label))</td><td>\(escape(value))</td></tr>\n"
        }
        page += "</table>\n<h2>Curves</h2>\n<div class=\"plots\">\n"
        for plot in plots { page += plot.render(standalone: false) }
        page += "</div>\n" + stabilityGapHTML() + "<h2>Recipe</h2>\n"
        if let recipe {
            page += "<pre>\(escape(recipe))</pre>\n"
        } else {
            page += "<p class=\"meta\">No recipe.yaml in the run directory.</p>\n"
        }
        page += "</body>\n</html>\n"
        return page
    }

    // MARK: - Number formatting

    static func number(_ value: Double) -> String {
        guard value.isFinite else { return String(value) }
        switch abs(value) {
        case 1000...: return grouped(Int(value.rounded()))
        case 100...: return String(format: "%.1f", value)
        case 10...: return String(format: "%.2f", value)
        default: return String(format: "%.4f", value)
        }
    }

    static func grouped(_ value: Int) -> String {
        let digits = String(abs(value))
        var result = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { result += "," }
            result.append(digit)
        }
        return (value < 0 ? "-" : "") + result
    }

    /// 1.23M, 45.6k, 980.
    static func count(_ value: Double) -> String {
        switch abs(value) {
        case 1e9...: return String(format: "%.2fG", value / 1e9)
        case 1e6...: return String(format: "%.2fM", value / 1e6)
        case 1e4...: return String(format: "%.1fk", value / 1e3)
        default: return String(format: "%.0f", value)
        }
    }

    static func duration(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        let hours = total / 3600, minutes = total % 3600 / 60, rest = total % 60
        if hours > 0 { return "\(hours) h \(minutes) min" }
        if minutes > 0 { return "\(minutes) min \(rest) s" }
        return "\(rest) s"
    }
}
