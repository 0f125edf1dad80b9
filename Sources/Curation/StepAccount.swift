import Foundation

/// What one step did to the documents that reached it: counted in total and per `meta.source`.
public struct StepCounts: Equatable, Sendable {
    public var documentsIn = 0
    public var documentsKept = 0
    /// Documents kept with a changed text.
    public var documentsChanged = 0
    /// UTF-8 bytes of the texts that came in, and of the kept texts as they left.
    public var bytesIn = 0
    public var bytesOut = 0
    /// Dropped documents by reason key.
    public var dropped: [String: Int] = [:]

    public init() {}
    public var documentsDropped: Int { documentsIn - documentsKept }

    var json: MetaValue {
        .object([
            "documents_in": .number(Double(documentsIn)), "documents_kept": .number(Double(documentsKept)),
            "documents_changed": .number(Double(documentsChanged)), "documents_dropped": .number(Double(documentsDropped)),
            "bytes_in": .number(Double(bytesIn)), "bytes_out": .number(Double(bytesOut)),
            "dropped": .object(dropped.mapValues { .number(Double($0)) }),
        ])
    }
}

/// The accounting of one step of a run.
public struct StepAccount: Sendable {
    public let kind: String
    /// The step's position in the pipeline, from 0.
    public let position: Int
    public var total = StepCounts()
    public var bySource: [String: StepCounts] = [:]
    /// Up to `maxExamples` details of dropped documents per reason ("hamlet.txt line 3: quality: …").
    public var examples: [String: [String]] = [:]
    /// Time in the step (its corpus pass included), seconds.
    public var seconds = 0.0

    static let maxExamples = 3

    init(kind: String, position: Int) { (self.kind, self.position) = (kind, position) }

    mutating func record(source: String, bytesIn: Int, verdict: StepVerdict, document: CurationDocument, changed: Bool) {
        var counts = bySource[source] ?? StepCounts()
        for index in 0..<2 {
            var target = index == 0 ? total : counts
            target.documentsIn += 1
            target.bytesIn += bytesIn
            switch verdict {
            case .keep:
                target.documentsKept += 1
                target.bytesOut += document.text.utf8.count
                if changed { target.documentsChanged += 1 }
            case .drop(let reason):
                target.dropped[reason.key, default: 0] += 1
            }
            if index == 0 { total = target } else { counts = target }
        }
        bySource[source] = counts
        if case .drop(let reason) = verdict, examples[reason.key, default: []].count < Self.maxExamples {
            examples[reason.key, default: []].append("\(document.origin): \(reason.detail)")
        }
    }

    var json: MetaValue {
        var object: [String: MetaValue] = ["kind": .string(kind), "position": .number(Double(position))]
        if case .object(let counts) = total.json { object.merge(counts) { $1 } }
        object["by_source"] = .object(bySource.mapValues(\.json))
        object["examples"] = .object(examples.mapValues { .array($0.map(MetaValue.string)) })
        return .object(object)
    }
}
