import Foundation

/// A line plot rendered to SVG with no dependencies: axes with "nice" ticks (1, 2, 5 × 10ᵏ), grid lines,
/// axis labels, a legend, linear or logarithmic scales, optional point markers (with hover titles).
/// Non-finite points break a line rather than ending the plot. Used by `pretrain report`; meant to be reused
/// for any study that needs a figure (write it with `write(to:)`, or embed `render(standalone: false)` in HTML).
public struct SVGPlot {
    public enum Scale { case linear, logarithmic }
    public enum LineStyle { case solid, dashed, dotted }

    public struct Series {
        public var name: String
        public var points: [(x: Double, y: Double)]
        /// Any CSS colour; nil takes the next colour of `SVGPlot.palette`.
        public var color: String?
        /// nil draws markers only.
        public var lineStyle: LineStyle?
        public var lineWidth: Double
        public var opacity: Double
        public var markers: Bool
        public var showInLegend: Bool

        public init(_ name: String, points: [(x: Double, y: Double)], color: String? = nil,
                    lineStyle: LineStyle? = .solid, lineWidth: Double = 1.8, opacity: Double = 1,
                    markers: Bool = false, showInLegend: Bool = true) {
            self.name = name
            self.points = points
            self.color = color
            self.lineStyle = lineStyle
            self.lineWidth = lineWidth
            self.opacity = opacity
            self.markers = markers
            self.showInLegend = showInLegend
        }
    }

    /// Colour-blind-safe (Okabe–Ito order, black left out).
    public static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#555555"]

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    public var width: Double = 560
    public var height: Double = 340
    public var xScale: Scale = .linear
    public var yScale: Scale = .linear
    /// Fixed axis ranges; nil fits the data.
    public var xRange: ClosedRange<Double>?
    public var yRange: ClosedRange<Double>?
    /// Extends a fitted linear y range to 0, for rates whose noise would otherwise fill the plot.
    public var yIncludesZero = false
    /// Prefix of the element ids (the clip path); must be unique among the plots of one HTML page.
    public var id: String = "plot"
    /// Dashed vertical lines across the frame with a label at the top (events: a data switch, a phase boundary).
    public var verticalLines: [(x: Double, label: String)] = []

    public init(title: String, xLabel: String, yLabel: String, series: [Series] = []) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
    }

    /// A standalone SVG document (with XML namespace), or an `<svg>` element for inline HTML.
    public func render(standalone: Bool = true) -> String {
        let escape = Self.escapeMarkup
        let fontSize = 12.0
        let charWidth = 6.8   // average advance of a 12 px sans-serif character, for layout estimates
        let x = Axis(scale: xScale, values: series.flatMap { $0.points.map(\.x) }, fixed: xRange,
                     tickCount: max(2, Int(width / 100)), snapToTicks: false)
        let y = Axis(scale: yScale, values: series.flatMap { $0.points.map(\.y) } + (yIncludesZero ? [0] : []), fixed: yRange,
                     tickCount: max(2, Int(height / 55)), snapToTicks: true)

        // Legend entries flow left to right under the title and wrap.
        let legendSeries = series.enumerated().filter { $0.element.showInLegend }
        var legendItems: [(index: Int, x: Double, row: Int)] = []
        var rowWidths: [Double] = []
        let gap = 18.0
        for (index, entry) in legendSeries {
            let itemWidth = 26 + Double(entry.name.count) * charWidth
            if rowWidths.isEmpty || rowWidths[rowWidths.count - 1] + gap + itemWidth > width - 24 {
                rowWidths.append(-gap)
            }
            let x = rowWidths[rowWidths.count - 1] + gap
            legendItems.append((index, x, rowWidths.count - 1))
            rowWidths[rowWidths.count - 1] = x + itemWidth
        }
        let legendRows = rowWidths.count
        let yLabels = y.ticks.map { y.label($0) }
        let left = 22 + Double(yLabels.map(\.count).max() ?? 1) * charWidth + 10
        let top = 30 + Double(legendRows) * 18 + 8
        let right = 18.0, bottom = 48.0
        let plotWidth = max(10, width - left - right), plotHeight = max(10, height - top - bottom)
        func px(_ value: Double) -> Double { left + x.fraction(value) * plotWidth }
        func py(_ value: Double) -> Double { top + (1 - y.fraction(value)) * plotHeight }

        var svg = ""
        let namespace = standalone ? " xmlns=\"http://www.w3.org/2000/svg\"" : ""
        if standalone { svg += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" }
        svg += "<svg\(namespace) width=\"\(f(width))\" height=\"\(f(height))\" viewBox=\"0 0 \(f(width)) \(f(height))\" "
        svg += "font-family=\"system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif\" font-size=\"\(f(fontSize))\" role=\"img\">\n"
        svg += "<title>\(escape(title))</title>\n"
        svg += "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n"
        svg += "<defs><clipPath id=\"\(id)-clip\"><rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotWidth))\" height=\"\(f(plotHeight))\"/></clipPath></defs>\n"
        svg += "<text x=\"\(f(width / 2))\" y=\"20\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"600\" fill=\"#222\">\(escape(title))</text>\n"

        // Grid and ticks.
        svg += "<g stroke=\"#e6e6e6\" stroke-width=\"1\">\n"
        for tick in x.ticks { svg += "<line x1=\"\(f(px(tick)))\" y1=\"\(f(top))\" x2=\"\(f(px(tick)))\" y2=\"\(f(top + plotHeight))\"/>\n" }
        for tick in y.ticks { svg += "<line x1=\"\(f(left))\" y1=\"\(f(py(tick)))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(py(tick)))\"/>\n" }
        svg += "</g>\n"
        svg += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotWidth))\" height=\"\(f(plotHeight))\" fill=\"none\" stroke=\"#888\" stroke-width=\"1\"/>\n"
        svg += "<g fill=\"#444\">\n"
        for tick in x.ticks {
            svg += "<line x1=\"\(f(px(tick)))\" y1=\"\(f(top + plotHeight))\" x2=\"\(f(px(tick)))\" y2=\"\(f(top + plotHeight + 5))\" stroke=\"#888\"/>"
            svg += "<text x=\"\(f(px(tick)))\" y=\"\(f(top + plotHeight + 18))\" text-anchor=\"middle\">\(escape(x.label(tick)))</text>\n"
        }
        for (tick, label) in zip(y.ticks, yLabels) {
            svg += "<line x1=\"\(f(left - 5))\" y1=\"\(f(py(tick)))\" x2=\"\(f(left))\" y2=\"\(f(py(tick)))\" stroke=\"#888\"/>"
            svg += "<text x=\"\(f(left - 8))\" y=\"\(f(py(tick) + 4))\" text-anchor=\"end\">\(escape(label))</text>\n"
        }
        svg += "</g>\n"
        svg += "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(height - 8))\" text-anchor=\"middle\" fill=\"#222\">\(escape(xLabel))</text>\n"
        svg += "<text transform=\"translate(14 \(f(top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\" fill=\"#222\">\(escape(yLabel))</text>\n"

        for line in verticalLines where x.accepts(line.x) && x.fraction(line.x) >= 0 && x.fraction(line.x) <= 1 {
            svg += "<line x1=\"\(f(px(line.x)))\" y1=\"\(f(top))\" x2=\"\(f(px(line.x)))\" y2=\"\(f(top + plotHeight))\" "
            svg += "stroke=\"#777\" stroke-width=\"1\" stroke-dasharray=\"4 3\"><title>\(escape(line.label))</title></line>"
            svg += "<text x=\"\(f(px(line.x) + 3))\" y=\"\(f(top + 11))\" font-size=\"10\" fill=\"#555\">\(escape(line.label))</text>\n"
        }

        // Data.
        let hasData = series.contains { $0.points.contains { x.accepts($0.x) && y.accepts($0.y) } }
        if !hasData {
            svg += "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(top + plotHeight / 2))\" text-anchor=\"middle\" fill=\"#999\">no data</text>\n"
        }
        svg += "<g clip-path=\"url(#\(id)-clip)\" fill=\"none\" stroke-linejoin=\"round\" stroke-linecap=\"round\">\n"
        for (index, entry) in series.enumerated() {
            let color = escape(entry.color ?? Self.palette[index % Self.palette.count])
            let points = entry.points.map { point -> (Double, Double)? in
                x.accepts(point.x) && y.accepts(point.y) ? (px(point.x), py(point.y)) : nil
            }
            if let style = entry.lineStyle {
                let path = Self.pathData(Self.thinned(points, columns: Int(plotWidth)))
                if !path.isEmpty {
                    svg += "<path d=\"\(path)\" stroke=\"\(color)\" stroke-width=\"\(f(entry.lineWidth))\""
                    if entry.opacity < 1 { svg += " stroke-opacity=\"\(f(entry.opacity))\"" }
                    svg += Self.dashAttribute(style, width: entry.lineWidth) + "/>\n"
                }
            }
        }
        svg += "</g>\n"
        // Markers are not clipped (a point on the frame stays whole); those outside the frame are left out.
        for (index, entry) in series.enumerated() {
            let color = escape(entry.color ?? Self.palette[index % Self.palette.count])
            let lonePoints = entry.lineStyle != nil && entry.points.count == 1
            if entry.markers || entry.lineStyle == nil || lonePoints {
                svg += "<g fill=\"\(color)\" stroke=\"#ffffff\" stroke-width=\"0.8\">\n"
                for point in entry.points where x.accepts(point.x) && y.accepts(point.y) {
                    let (cx, cy) = (px(point.x), py(point.y))
                    guard cx >= left - 0.5, cx <= left + plotWidth + 0.5, cy >= top - 0.5, cy <= top + plotHeight + 0.5 else { continue }
                    svg += "<circle cx=\"\(f(cx))\" cy=\"\(f(cy))\" r=\"3\"><title>\(escape(entry.name)): "
                    svg += "\(escape(x.valueLabel(point.x))), \(escape(y.valueLabel(point.y)))</title></circle>\n"
                }
                svg += "</g>\n"
            }
        }

        // Legend.
        if !legendItems.isEmpty {
            svg += "<g fill=\"#222\">\n"
            for item in legendItems {
                let entry = series[item.index]
                let color = escape(entry.color ?? Self.palette[item.index % Self.palette.count])
                let originX = (width - rowWidths[item.row]) / 2 + item.x
                let originY = 38 + Double(item.row) * 18
                if let style = entry.lineStyle {
                    svg += "<line x1=\"\(f(originX))\" y1=\"\(f(originY))\" x2=\"\(f(originX + 20))\" y2=\"\(f(originY))\" stroke=\"\(color)\" stroke-width=\"\(f(max(entry.lineWidth, 2)))\""
                    if entry.opacity < 1 { svg += " stroke-opacity=\"\(f(max(entry.opacity, 0.5)))\"" }
                    svg += Self.dashAttribute(style, width: entry.lineWidth) + "/>"
                }
                if entry.markers || entry.lineStyle == nil {
                    svg += "<circle cx=\"\(f(originX + 10))\" cy=\"\(f(originY))\" r=\"3\" fill=\"\(color)\"/>"
                }
                svg += "<text x=\"\(f(originX + 26))\" y=\"\(f(originY + 4))\">\(escape(entry.name))</text>\n"
            }
            svg += "</g>\n"
        }
        svg += "</svg>\n"
        return svg
    }

    /// Writes the standalone SVG document.
    public func write(to url: URL) throws {
        try render(standalone: true).write(to: url, atomically: true, encoding: .utf8)
    }

    private static func dashAttribute(_ style: LineStyle, width: Double) -> String {
        switch style {
        case .solid: return ""
        case .dashed: return " stroke-dasharray=\"\(f(4 * width)) \(f(2.5 * width))\""
        case .dotted: return " stroke-dasharray=\"\(f(0.1)) \(f(2.5 * width))\""
        }
    }

    /// "M x y L x y …", a new subpath after each gap (nil).
    private static func pathData(_ points: [(Double, Double)?]) -> String {
        var path = "", penDown = false
        for point in points {
            guard let (x, y) = point else { penDown = false; continue }
            path += (penDown ? "L" : (path.isEmpty ? "M" : " M")) + f(x) + " " + f(y)
            penDown = true
        }
        return path
    }

    /// Long series (a run logged every step) keep, per pixel column, the first, lowest, highest and last
    /// point, in order: the drawn envelope is unchanged and the SVG stays small.
    static func thinned(_ points: [(Double, Double)?], columns: Int) -> [(Double, Double)?] {
        guard points.count > 4 * max(columns, 1) else { return points }
        var result: [(Double, Double)?] = []
        var bucket: [(Double, Double)] = []
        var bucketColumn = Int.min
        func emit() {
            guard let first = bucket.first, let last = bucket.last else { return }
            let low = bucket.min { $0.1 < $1.1 }!, high = bucket.max { $0.1 < $1.1 }!
            var kept = [first]
            for point in low.0 <= high.0 ? [low, high] : [high, low] where point != kept.last! { kept.append(point) }
            if last != kept.last! { kept.append(last) }
            result += kept.map { Optional($0) }
            bucket.removeAll(keepingCapacity: true)
        }
        for point in points {
            guard let point else { emit(); result.append(nil); bucketColumn = Int.min; continue }
            let column = Int(point.0.rounded(.down))
            if column != bucketColumn { emit(); bucketColumn = column }
            bucket.append(point)
        }
        emit()
        return result
    }
}

/// One axis: the data range (or a fixed one), its ticks and their labels.
struct SVGPlotAxis {
    let scale: SVGPlot.Scale
    let lower: Double
    let upper: Double
    let ticks: [Double]
    private let tickStep: Double

    init(scale: SVGPlot.Scale, values: [Double], fixed: ClosedRange<Double>?, tickCount: Int, snapToTicks: Bool) {
        self.scale = scale
        let usable = values.filter { $0.isFinite && (scale == .linear || $0 > 0) }
        var lower = fixed?.lowerBound ?? usable.min() ?? (scale == .linear ? 0 : 1)
        var upper = fixed?.upperBound ?? usable.max() ?? (scale == .linear ? 1 : 10)
        switch scale {
        case .linear:
            if upper <= lower {
                let pad = lower == 0 ? 1 : abs(lower) * 0.05
                lower -= pad
                upper += pad
            }
            var step = Self.niceStep((upper - lower) / Double(tickCount))
            // Counts (steps, skipped updates) get whole-number ticks.
            if step < 1 && !usable.isEmpty && usable.allSatisfy({ $0 == $0.rounded() }) { step = 1 }
            if snapToTicks && fixed == nil {
                lower = (lower / step).rounded(.down) * step
                upper = (upper / step).rounded(.up) * step
            }
            tickStep = step
            let first = (lower / step - 1e-9).rounded(.up)
            let last = (upper / step + 1e-9).rounded(.down)
            ticks = first <= last ? stride(from: first, through: last, by: 1).map { $0 * step == 0 ? 0 : $0 * step } : []
        case .logarithmic:
            lower = max(lower, Double.leastNormalMagnitude)
            if upper <= lower { lower /= 2; upper = lower * 4 }
            // A little headroom so that the extreme points do not sit on the frame.
            let span = log10(upper) - log10(lower)
            lower = pow(10, log10(lower) - span * 0.03)
            upper = pow(10, log10(upper) + span * 0.03)
            tickStep = 0
            var candidates: [Double] = []
            for multipliers in [[1.0], [1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]] {
                candidates = []
                for exponent in Int(log10(lower).rounded(.down))...Int(log10(upper).rounded(.up)) {
                    for multiplier in multipliers {
                        let tick = multiplier * pow(10, Double(exponent))
                        if tick >= lower * (1 - 1e-9) && tick <= upper * (1 + 1e-9) { candidates.append(tick) }
                    }
                }
                if candidates.count >= 3 { break }
            }
            if candidates.count > tickCount * 2 { candidates = candidates.filter { Self.isPowerOfTen($0) } }
            ticks = candidates
        }
        self.lower = lower
        self.upper = upper
    }

    func accepts(_ value: Double) -> Bool { value.isFinite && (scale == .linear || value > 0) }

    /// Position in [0, 1] along the axis (outside for values outside the range; the plot clips them).
    func fraction(_ value: Double) -> Double {
        switch scale {
        case .linear: return (value - lower) / (upper - lower)
        case .logarithmic: return (log10(value) - log10(lower)) / (log10(upper) - log10(lower))
        }
    }

    /// The label of a tick: as few digits as the tick spacing needs; k/M/G for large values, a power of
    /// ten for small ones (learning rates).
    func label(_ value: Double) -> String {
        if value == 0 { return "0" }
        if scale == .logarithmic { return Self.compact(value, significantDigits: 2) }
        let magnitude = max(abs(lower), abs(upper))
        if magnitude >= 1e4 {
            let (divisor, suffix) = magnitude >= 1e9 ? (1e9, "G") : magnitude >= 1e6 ? (1e6, "M") : (1e3, "k")
            return Self.fixed(value / divisor, decimals: Self.decimals(for: tickStep / divisor)) + suffix
        }
        if magnitude < 1e-2 { return Self.compact(value, significantDigits: 3) }
        return Self.fixed(value, decimals: Self.decimals(for: tickStep))
    }

    /// A data value for a hover title: a few significant digits more than the ticks show.
    func valueLabel(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e15 { return String(Int(value)) }
        return Self.compact(value, significantDigits: 5)
    }

    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let magnitude = pow(10, log10(raw).rounded(.down))
        let fraction = raw / magnitude
        let nice: Double = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10
        return nice * magnitude
    }

    static func decimals(for step: Double) -> Int {
        guard step > 0, step.isFinite else { return 0 }
        return max(0, Int(-(log10(step) + 1e-9).rounded(.down)))
    }

    static func isPowerOfTen(_ value: Double) -> Bool {
        let exponent = log10(value)
        return abs(exponent - exponent.rounded()) < 1e-9
    }

    static func fixed(_ value: Double, decimals: Int) -> String {
        String(format: "%.\(decimals)f", value)
    }

    /// 0.25, 1.5e-4, 3e+05 style: trailing zeros dropped, exponent only when the plain form is long.
    static func compact(_ value: Double, significantDigits: Int) -> String {
        let magnitude = abs(value)
        if magnitude >= 1e-3 && magnitude < 1e6 {
            var text = String(format: "%.\(significantDigits)g", value)
            if text.contains("e") { text = String(format: "%.\(max(0, significantDigits - 1 - Int(log10(magnitude).rounded(.down))))f", value) }
            return text
        }
        let exponent = Int(log10(magnitude).rounded(.down))
        var mantissa = String(format: "%.\(max(0, significantDigits - 1))f", value / pow(10, Double(exponent)))
        if mantissa.contains(".") {
            while mantissa.hasSuffix("0") { mantissa.removeLast() }
            if mantissa.hasSuffix(".") { mantissa.removeLast() }
        }
        return "\(mantissa)e\(exponent)"
    }
}

private typealias Axis = SVGPlotAxis

/// Coordinates to 0.1 px (plenty on screen), without a trailing ".0".
private func f(_ value: Double) -> String {
    let rounded = (value * 10).rounded() / 10
    if rounded == rounded.rounded() && abs(rounded) < 1e9 { return String(Int(rounded)) }
    return String(format: "%.1f", rounded)
}

extension SVGPlot {
    /// Text for XML or HTML content and attribute values.
    static func escapeMarkup(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
