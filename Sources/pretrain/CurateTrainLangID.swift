import ArgumentParser
import Curation
import Foundation

/// `pretrain curate train-langid IN.jsonl... --out model.langid`: a character n-gram language identifier trained on
/// labelled JSONL documents, with each language's accuracy on a held-out part (chosen by a hash of the text).
struct CurateTrainLangID: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-langid",
        abstract: "Train a character n-gram language identifier on labelled JSONL and score it on held-out documents.")

    @Argument(help: "JSONL files of {\"text\": …, \"meta\": {\"lang\": …}} documents.") var inputs: [String]
    @Option(name: .customLong("label-field"), help: "The label's key, in meta or at the top level (meta.KEY: meta only).")
    var labelField = "lang"
    @Option(help: "The model file to write.") var out: String
    @Option(name: .customLong("held-out"), help: "The fraction of documents held out for scoring, in [0, 1).")
    var heldOut = 0.1
    @Option(name: .customLong("min-documents"), help: "Leave out labels with fewer documents than this.")
    var minDocuments = 0
    @Option(help: "Hash buckets of the n-grams (a power of two).") var buckets = LanguageIdentifier.Configuration().buckets
    @Option(name: .customLong("max-order"), help: "Longest character n-gram.")
    var maxOrder = LanguageIdentifier.Configuration().maxOrder
    @Option(help: "α of add-α smoothing.") var smoothing = LanguageIdentifier.Configuration().smoothing
    @Option(name: .customLong("show-mistakes"), help: "Print this many mistaken held-out documents (to audit the labels).")
    var showMistakes = 0

    func run() throws {
        var options = LanguageIdentifierTraining.Options()
        options.labelField = labelField
        options.heldOutFraction = heldOut
        options.minimumDocuments = minDocuments
        options.configuration = .init(buckets: buckets, maxOrder: maxOrder, smoothing: smoothing)
        if let problem = options.problem { throw ValidationError(problem) }

        let start = Date()
        let report = try LanguageIdentifierTraining.train(files: inputs.map { URL(fileURLWithPath: $0) }, options: options)
        let seconds = Date().timeIntervalSince(start)
        try report.model.write(to: URL(fileURLWithPath: out))
        print(report.table())
        for mistake in report.mistakes.prefix(max(0, showMistakes)) {
            let text = mistake.text.split(whereSeparator: \.isNewline).joined(separator: " ⏎ ")
            print("\(mistake.label) → \(mistake.predicted): \(text.prefix(100))")
        }
        print("\(report.model.labels.count) labels, trained and scored in \(String(format: "%.1f", seconds)) s; wrote \(out)")
    }
}
