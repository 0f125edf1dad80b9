import FileErrors
import Foundation

/// Trains a language identifier from labelled JSONL documents (`{"text": …, "meta": {"lang": …}}`) and scores it
/// on a held-out part: `pretrain curate train-langid`.
///
/// The held-out part is chosen by a hash of each document's text, so the split is the same on every run and
/// machine, and exact duplicates (common in collected corpora) land on the same side instead of being learnt and
/// then tested. Documents without a letter (ASCII art, numbers) have no n-grams to judge; they are counted and left
/// out of both parts.
public enum LanguageIdentifierTraining {
    public struct Options: Sendable {
        /// The label's key: looked up in `meta`, then at the top level; "meta.lang" looks in `meta` only.
        public var labelField = "lang"
        /// The fraction of documents held out for scoring, in [0, 1).
        public var heldOutFraction = 0.1
        /// Labels with fewer documents than this (both parts together) are left out of training and scoring.
        public var minimumDocuments = 0
        public var configuration = LanguageIdentifier.Configuration()

        public init() {}

        /// Why these options cannot train a model, or nil.
        public var problem: String? {
            if let problem = configuration.problem { return problem }
            if !(0..<1).contains(heldOutFraction) { return "the held-out fraction must be in [0, 1), got \(heldOutFraction)" }
            if minimumDocuments < 0 { return "the minimum number of documents must not be negative, got \(minimumDocuments)" }
            if labelField.isEmpty || labelField == "meta." { return "the label field is empty" }
            return nil
        }
    }

    /// Labelled texts that cannot train a model: none left, or more labels than a model holds.
    public struct TrainingError: Error, CustomStringConvertible {
        public let description: String
    }

    /// One label's held-out score.
    public struct LabelScore: Sendable {
        public let label: String
        public let trainingDocuments: Int
        public let heldOutDocuments: Int
        public let correct: Int
        /// The labels its held-out documents were mistaken for, most often first.
        public let confusions: [(label: String, count: Int)]

        /// nil when nothing of this label was held out.
        public var accuracy: Double? { heldOutDocuments == 0 ? nil : Double(correct) / Double(heldOutDocuments) }
    }

    public struct Report: Sendable {
        public let model: LanguageIdentifier
        /// One per label of the model, in its order.
        public let scores: [LabelScore]
        /// Labels below `minimumDocuments`, with their document counts.
        public let excluded: [(label: String, documents: Int)]
        /// Documents without a letter, left out.
        public let withoutLetters: Int
        /// The held-out documents the model got wrong, in input order: what a reader checks before trusting the
        /// labels (a "Polish" fortune may be an English quotation).
        public let mistakes: [(text: String, label: String, predicted: String)]

        public var heldOutDocuments: Int { scores.reduce(0) { $0 + $1.heldOutDocuments } }
        /// Correct held-out predictions over all held-out documents (nil when none was held out).
        public var accuracy: Double? {
            heldOutDocuments == 0 ? nil : Double(scores.reduce(0) { $0 + $1.correct }) / Double(heldOutDocuments)
        }
        /// The mean of the labels' accuracies, so that a small language counts as much as a large one.
        public var macroAccuracy: Double? {
            let accuracies = scores.compactMap(\.accuracy)
            return accuracies.isEmpty ? nil : accuracies.reduce(0, +) / Double(accuracies.count)
        }

        /// The per-label table with the confusions, as the command prints it.
        public func table() -> String {
            func percent(_ value: Double?) -> String { value.map { String(format: "%.1f %%", 100 * $0) } ?? "–" }
            let width = max(5, scores.map(\.label.count).max() ?? 0)
            func pad(_ text: String, _ count: Int, left: Bool = false) -> String {
                let padding = String(repeating: " ", count: max(0, count - text.count))
                return left ? text + padding : padding + text
            }
            var lines = [pad("label", width, left: true) + "    train  held-out   correct  accuracy  mistaken for"]
            for score in scores {
                let confused = score.confusions.prefix(3).map { "\($0.label) \($0.count)" }.joined(separator: ", ")
                lines.append(pad(score.label, width, left: true) + pad("\(score.trainingDocuments)", 9)
                             + pad("\(score.heldOutDocuments)", 10) + pad("\(score.correct)", 10)
                             + pad(percent(score.accuracy), 10) + "  " + (confused.isEmpty ? "–" : confused))
            }
            let training = scores.reduce(0) { $0 + $1.trainingDocuments }
            let correct = scores.reduce(0) { $0 + $1.correct }
            lines.append(pad("all", width, left: true) + pad("\(training)", 9) + pad("\(heldOutDocuments)", 10)
                         + pad("\(correct)", 10) + pad(percent(accuracy), 10) + "  (mean over labels \(percent(macroAccuracy)))")
            if !excluded.isEmpty {
                lines.append("left out (fewer documents than the minimum): "
                             + excluded.map { "\($0.label) \($0.documents)" }.joined(separator: ", "))
            }
            if withoutLetters > 0 { lines.append("left out (no letters): \(withoutLetters) documents") }
            return lines.joined(separator: "\n")
        }
    }

    /// True when `text` belongs to the held-out part: its 64-bit FNV-1a hash, as a fraction of 2⁶⁴, is below
    /// `fraction`.
    public static func isHeldOut(_ text: String, fraction: Double) -> Bool {
        Double(CharacterNGrams.fnv1a(text) >> 11) / Double(1 << 53) < fraction
    }

    /// Reads the files, trains on the documents outside the held-out part and scores the model on the rest.
    public static func train(files: [URL], options: Options) throws -> Report {
        precondition(options.problem == nil, options.problem ?? "")
        var examples: [(text: String, label: String)] = []
        for url in files { examples += try labelledTexts(in: url, labelField: options.labelField) }
        return try train(examples: examples, options: options)
    }

    /// Trains and scores on labelled texts already in memory.
    public static func train(examples: [(text: String, label: String)], options: Options) throws -> Report {
        precondition(options.problem == nil, options.problem ?? "")
        let lettered = examples.filter { $0.text.unicodeScalars.contains { $0.properties.isAlphabetic } }
        var documents: [String: Int] = [:]
        for example in lettered { documents[example.label, default: 0] += 1 }
        let excluded = documents.filter { $0.value < options.minimumDocuments }.sorted { $0.key < $1.key }
        let excludedLabels = Set(excluded.map(\.key))
        let kept = documents.count - excluded.count
        guard kept > 0 else {
            throw TrainingError(description: "no labelled document with a letter"
                                + (excluded.isEmpty ? "" : " in a label of at least \(options.minimumDocuments) documents"))
        }
        guard kept <= LanguageIdentifier.Configuration.maximumLabels else {
            throw TrainingError(description: "\(kept) labels; a model holds at most \(LanguageIdentifier.Configuration.maximumLabels)")
        }

        var trainer = LanguageIdentifierTrainer(configuration: options.configuration)
        var heldOut: [(text: String, label: String)] = []
        for example in lettered where !excludedLabels.contains(example.label) {
            if isHeldOut(example.text, fraction: options.heldOutFraction) {
                heldOut.append(example)
            } else {
                trainer.add(example.text, label: example.label)
            }
        }
        // A label whose every document was held out still gets a row (of smoothing only), so that its held-out
        // documents are scored, and count as mistakes, rather than having no label to be compared with.
        for label in Set(heldOut.map(\.label)).sorted() { trainer.addLabel(label) }
        let model = trainer.model()!
        let index = Dictionary(uniqueKeysWithValues: model.labels.enumerated().map { ($1, $0) })
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: model.labels.count), count: model.labels.count)
        var mistakes: [(text: String, label: String, predicted: String)] = []
        for example in heldOut {
            let predicted = model.predict(example.text).label
            confusion[index[example.label]!][index[predicted]!] += 1
            if predicted != example.label { mistakes.append((example.text, example.label, predicted)) }
        }
        let scores = model.labels.enumerated().map { row, label in
            let mistakes = confusion[row].enumerated()
                .filter { $0.offset != row && $0.element > 0 }
                .sorted { ($0.element, model.labels[$1.offset]) > ($1.element, model.labels[$0.offset]) }
                .map { (label: model.labels[$0.offset], count: $0.element) }
            return LabelScore(label: label, trainingDocuments: model.documentCounts[row],
                              heldOutDocuments: confusion[row].reduce(0, +), correct: confusion[row][row],
                              confusions: mistakes)
        }
        return Report(model: model, scores: scores, excluded: excluded.map { ($0.key, $0.value) },
                      withoutLetters: examples.count - lettered.count, mistakes: mistakes)
    }

    /// The (text, label) pairs of a JSONL file. A line that is not a JSON object with a string `text` and a
    /// non-empty string label is an error naming the file and the line.
    public static func labelledTexts(in url: URL, labelField: String) throws -> [(text: String, label: String)] {
        let operation = "read the labelled documents"
        let data = try FileError.wrap(operation, path: url.path) { try Data(contentsOf: url) }
        let (key, metaOnly) = labelField.hasPrefix("meta.") ? (String(labelField.dropFirst(5)), true) : (labelField, false)
        var examples: [(text: String, label: String)] = []
        for (number, line) in JSONLines.lines(data) {
            func problem(_ reason: String) -> FileError {
                FileError(path: url.path, operation: operation, reason: "line \(number): \(reason)")
            }
            guard let object = (try? JSONSerialization.jsonObject(with: line)) as? [String: Any] else {
                throw problem("not a JSON object")
            }
            guard let text = object["text"] as? String else { throw problem("no string 'text'") }
            let meta = object["meta"] as? [String: Any]
            guard let value = meta?[key] ?? (metaOnly ? nil : object[key]) else {
                throw problem("no '\(key)' label (\(metaOnly ? "in meta" : "in meta or at the top level"))")
            }
            // A boolean or number label is its JSON text ("true", "1623"), as the pipeline's filter compares it.
            let isScalar = !(value is NSNull || value is [Any] || value is [String: Any])
            let label = value as? String ?? (isScalar
                ? (try? JSONSerialization.data(withJSONObject: value, options: .fragmentsAllowed)).flatMap { String(data: $0, encoding: .utf8) }
                : nil)
            guard let label, !label.isEmpty, label.utf8.count <= LanguageIdentifier.maximumLabelBytes else {
                throw problem("the '\(key)' label is not a string, boolean or number of 1…\(LanguageIdentifier.maximumLabelBytes) bytes")
            }
            examples.append((text, label))
        }
        return examples
    }
}
