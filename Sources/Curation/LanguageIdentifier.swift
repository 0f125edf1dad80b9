import Foundation

/// A language identifier: multinomial naive Bayes over hashed character 1…4-grams (McCallum & Nigam, "A Comparison
/// of Event Models for Naive Bayes Text Classification", 1998), with add-α smoothing:
///
///     P(bucket | label) = (count(label, bucket) + α) / (n-grams of label + α · buckets)
///     score(label) = log P(label) + Σ over the text's n-grams log P(bucket | label)
///
/// and the confidence of a prediction is the posterior of the top label, softmax of the scores. Naive Bayes treats
/// every n-gram as independent evidence, so on a text of a few hundred characters the posterior is close to 1 even
/// when the text mixes languages: a confidence threshold separates short and ambiguous texts, not mixed long ones.
///
/// Training counts n-grams (`LanguageIdentifierTrainer`); the model keeps the counts, which are what its file holds
/// (`write(to:)`, `load(from:)`), and the log-probabilities derived from them, bucket-major so that each n-gram
/// reads one contiguous row of `labels.count` floats.
public struct LanguageIdentifier: Sendable {
    public struct Configuration: Equatable, Sendable {
        /// Hash buckets of the n-grams (a power of two): more buckets, fewer collisions, a larger model
        /// (labels × buckets × 4 bytes).
        public var buckets = 1 << 18
        /// N-grams of 1…maxOrder characters.
        public var maxOrder = 4
        /// α of add-α smoothing. Small values keep an n-gram never seen in a label's training text strong evidence
        /// against it; large ones favour labels with little training text (their denominators grow least).
        public var smoothing = 0.1

        public init() {}

        public init(buckets: Int, maxOrder: Int, smoothing: Double) {
            (self.buckets, self.maxOrder, self.smoothing) = (buckets, maxOrder, smoothing)
        }

        /// Bounds that every model, trained or read from a file, keeps: they also bound what a file can make us
        /// allocate.
        public static let bucketRange = 1 << 4 ... 1 << 24
        public static let orderRange = 1...8
        public static let maximumLabels = 1_000

        /// Why this configuration cannot make a model, or nil.
        public var problem: String? {
            if !Self.bucketRange.contains(buckets) || buckets & (buckets - 1) != 0 {
                return "buckets must be a power of two in \(Self.bucketRange.lowerBound)…\(Self.bucketRange.upperBound), got \(buckets)"
            }
            if !Self.orderRange.contains(maxOrder) {
                return "the n-gram order must be in \(Self.orderRange.lowerBound)…\(Self.orderRange.upperBound), got \(maxOrder)"
            }
            if !(smoothing.isFinite && smoothing > 0) { return "smoothing must be a positive number, got \(smoothing)" }
            return nil
        }
    }

    public let configuration: Configuration
    /// The labels, sorted, so that a model's file does not depend on the order of its training data.
    public let labels: [String]
    /// Training documents per label (the prior).
    public let documentCounts: [Int]
    /// N-gram occurrences per label and bucket, label-major: `counts[label * buckets + bucket]`.
    public let counts: [UInt32]

    let features: CharacterNGrams
    /// log P(label), from the document counts with add-one smoothing (a label is never impossible a priori).
    let logPriors: [Double]
    /// log P(bucket | label), bucket-major: `logLikelihoods[bucket * labels.count + label]`.
    let logLikelihoods: [Float]

    /// A model from its counts. The caller has checked them (a trainer builds them; a file is validated before):
    /// a mismatch is a programmer error.
    public init(configuration: Configuration, labels: [String], documentCounts: [Int], counts: [UInt32]) {
        precondition(configuration.problem == nil, configuration.problem ?? "")
        precondition(!labels.isEmpty && labels == labels.sorted() && Set(labels).count == labels.count,
                     "labels must be distinct and sorted")
        precondition(documentCounts.count == labels.count && counts.count == labels.count * configuration.buckets,
                     "counts do not match \(labels.count) labels × \(configuration.buckets) buckets")
        (self.configuration, self.labels, self.documentCounts, self.counts) = (configuration, labels, documentCounts, counts)
        features = CharacterNGrams(buckets: configuration.buckets, maxOrder: configuration.maxOrder)

        let labelCount = labels.count, buckets = configuration.buckets, alpha = configuration.smoothing
        let totalDocuments = Double(documentCounts.reduce(0, +) + labelCount)
        logPriors = documentCounts.map { log(Double($0 + 1) / totalDocuments) }
        var logLikelihoods = [Float](repeating: 0, count: labelCount * buckets)
        counts.withUnsafeBufferPointer { counts in
            logLikelihoods.withUnsafeMutableBufferPointer { table in
                for label in 0..<labelCount {
                    let row = counts[(label * buckets)..<((label + 1) * buckets)]
                    let total = row.reduce(0.0) { $0 + Double($1) }
                    let logDenominator = log(total + alpha * Double(buckets))
                    for bucket in 0..<buckets {
                        table[bucket * labelCount + label] = Float(log(Double(row[row.startIndex + bucket]) + alpha) - logDenominator)
                    }
                }
            }
        }
        self.logLikelihoods = logLikelihoods
    }

    /// The most probable label of `text` and its posterior probability. A text without letters has no n-grams and
    /// gets the most frequent training label (the first in label order on a tie) with its prior.
    public func predict(_ text: String) -> (label: String, confidence: Double) {
        let posteriors = posteriors(text)
        var best = 0
        for index in posteriors.indices where posteriors[index] > posteriors[best] { best = index }
        return (labels[best], posteriors[best])
    }

    /// P(label | text) for every label, in the order of `labels`.
    public func posteriors(_ text: String) -> [Double] {
        let labelCount = labels.count
        var scores = logPriors
        logLikelihoods.withUnsafeBufferPointer { table in
            scores.withUnsafeMutableBufferPointer { scores in
                _ = features.forEachBucket(in: text) { bucket in
                    let row = bucket * labelCount
                    for label in 0..<labelCount { scores[label] += Double(table[row + label]) }
                }
            }
        }
        let top = scores.max()!
        let exponentials = scores.map { exp($0 - top) }
        let sum = exponentials.reduce(0, +)
        return exponentials.map { $0 / sum }
    }
}

/// Counts the n-grams of labelled texts into a `LanguageIdentifier`.
public struct LanguageIdentifierTrainer {
    public let configuration: LanguageIdentifier.Configuration
    private let features: CharacterNGrams
    private var labelIndex: [String: Int] = [:]
    private var documentCounts: [Int] = []
    /// One row of bucket counts per label, in the order labels were first seen.
    private var rows: [[UInt32]] = []

    public init(configuration: LanguageIdentifier.Configuration = .init()) {
        precondition(configuration.problem == nil, configuration.problem ?? "")
        self.configuration = configuration
        features = CharacterNGrams(buckets: configuration.buckets, maxOrder: configuration.maxOrder)
    }

    /// Counts the n-grams of one document of `label`.
    public mutating func add(_ text: String, label: String) {
        let index = addLabel(label)
        documentCounts[index] += 1
        rows[index].withUnsafeMutableBufferPointer { row in
            _ = features.forEachBucket(in: text) { bucket in
                // Saturates rather than wraps: 4·10⁹ occurrences of one bucket in one label is far past any corpus
                // this reads, and a wrapped count would silently turn the most frequent n-gram into the rarest.
                if row[bucket] < .max { row[bucket] += 1 }
            }
        }
    }

    /// Makes `label` known, with no documents yet; returns its row.
    @discardableResult
    public mutating func addLabel(_ label: String) -> Int {
        if let known = labelIndex[label] { return known }
        precondition(rows.count < LanguageIdentifier.Configuration.maximumLabels,
                     "more than \(LanguageIdentifier.Configuration.maximumLabels) labels")
        labelIndex[label] = rows.count
        rows.append([UInt32](repeating: 0, count: configuration.buckets))
        documentCounts.append(0)
        return rows.count - 1
    }

    /// The model of everything added so far, labels sorted. Nil before the first label.
    public func model() -> LanguageIdentifier? {
        guard !rows.isEmpty else { return nil }
        let sorted = labelIndex.sorted { $0.key < $1.key }
        var counts: [UInt32] = []
        counts.reserveCapacity(sorted.count * configuration.buckets)
        for (_, index) in sorted { counts.append(contentsOf: rows[index]) }
        return LanguageIdentifier(configuration: configuration, labels: sorted.map(\.key),
                                  documentCounts: sorted.map { documentCounts[$0.value] }, counts: counts)
    }
}
