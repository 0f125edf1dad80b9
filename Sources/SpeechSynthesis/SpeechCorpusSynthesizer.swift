import FileErrors
import Foundation

/// `pretrain data synth-speech`: plans the corpus from the seed, renders the utterances on `jobs` workers (each
/// running espeak-ng and sox processes), skips utterances already complete in the directory, and writes
/// manifest.jsonl, phonemes.txt and corpus.json. The output does not depend on `jobs`.
public struct SpeechCorpusSynthesizer {
    public var options: SynthesisOptions
    public var textDirectory: URL
    public var jobs = 2
    /// Recorded in corpus.json.
    public var commandLine: [String] = []
    /// Where to look for espeak-ng and sox (PATH when nil).
    public var searchPath: String?
    public var log: (String) -> Void = { _ in }
    /// How far a subset has come: ("labelled", utterances rendered, utterances) from the render workers' threads,
    /// ("pretrain", hours rendered, hours) after each chunk.
    public var progress: @Sendable (_ phase: String, _ done: Double, _ total: Double) -> Void = { _, _, _ in }

    public init(options: SynthesisOptions, textDirectory: URL) {
        self.options = options
        self.textDirectory = textDirectory
    }

    /// What the audio in a directory depends on besides each utterance's path. Sizes and hours are not part of
    /// it: utterance `ks/train/yes/0003` is the same whatever the counts, so a corpus can grow on resume.
    struct Identity: Codable, Equatable {
        let seed: UInt64
        let speakerPool: Int
        let languages: [String]
        let pretrainOtherLanguages: Double
        let espeakNGVersion: String
        let soxVersion: String
        /// Absent (nil) in the default corpus, so its identity file is unchanged.
        var pretrainLanguage: String? = nil
        var prLanguage: String? = nil
    }

    @discardableResult
    public func run(into directory: URL) throws -> CorpusSummary {
        try options.validate()
        guard jobs >= 1 else { throw SynthesisError.badOption("--jobs must be at least 1, got \(jobs)") }
        let tools = try ExternalTools(searchPath: searchPath)
        try tools.checkLanguages(options.languages + SpeakerProfiles.englishAccents
            + [options.pretrainLanguage, options.prLanguage].compactMap { $0 })
        try prepare(directory)
        let texts = try ShakespeareLines(directory: textDirectory)
        try checkIdentity(Identity(seed: options.seed, speakerPool: options.speakerPool, languages: options.languages,
                                   pretrainOtherLanguages: options.pretrainOtherLanguages,
                                   espeakNGVersion: tools.espeakVersion, soxVersion: tools.soxVersion,
                                   pretrainLanguage: options.pretrainLanguage, prLanguage: options.prLanguage),
                          in: directory)

        let plan = CorpusPlan(options: options, texts: texts)
        let renderer = UtteranceRenderer(tools: tools, directory: directory)
        let labelled = plan.labelledUtterances()
        log("labelled subsets: \(labelled.count) utterances")
        var bySubset = Dictionary(grouping: try render(labelled, renderer, phase: "labelled"), by: \.subset)
        if options.subsets.contains("pretrain") {
            bySubset["pretrain"] = try renderPretraining(plan, renderer, directory: directory)
        }
        let entries = options.subsets.flatMap { bySubset[$0] ?? [] }

        try CorpusFiles.writeManifest(entries, to: directory.appendingPathComponent(CorpusFiles.manifest))
        let inventory = CorpusFiles.phonemeInventory(entries)
        try CorpusFiles.writeAtomically(Data(inventory.map { $0 + "\n" }.joined().utf8),
                                        to: directory.appendingPathComponent(CorpusFiles.phonemeInventory))
        let (total, subsets) = CorpusSummary.counts(entries)
        let summary = CorpusSummary(seed: options.seed, sampleRate: WAVFile.sampleRate, espeakNGVersion: tools.espeakVersion,
                                    soxVersion: tools.soxVersion, commandLine: commandLine, options: options,
                                    total: total, subsets: subsets, keywordClasses: WordLists.keywordClasses,
                                    speakers: plan.speakers, sidSpeakers: plan.sidSpeakers.map(\.id),
                                    phonemeInventorySize: inventory.count)
        try CorpusFiles.writeJSON(summary, to: directory.appendingPathComponent(CorpusFiles.summary))
        try? FileManager.default.removeItem(at: renderer.scratch)
        return summary
    }

    /// Creates the directory and proves it writable before any work starts.
    func prepare(_ directory: URL) throws {
        let probe = directory.appendingPathComponent(".write-check")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data("ok".utf8).write(to: probe)
            try FileManager.default.removeItem(at: probe)
        } catch {
            throw SynthesisError.unwritableOutput("cannot write to --out \(directory.path): \(FileError.reason(error, path: directory.path))")
        }
    }

    func checkIdentity(_ identity: Identity, in directory: URL) throws {
        let url = directory.appendingPathComponent(CorpusFiles.identity)
        if let data = try? Data(contentsOf: url) {
            guard let existing = try? JSONDecoder().decode(Identity.self, from: data) else {
                throw SynthesisError.badOption("\(url.path) is unreadable; delete the directory or choose another --out")
            }
            guard existing == identity else {
                let differences = zip(Mirror(reflecting: existing).children, Mirror(reflecting: identity).children)
                    .filter { "\($0.value)" != "\($1.value)" }
                    .map { "\($0.label ?? "?") \($0.value) there, \($1.value) here" }
                throw SynthesisError.badOption("\(directory.path) holds a corpus made with other settings ("
                    + differences.joined(separator: "; ") + "): resuming would mix them; choose another --out")
            }
            return
        }
        try CorpusFiles.writeJSON(identity, to: url)
    }

    /// The pre-training set grows in chunks until it holds `hours`; the utterances of the last chunk past the
    /// target are deleted again (as are any left from a larger earlier run), so the set ends where a one-job run
    /// would end it.
    func renderPretraining(_ plan: CorpusPlan, _ renderer: UtteranceRenderer, directory: URL) throws -> [ManifestEntry] {
        let target = options.hours * 3600
        var kept: [ManifestEntry] = [], seconds = 0.0, next = 0
        var reached = target <= 0
        while !reached {
            let average = kept.isEmpty ? 3.0 : seconds / Double(kept.count)
            let chunk = min(256, max(4 * jobs, Int((target - seconds) / average) + 1))
            let rendered = try render((next..<(next + chunk)).map(plan.pretrainUtterance), renderer)
            next += chunk
            for entry in rendered where !reached {
                kept.append(entry)
                seconds += entry.duration
                reached = seconds >= target
            }
            log(String(format: "pretrain: %d utterances, %.2f of %.2f hours", kept.count, seconds / 3600, options.hours))
            progress("pretrain", min(seconds, target) / 3600, options.hours)
        }
        var index = kept.count
        while true {   // surplus of the last chunk, or of an earlier run with more hours
            let url = directory.appendingPathComponent(plan.pretrainUtterance(index: index).path)
            guard FileManager.default.fileExists(atPath: url.path) else { break }
            try FileManager.default.removeItem(at: url)
            index += 1
        }
        return kept
    }

    /// Renders `specs` on `jobs` threads, each taking the next utterance in turn; results keep the order of `specs`.
    /// `phase` names them in `progress` (nil: not reported per utterance).
    func render(_ specs: [UtteranceSpec], _ renderer: UtteranceRenderer, phase: String? = nil) throws -> [ManifestEntry] {
        let queue = RenderQueue(count: specs.count)
        let finished = DispatchGroup()
        let (seed, log, progress) = (options.seed, log, progress)
        for _ in 0..<min(jobs, max(specs.count, 1)) {
            finished.enter()
            Thread.detachNewThread {
                defer { finished.leave() }
                while let index = queue.take() {
                    do {
                        let entry = try renderer.render(specs[index], seed: seed)
                        if let done = queue.finish(index, entry) {
                            if done % 500 == 0 { log("rendered \(done) of \(specs.count)") }
                            if let phase { progress(phase, Double(done), Double(specs.count)) }
                        }
                    } catch {
                        queue.fail(error)
                    }
                }
            }
        }
        finished.wait()
        return try queue.results()
    }
}

/// The shared state of the render workers, behind one lock: the next utterance to take, the entries, the first error.
final class RenderQueue: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0, done = 0
    private var entries: [ManifestEntry?]
    private var firstError: Error?

    init(count: Int) { entries = Array(repeating: nil, count: count) }

    /// The next index to render, or nil when all are taken or one has failed.
    func take() -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard next < entries.count, firstError == nil else { return nil }
        next += 1
        return next - 1
    }

    /// Stores an entry; returns how many are done.
    func finish(_ index: Int, _ entry: ManifestEntry) -> Int? {
        lock.lock(); defer { lock.unlock() }
        entries[index] = entry
        done += 1
        return done
    }

    func fail(_ error: Error) {
        lock.lock(); defer { lock.unlock() }
        if firstError == nil { firstError = error }
    }

    func results() throws -> [ManifestEntry] {
        lock.lock(); defer { lock.unlock() }
        if let firstError { throw firstError }
        return entries.map { $0! }
    }
}
