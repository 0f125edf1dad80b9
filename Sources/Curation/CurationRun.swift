import FileErrors
import Foundation

/// `pretrain curate`: input documents through a pipeline into an output directory holding
/// - curated.jsonl: the kept documents, `{"meta":{…},"text":"…"}` with keys sorted (byte-identical for the same input
///   and pipeline);
/// - stats.json: per step, in total and per source, documents and bytes in and kept, dropped per reason, examples;
/// - report.html: the funnel per step and per source and histograms of numeric meta values (`CurationReport`);
/// - whatever the steps write (near_dup_clusters.jsonl);
/// - with `splitBy`, the kept documents also in by-<field>/<value>.jsonl, one file per value of that meta field
///   (a number or boolean as its JSON text, `_missing` without one): sources to tokenize with one tokenizer and
///   balance in a mixture (equal weights = equal tokens per value).
/// Everything is written into a temporary directory beside the output, renamed into place at the end: a failed run
/// leaves no output directory, and a finished one replaces an existing one only with `overwrite`.
public struct CurationRun {
    public var input: DocumentInput
    public var pipeline: CurationPipeline
    public var output: URL
    /// Replace an output directory that exists and is not empty (else that is an error).
    public var overwrite = false
    /// Progress lines (one per pass).
    public var log: (String) -> Void = { _ in }
    /// A meta field whose values split the kept documents into by-<field>/<value>.jsonl as well.
    public var splitBy: String?
    /// The most files a split may write: more distinct values is an error (a field such as a title is no bucket).
    public static let maximumSplitValues = 256

    public init(input: DocumentInput, pipeline: CurationPipeline, output: URL) {
        (self.input, self.pipeline, self.output) = (input, pipeline, output)
    }

    /// Runs the pipeline; see `CurationStep` for the passes.
    public func run() throws -> CurationSummary {
        try checkOutput()
        let parent = output.deletingLastPathComponent()
        try FileError.createDirectory(parent)
        let staging = parent.appendingPathComponent(".\(output.lastPathComponent).partial-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileError.createDirectory(staging)
        var finished = false
        defer { if !finished { try? FileManager.default.removeItem(at: staging) } }

        let start = DispatchTime.now().uptimeNanoseconds
        let tally = Tally(CurationSummary(pipeline: pipeline.file, steps: pipeline.steps.enumerated().map {
            StepAccount(kind: type(of: $0.element).kind, position: $0.offset)
        }))

        // Stages: the steps from one corpus-pass step (or the start) to the next.
        var stageStart = 0
        var spool: URL? = nil
        for position in pipeline.steps.indices where pipeline.steps[position].needsCorpusPass {
            let next = staging.appendingPathComponent("spool-\(position).bin")
            let writer = try DocumentSpool.Writer(next)
            let step = pipeline.steps[position]
            log("pass \(stageStart == 0 && spool == nil ? "over the input" : "over the spool"): steps \(stageStart)..<\(position), "
                + "then \(type(of: step).kind)'s corpus pass")
            try stream(from: spool, steps: stageStart..<position, tally: tally) { document in
                let before = DispatchTime.now().uptimeNanoseconds
                try step.observe(document)
                tally.summary.steps[position].seconds += Double(DispatchTime.now().uptimeNanoseconds - before) / 1e9
                try writer.write(document)
            }
            try writer.close()
            let before = DispatchTime.now().uptimeNanoseconds
            try step.finishObserving()
            tally.summary.steps[position].seconds += Double(DispatchTime.now().uptimeNanoseconds - before) / 1e9
            if let spool { try? FileManager.default.removeItem(at: spool) }
            (spool, stageStart) = (next, position)
        }
        log("pass over the \(spool == nil ? "input" : "spool"): steps \(stageStart)..<\(pipeline.steps.count), writing curated.jsonl")
        let curated = try BufferedFileWriter(staging.appendingPathComponent("curated.jsonl"))
        var split = try splitBy.map { try SplitWriters(field: $0, directory: staging) }
        try stream(from: spool, steps: stageStart..<pipeline.steps.count, tally: tally) { document in
            document.appendJSONLine(to: &curated.buffer)
            try curated.flushIfFull()
            try split?.write(document)
            tally.summary.outputDocuments += 1
            tally.summary.outputBytes += document.text.utf8.count
            tally.histograms.add(document, kept: true)
        }
        try curated.close()
        try split?.close()
        if let spool { try FileError.wrap("remove the spool", path: spool.path) { try FileManager.default.removeItem(at: spool) } }
        for step in pipeline.steps { try step.writeArtifacts(into: staging) }
        var summary = tally.summary
        summary.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9

        try write(summary.statsJSON.prettyJSON() + "\n", to: staging.appendingPathComponent("stats.json"))
        try write(CurationReport(summary: summary, histograms: tally.histograms).html, to: staging.appendingPathComponent("report.html"))
        try moveIntoPlace(staging)
        finished = true
        return summary
    }

    /// Documents from the input (`spool` nil, counted into the summary) or a spool, through `steps`; `keep` gets the
    /// survivors.
    private func stream(from spool: URL?, steps: Range<Int>, tally: Tally, keep: (CurationDocument) throws -> Void) throws {
        let stepList = Array(pipeline.steps[steps])
        func process(_ document: CurationDocument) throws {
            var document = document
            for (offset, step) in stepList.enumerated() {
                let source = document.source
                let bytesIn = document.text.utf8.count
                let before = DispatchTime.now().uptimeNanoseconds
                let original = document.text
                let verdict = try step.apply(to: &document)
                let changed = !sameBytes(document.text, original)
                tally.summary.steps[steps.lowerBound + offset].seconds += Double(DispatchTime.now().uptimeNanoseconds - before) / 1e9
                tally.summary.steps[steps.lowerBound + offset].record(source: source, bytesIn: bytesIn, verdict: verdict,
                                                                document: document, changed: changed)
                if case .drop = verdict {
                    tally.histograms.add(document, kept: false)
                    return
                }
            }
            try keep(document)
        }
        if let spool {
            try DocumentSpool.forEach(spool, process)
        } else {
            var perSource: [String: (documents: Int, bytes: Int)] = [:]
            let counts = try input.forEach { document in
                perSource[document.source, default: (0, 0)].documents += 1
                perSource[document.source, default: (0, 0)].bytes += document.text.utf8.count
                try process(document)
            }
            tally.summary.input = counts
            tally.summary.inputBySource = perSource
        }
    }

    /// Refuses an output path that is a file, or a non-empty directory without `overwrite`, before any work.
    private func checkOutput() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: output.path, isDirectory: &isDirectory) else { return }
        guard isDirectory.boolValue else {
            throw FileError(path: output.path, operation: "write the output directory", reason: "it already exists as a file")
        }
        let contents = (try? FileManager.default.contentsOfDirectory(atPath: output.path)) ?? []
        if !contents.isEmpty && !overwrite {
            throw CurationError("\(output.path): the output directory is not empty (use --overwrite to replace it)")
        }
    }

    private func write(_ text: String, to url: URL) throws {
        try FileError.wrap("write the file", path: url.path) { try Data(text.utf8).write(to: url) }
    }

    /// Renames the finished staging directory to `output`, replacing (after it is complete) any old one.
    private func moveIntoPlace(_ staging: URL) throws {
        let manager = FileManager.default
        var old: URL? = nil
        if manager.fileExists(atPath: output.path) {
            let aside = output.deletingLastPathComponent().appendingPathComponent(".\(output.lastPathComponent).old-\(getpid())")
            try FileError.wrap("move the old output aside", path: output.path) { try manager.moveItem(at: output, to: aside) }
            old = aside
        }
        try FileError.wrap("move the finished output into place", path: output.path) { try manager.moveItem(at: staging, to: output) }
        if let old { try? manager.removeItem(at: old) }
    }
}

/// The summary and histograms a run fills as documents go by (a class, so the passes' closures share it).
private final class Tally {
    var summary: CurationSummary
    var histograms = MetaHistograms()
    init(_ summary: CurationSummary) { self.summary = summary }
}

/// Whether two strings have the same UTF-8 bytes (String's == compares canonical equivalence, under which an NFC
/// change is no change).
func sameBytes(_ a: String, _ b: String) -> Bool {
    guard a.utf8.count == b.utf8.count else { return false }
    var (a, b) = (a, b)
    return a.withUTF8 { x in b.withUTF8 { y in x.count == 0 || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 } }
}

/// The files of `CurationRun.splitBy`: by-<field>/<value>.jsonl, opened as values appear.
struct SplitWriters {
    let field: String
    let directory: URL
    private var writers: [String: BufferedFileWriter] = [:]

    init(field: String, directory: URL) throws {
        self.field = field
        self.directory = directory.appendingPathComponent("by-" + Self.fileName(field))
        try FileError.createDirectory(self.directory)
    }

    /// A value as a file name: letters, digits, '-', '_' and '.' kept, every other byte as %XX; never empty or a dot.
    static func fileName(_ value: String) -> String {
        var name = ""
        for byte in value.utf8 {
            let scalar = Unicode.Scalar(byte)
            if byte < 0x80 && (scalar.properties.isAlphabetic || ("0"..."9").contains(Character(scalar)) || "-_.".unicodeScalars.contains(scalar)) {
                name.unicodeScalars.append(scalar)
            } else {
                name += String(format: "%%%02X", byte)
            }
        }
        return name.isEmpty || name.allSatisfy({ $0 == "." }) ? "_" + name : name
    }

    mutating func write(_ document: CurationDocument) throws {
        let value: String
        switch document.metaValue(field) {
        case .string(let text)?: value = text
        case nil, .null?: value = "_missing"
        case let other?: value = other.jsonText
        }
        let name = Self.fileName(value)
        if writers[name] == nil {
            guard writers.count < CurationRun.maximumSplitValues else {
                throw CurationError("--split-by \(field): more than \(CurationRun.maximumSplitValues) distinct values; "
                    + "split by a field with a few values (a source, a language, an age bucket)")
            }
            writers[name] = try BufferedFileWriter(directory.appendingPathComponent(name + ".jsonl"))
        }
        let writer = writers[name]!
        document.appendJSONLine(to: &writer.buffer)
        try writer.flushIfFull()
    }

    func close() throws {
        for name in writers.keys.sorted() { try writers[name]!.close() }
    }
}
