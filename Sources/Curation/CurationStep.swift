import Foundation

// The seam of the pipeline: a step is one file that conforms to `CurationStep` and is registered by its kind
// (`CurationSteps.register(MyStep.self)`); the pipeline file names it (`- kind: my_step`) and the registry decodes its
// keys. Nothing lists the kinds but `CurationSteps.builtIn`, so a language identifier or a scorer that lives in a
// higher module (a perplexity scorer needs a model) is a new file that registers itself before the pipeline is read.
//
// Streaming and whole-corpus steps. A step sees one document at a time in `apply` and keeps it (possibly changed,
// meta filled) or drops it with a reason. A step that must see the corpus first (near-dedup's LSH index, boilerplate
// line counts, a top-percent filter's cut-off) says `needsCorpusPass`; the run then splits the pipeline before it:
// the steps up to it run over the stream, the survivors are both shown to its `observe` and written to a spool file,
// `finishObserving` builds what it needs, and the next pass reads the spool through it and the steps after it.
// So each step's `apply` sees each document once, in input order, exactly as a single pass would show it, and a
// pipeline with k such steps reads its input once and k spools; memory is whatever the steps keep per document
// (near_dedup: its MinHash signature).

/// What a step decided about a document.
public enum StepVerdict: Equatable {
    case keep
    case drop(DropReason)
}

/// Why a document was dropped: `key` is the category counted in stats.json and the report ("mean_word_length"),
/// `detail` the sentence for this document ("quality: mean word length 1.9 < 3").
public struct DropReason: Equatable {
    public let key: String
    public let detail: String
    public init(_ key: String, _ detail: String) { (self.key, self.detail) = (key, detail) }
}

/// One step of a curation pipeline; see the top of this file. Steps are classes: a run makes one instance, and
/// steps such as exact_dedup keep state between documents.
public protocol CurationStep: AnyObject {
    /// The name in the pipeline file (`- kind: near_dedup`).
    static var kind: String { get }
    /// The keys the step reads besides `kind`; any other key is an error that lists these.
    static var keys: [String] { get }
    /// Reads and checks the step's keys (`settings.double("threshold")`, …); a bad value throws `settings.problem`.
    init(settings: StepSettings) throws
    /// True when `observe` must see every document before the first `apply`.
    var needsCorpusPass: Bool { get }
    /// The whole-corpus pass: each document that reaches this step, in input order.
    func observe(_ document: CurationDocument) throws
    /// Called once after the last `observe`.
    func finishObserving() throws
    /// Keeps (changing `document` if it likes) or drops a document.
    func apply(to document: inout CurationDocument) throws -> StepVerdict
    /// Writes what the step has for people to inspect (near_dup_clusters.jsonl) into the run's output directory.
    func writeArtifacts(into directory: URL) throws
}

extension CurationStep {
    public var needsCorpusPass: Bool { false }
    public func observe(_ document: CurationDocument) throws {}
    public func finishObserving() throws {}
    public func writeArtifacts(into directory: URL) throws {}
}
