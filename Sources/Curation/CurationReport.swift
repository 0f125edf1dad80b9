import Foundation

/// report.html: one self-contained page (inline CSS and SVG, no JavaScript) — the totals, the funnel per step with
/// drop reasons and examples, the funnel per source, and a histogram of each numeric meta value (word counts, mean
/// word length, scores), kept and dropped documents stacked.
public struct CurationReport {
    public let summary: CurationSummary
    public let histograms: MetaHistograms
    static let bins = 30

    public init(summary: CurationSummary, histograms: MetaHistograms) { (self.summary, self.histograms) = (summary, histograms) }

    public var html: String {
        var page = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>Curation report</title>
            <style>
            body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
            table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
            th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; vertical-align: top; }
            th { background: #f3f3f3; } td.text, th.text { text-align: left; }
            .histograms { display: flex; flex-wrap: wrap; gap: 1.5em; }
            figure { margin: 0; } figcaption { font-size: 0.85em; }
            .kept { fill: #3b73b9; } .dropped { fill: #e3923a; }
            </style></head><body>
            <h1>Curation report</h1>

            """
        let input = summary.input
        let inputBytes = summary.inputBySource.values.reduce(0) { $0 + $1.bytes }
        page += "<p>Pipeline <code>\(escape(summary.pipeline))</code>: \(input.files) files, \(input.documents) documents "
            + "(\(megabytes(inputBytes)) MB of text) in; \(summary.outputDocuments) documents (\(megabytes(summary.outputBytes)) MB) kept, "
            + "\(percent(summary.outputDocuments, input.documents)) of documents and \(percent(summary.outputBytes, inputBytes)) of bytes"
            + (input.badLines > 0 ? "; \(input.badLines) bad lines skipped" : "") + String(format: "; %.1f s.</p>\n", summary.seconds)
        page += stepTable() + sourceTable()
        page += "<h2>Meta values</h2>\n<p>Documents at the end of their way: <svg width=\"10\" height=\"10\"><rect class=\"kept\" "
            + "width=\"10\" height=\"10\"/></svg> kept, <svg width=\"10\" height=\"10\"><rect class=\"dropped\" width=\"10\" "
            + "height=\"10\"/></svg> dropped (with the values the dropping step left).</p>\n<div class=\"histograms\">\n"
        for key in histograms.keys { page += histogram(key) }
        page += "</div>\n</body></html>\n"
        return page
    }

    private func stepTable() -> String {
        var html = "<h2>Steps</h2>\n<table><tr><th>#</th><th class=\"text\">step</th><th>in</th><th>kept</th><th>dropped</th>"
            + "<th>changed</th><th>kept of input</th><th>MB in</th><th>MB out</th><th>s</th><th class=\"text\">dropped by reason</th></tr>\n"
        for step in summary.steps {
            let counts = step.total
            let reasons = counts.dropped.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map { reason in
                let examples = (step.examples[reason.key] ?? []).map { "<li>\(escape($0))</li>" }.joined()
                return "<details><summary>\(escape(reason.key)): \(reason.value)</summary><ul>\(examples)</ul></details>"
            }.joined()
            html += "<tr><td>\(step.position)</td><td class=\"text\">\(escape(step.kind))</td><td>\(counts.documentsIn)</td>"
                + "<td>\(counts.documentsKept)</td><td>\(counts.documentsDropped)</td><td>\(counts.documentsChanged)</td>"
                + "<td>\(percent(counts.documentsKept, summary.input.documents))</td><td>\(megabytes(counts.bytesIn))</td>"
                + "<td>\(megabytes(counts.bytesOut))</td><td>\(String(format: "%.2f", step.seconds))</td>"
                + "<td class=\"text\">\(reasons)</td></tr>\n"
        }
        return html + "</table>\n"
    }

    private func sourceTable() -> String {
        var html = "<h2>Sources</h2>\n<p>Documents left after each step.</p>\n<table><tr><th class=\"text\">source</th><th>input</th>"
        html += summary.steps.map { "<th>\($0.position) \(escape($0.kind))</th>" }.joined() + "<th>kept</th></tr>\n"
        for source in summary.sources {
            let read = summary.inputBySource[source]?.documents ?? 0
            html += "<tr><td class=\"text\">\(escape(source))</td><td>\(read)</td>"
            var left = read
            for step in summary.steps {
                left -= step.bySource[source]?.documentsDropped ?? 0
                html += "<td>\(left)</td>"
            }
            html += "<td>\(percent(left, read))</td></tr>\n"
        }
        return html + "</table>\n"
    }

    /// An SVG histogram of one meta key: `bins` equal bins from the smallest to the largest value, stacked bars.
    private func histogram(_ key: String) -> String {
        let kept = histograms.kept[key] ?? MetaHistograms.Sample(key: key)
        let dropped = histograms.dropped[key] ?? MetaHistograms.Sample(key: key)
        let all = kept.values + dropped.values
        guard let low = all.min(), let high = all.max() else { return "" }
        let bins = low == high ? 1 : Self.bins
        func bin(_ value: Double) -> Int { low == high ? 0 : min(bins - 1, Int((value - low) / (high - low) * Double(bins))) }
        // A sampled side's bars are scaled back to the documents it stands for.
        let keptScale = kept.values.isEmpty ? 0 : Double(kept.seen) / Double(kept.values.count)
        let droppedScale = dropped.values.isEmpty ? 0 : Double(dropped.seen) / Double(dropped.values.count)
        var keptCounts = [Double](repeating: 0, count: bins), droppedCounts = keptCounts
        for value in kept.values { keptCounts[bin(value)] += keptScale }
        for value in dropped.values { droppedCounts[bin(value)] += droppedScale }
        let tallest = zip(keptCounts, droppedCounts).map { $0 + $1 }.max() ?? 1
        let (width, height, left, bottom) = (360.0, 120.0, 40.0, 20.0)
        let barWidth = width / Double(bins)
        var svg = "<svg width=\"\(Int(width + left + 10))\" height=\"\(Int(height + bottom + 10))\" xmlns=\"http://www.w3.org/2000/svg\" "
            + "font-size=\"10\">"
        for index in 0..<bins {
            let x = left + Double(index) * barWidth
            let keptHeight = keptCounts[index] / tallest * height, droppedHeight = droppedCounts[index] / tallest * height
            let range = "\(format(low + (high - low) * Double(index) / Double(bins)))–\(format(low + (high - low) * Double(index + 1) / Double(bins)))"
            func bar(_ kind: String, _ top: Double, _ barHeight: Double, _ count: Double) -> String {
                String(format: "<rect class=\"\(kind)\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\">", x, top, barWidth - 1, barHeight)
                    + "<title>\(range): \(Int(count.rounded())) \(kind)</title></rect>"
            }
            if keptHeight > 0 { svg += bar("kept", 5 + height - keptHeight, keptHeight, keptCounts[index]) }
            if droppedHeight > 0 { svg += bar("dropped", 5 + height - keptHeight - droppedHeight, droppedHeight, droppedCounts[index]) }
        }
        svg += "<line x1=\"\(left)\" y1=\"\(5 + height)\" x2=\"\(left + width)\" y2=\"\(5 + height)\" stroke=\"#444\"/>"
        svg += "<text x=\"\(left)\" y=\"\(height + bottom + 3)\">\(format(low))</text>"
        svg += "<text x=\"\(left + width)\" y=\"\(height + bottom + 3)\" text-anchor=\"end\">\(format(high))</text>"
        svg += "<text x=\"\(left - 4)\" y=\"12\" text-anchor=\"end\">\(Int(tallest.rounded()))</text>"
        svg += "<text x=\"\(left - 4)\" y=\"\(5 + height)\" text-anchor=\"end\">0</text></svg>"
        let sampled = kept.seen > kept.values.count || dropped.seen > dropped.values.count
        let caption = "\(escape(key)): \(kept.seen) kept, \(dropped.seen) dropped" + (sampled ? " (bars from a sample)" : "")
        return "<figure>\(svg)<figcaption>\(caption)</figcaption></figure>\n"
    }

    private func megabytes(_ bytes: Int) -> String { String(format: "%.2f", Double(bytes) / 1e6) }
    private func percent(_ part: Int, _ whole: Int) -> String { whole == 0 ? "–" : String(format: "%.1f %%", 100 * Double(part) / Double(whole)) }
}

/// Text for HTML: &, <, > and quotes escaped.
func escape(_ text: String) -> String {
    var result = ""
    result.reserveCapacity(text.utf8.count)
    for character in text {
        switch character {
        case "&": result += "&amp;"
        case "<": result += "&lt;"
        case ">": result += "&gt;"
        case "\"": result += "&quot;"
        default: result.append(character)
        }
    }
    return result
}
