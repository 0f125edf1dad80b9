import Foundation

/// The rows of a run's metrics.jsonl as name → value, for plotting and summaries. Reading rows generically
/// (rather than as `MetricsRecord`) keeps per-source keys such as `val_loss/wiki` and any metric added later.
///
/// A run continued with `--resume` from a checkpoint older than its last logged step logs those steps again;
/// a row whose step is not after the previous row's supersedes the earlier rows from that step on (as
/// TensorBoard does on a restart), so every series is increasing in step.
public struct MetricsTable {
    public private(set) var rows: [[String: Double]]
    /// Set when the last line had no newline and did not parse: a run still writing it. It is skipped.
    public private(set) var ignoredIncompleteLastLine = false

    public enum ReadError: Error, CustomStringConvertible {
        case missing(path: String)
        case unreadable(path: String, reason: String)
        case empty(path: String)
        case corrupt(path: String, line: Int, reason: String)

        public var description: String {
            switch self {
            case .missing(let path): return "\(path): no such file (the trainer writes metrics.jsonl into the run directory)"
            case .unreadable(let path, let reason): return "\(path): cannot read: \(reason)"
            case .empty(let path): return "\(path): no metrics rows (the run has not logged a step yet)"
            case .corrupt(let path, let line, let reason): return "\(path):\(line): \(reason)"
            }
        }
    }

    /// Every row must have a "step".
    public init(rows: [[String: Double]]) {
        precondition(rows.allSatisfy { $0["step"] != nil }, "every metrics row needs a step")
        self.rows = []
        for row in rows { append(row) }
    }

    public init(contentsOf url: URL) throws {
        let path = url.path
        guard FileManager.default.fileExists(atPath: path) else { throw ReadError.missing(path: path) }
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw ReadError.unreadable(path: path, reason: "\(error)") }
        self.rows = []
        let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        let endsWithNewline = data.last == UInt8(ascii: "\n")
        for (index, line) in lines.enumerated() {
            let lineNumber = index + 1
            if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\t") }) {
                continue
            }
            do {
                append(try Self.parse(Data(line)))
            } catch let error as LineError {
                if index == lines.count - 1 && !endsWithNewline {
                    ignoredIncompleteLastLine = true
                    continue
                }
                throw ReadError.corrupt(path: path, line: lineNumber, reason: error.reason)
            }
        }
        if rows.isEmpty { throw ReadError.empty(path: path) }
    }

    /// One JSON object; numbers (and "NaN"/"Infinity" strings) are kept, null and other values are skipped.
    private static func parse(_ line: Data) throws -> [String: Double] {
        let fields: [String: JSONScalar]
        do {
            fields = try JSONDecoder().decode([String: JSONScalar].self, from: line)
        } catch DecodingError.typeMismatch {
            throw LineError("expected a JSON object")
        } catch {
            throw LineError("not valid JSON: \(String(decoding: line.prefix(80), as: UTF8.self))")
        }
        let row = fields.compactMapValues(\.number)
        guard let step = row["step"] else { throw LineError("row has no numeric \"step\"") }
        guard step.isFinite, step >= 0, step == step.rounded() else { throw LineError("\"step\" is not a whole number: \(step)") }
        return row
    }

    private mutating func append(_ row: [String: Double]) {
        if let step = row["step"], let last = rows.last?["step"], step <= last {
            rows.removeAll { $0["step"]! >= step }
        }
        rows.append(row)
    }

    /// Every metric name that occurs in some row, sorted.
    public var metricNames: [String] {
        Array(Set(rows.flatMap { $0.keys })).sorted()
    }

    /// (step, value) for each row that has the metric.
    public func series(_ name: String) -> [(step: Int, value: Double)] {
        rows.compactMap { row in row[name].map { (Int(row["step"]!), $0) } }
    }

    /// The metric in the last row that has it.
    public func last(_ name: String) -> (step: Int, value: Double)? {
        series(name).last
    }

    /// The row with the smallest finite value of the metric.
    public func minimum(_ name: String) -> (step: Int, value: Double)? {
        series(name).filter { $0.value.isFinite }.min { $0.value < $1.value }
    }
}

/// A value of a metrics row: a number, or something the report does not plot.
private struct JSONScalar: Decodable {
    let number: Double?

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() || (try? container.decode(Bool.self)) != nil {
            number = nil
        } else if let value = try? container.decode(Double.self) {
            number = value
        } else if let text = try? container.decode(String.self) {
            number = Double(text)
        } else {
            number = nil  // a nested array or object
        }
    }
}

/// Why one line of metrics.jsonl was rejected (becomes `ReadError.corrupt` with the file and line).
private struct LineError: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}

extension MetricsTable {
    /// A `MetricsRecord` under its metrics.jsonl keys; non-finite values are left out (the log writes them as null).
    public static func row(_ record: MetricsRecord) -> [String: Double] {
        var row: [String: Double] = ["step": Double(record.step)]
        var fields: [(String, Double?)] = [
            ("loss", record.loss), ("lr", record.lr), ("grad_norm", record.gradNorm),
            ("tokens_per_s", record.tokensPerSecond), ("tokens_seen", record.tokensSeen.map(Double.init)),
            ("skipped_updates", record.skippedUpdates.map(Double.init)), ("val_loss", record.valLoss),
            ("val_ppl", record.valPerplexity), ("val_bpb", record.valBitsPerByte),
        ]
        fields += record.namedValidationLosses.map { ("val_loss/" + $0.key, $0.value) }
        fields += record.sourceTokens.map { ("tokens_seen/" + $0.key, Double($0.value)) }
        fields += record.objectiveMetrics.map { (MetricsRecord.objectiveMetricsPrefix + $0.key, $0.value) }
        for case let (name, value?) in fields where value.isFinite { row[name] = value }
        return row
    }

    public init(records: [MetricsRecord]) {
        self.init(rows: records.map(Self.row))
    }
}
