import Foundation

/// The accounting of a run: what was read, what each step did, what was written. stats.json is `statsJSON`.
public struct CurationSummary {
    public let pipeline: String
    public var input = DocumentInput.Counts()
    /// Documents and text bytes read per source.
    public var inputBySource: [String: (documents: Int, bytes: Int)] = [:]
    public var steps: [StepAccount]
    public var outputDocuments = 0
    public var outputBytes = 0
    public var seconds = 0.0

    init(pipeline: String, steps: [StepAccount]) { (self.pipeline, self.steps) = (pipeline, steps) }

    /// Sources in sorted order.
    public var sources: [String] { inputBySource.keys.sorted() }

    /// stats.json: deterministic (no times), keys sorted.
    public var statsJSON: MetaValue {
        var bySource: [String: MetaValue] = [:]
        for (source, counts) in inputBySource {
            bySource[source] = .object(["documents": .number(Double(counts.documents)), "bytes": .number(Double(counts.bytes))])
        }
        return .object([
            "pipeline": .string(pipeline),
            "input": .object([
                "files": .number(Double(input.files)), "documents": .number(Double(input.documents)),
                "file_bytes": .number(Double(input.bytes)), "bad_lines_skipped": .number(Double(input.badLines)),
                "bad_line_examples": .array(input.badLineExamples.map(MetaValue.string)), "by_source": .object(bySource),
            ]),
            "steps": .array(steps.map(\.json)),
            "output": .object(["documents": .number(Double(outputDocuments)), "bytes": .number(Double(outputBytes))]),
        ])
    }

    /// The table `pretrain curate` prints: one row per step.
    public var table: String {
        var rows = [["step", "kind", "in", "kept", "dropped", "MB in", "MB out", "s", "top reasons"]]
        for step in steps {
            let reasons = step.total.dropped.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.prefix(2)
                .map { "\($0.key) (\($0.value))" }.joined(separator: ", ")
            rows.append(["\(step.position)", step.kind, "\(step.total.documentsIn)", "\(step.total.documentsKept)",
                         "\(step.total.documentsDropped)", String(format: "%.2f", Double(step.total.bytesIn) / 1e6),
                         String(format: "%.2f", Double(step.total.bytesOut) / 1e6), String(format: "%.2f", step.seconds), reasons])
        }
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max()! }
        return rows.map { row in
            row.enumerated().map { column, cell in
                let pad = String(repeating: " ", count: widths[column] - cell.count)
                return column == row.count - 1 ? cell : (column <= 1 ? cell + pad : pad + cell)
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }
}
