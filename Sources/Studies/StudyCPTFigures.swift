import Foundation
import Training

/// The study's figures: per group, the downstream and the upstream val loss of its arms against the steps after
/// the switch (step 0 of every curve is the upstream checkpoint as loaded; the last point reads the whole split).
enum StudyCPTFigures {
    /// Writes cpt-GROUP-SET.svg files into `directory`; returns their names per group (groups without arms skipped).
    static func write(_ results: StudyCPTResults, into directory: URL) throws -> [(group: StudyCPTGroup, files: [String])] {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var written: [(StudyCPTGroup, [String])] = []
        for group in StudyCPTGroup.allCases {
            let arms = results.arms.filter { $0.groups.contains(group.rawValue) }
            guard !arms.isEmpty else { continue }
            var files: [String] = []
            for (set, title) in [("downstream", "downstream (First Folio)"), ("upstream", "upstream (modern spelling)")] {
                var plot = SVGPlot(title: "\(group.shortTitle): \(title) val loss", xLabel: "steps after the switch",
                                   yLabel: "val loss (nats/token)")
                plot.id = "cpt-\(group.rawValue)-\(set)"
                for (index, arm) in arms.enumerated() {
                    let curve = set == "downstream" ? arm.downstream : arm.upstream
                    plot.series.append(SVGPlot.Series(arm.label, points: zip(curve.steps, curve.losses).map { (Double($0), $1) },
                                                      color: SVGPlot.palette[index % SVGPlot.palette.count],
                                                      lineStyle: arm.name.hasSuffix("_anneal") ? .dashed : .solid,
                                                      markers: true))
                }
                plot.height = 380
                let name = "cpt-\(group.rawValue)-\(set).svg"
                try plot.write(to: directory.appendingPathComponent(name))
                files.append(name)
            }
            written.append((group, files))
        }
        return written
    }
}
