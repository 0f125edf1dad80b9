import Curation
import Foundation

/// How a task's labelled texts become train/dev/test: whole groups (a play, a man page, a source file) go to one
/// split, the test split first until it holds `testFraction` of each class, then dev, the rest train; each split is
/// then cut to its per-class cap, and what train does not keep becomes unlabelled text. Texts that appear twice (after
/// folding case and spaces) are kept once, and a text seen with two labels is dropped.
public struct TaskSplitting: Sendable {
    public var devFraction = 0.1
    public var testFraction = 0.2
    public var trainCap: Int?
    public var devCap: Int?
    public var testCap: Int?
    public var unlabelledCap = 4000
    public var seed: UInt64 = 0x7A5C

    public init(trainCap: Int? = nil, devCap: Int? = nil, testCap: Int? = nil) {
        (self.trainCap, self.devCap, self.testCap) = (trainCap, devCap, testCap)
    }

    public struct Result: Sendable {
        public var train: [TaskExample]
        public var dev: [TaskExample]
        public var test: [TaskExample]
        public var unlabelled: [String]
        /// Texts left out because they appeared before (duplicates) or with two labels (conflicts).
        public var duplicates: Int
        public var conflicts: Int
    }

    public func split(_ examples: [TaskExample], labels: [String]) -> Result {
        let (unique, duplicates, conflicts) = Self.deduplicated(examples)
        var result = Result(train: [], dev: [], test: [], unlabelled: [], duplicates: duplicates, conflicts: conflicts)
        var spareTrain: [TaskExample] = []
        for label in labels {
            let ofLabel = unique.filter { $0.label == label }
            var byGroup: [String: [TaskExample]] = [:]
            for example in ofLabel { byGroup[example.group, default: []].append(example) }
            let groups = byGroup.keys.sorted { (XXH64.hash($0, seed: seed), $0) < (XXH64.hash($1, seed: seed), $1) }
            var (train, dev, test): ([TaskExample], [TaskExample], [TaskExample]) = ([], [], [])
            let total = Double(ofLabel.count)
            for group in groups {
                let members = byGroup[group]!
                if Double(test.count) < testFraction * total { test += members }
                else if Double(dev.count) < devFraction * total { dev += members }
                else { train += members }
            }
            let labelSeed = seed ^ XXH64.hash(label)
            let orderedTrain = TextTask.seededOrder(train, seed: labelSeed)
            let keptTrain = trainCap.map { min($0, orderedTrain.count) } ?? orderedTrain.count
            result.train += orderedTrain.prefix(keptTrain)
            spareTrain += orderedTrain.dropFirst(keptTrain)
            result.dev += TextTask.seededOrder(dev, seed: labelSeed &+ 1).prefix(devCap ?? dev.count)
            result.test += TextTask.seededOrder(test, seed: labelSeed &+ 2).prefix(testCap ?? test.count)
        }
        result.train = TextTask.seededOrder(result.train, seed: seed &+ 3)
        result.dev = TextTask.seededOrder(result.dev, seed: seed &+ 4)
        result.test = TextTask.seededOrder(result.test, seed: seed &+ 5)
        result.unlabelled = TextTask.seededOrder(spareTrain, seed: seed &+ 6).prefix(unlabelledCap).map(\.text)
        return result
    }

    /// The first example of each text (case and runs of white space folded); a text given two labels is dropped.
    static func deduplicated(_ examples: [TaskExample]) -> ([TaskExample], duplicates: Int, conflicts: Int) {
        var labelOf: [String: String?] = [:]
        for example in examples {
            let key = foldedKey(example.text)
            if let seen = labelOf[key] {
                if seen != example.label { labelOf[key] = .some(nil) }
            } else {
                labelOf[key] = .some(example.label)
            }
        }
        var kept: [TaskExample] = []
        var emitted = Set<String>()
        var duplicates = 0
        for example in examples {
            let key = foldedKey(example.text)
            guard case .some(.some) = labelOf[key] else { continue }
            if emitted.insert(key).inserted { kept.append(example) } else { duplicates += 1 }
        }
        let conflicts = labelOf.values.filter { $0 == nil }.count
        return (kept, duplicates, conflicts)
    }

    static func foldedKey(_ text: String) -> String {
        text.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }
}
