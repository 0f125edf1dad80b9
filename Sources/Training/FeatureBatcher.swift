import AudioData
import Foundation
import Objectives
import Tensors

/// Where a feature batcher stands: its random stream and the batches drawn (saved in trainer_state.json).
public struct FeatureBatcherState: Codable, Equatable {
    public var random: RandomState
    public var batches: Int
}

/// Random crops of a feature corpus: each micro-batch draws `batchSize` utterances uniformly (seeded) and, from
/// each one longer than `crop` frames, a window of `crop` frames at a uniform start; shorter ones are zero-padded.
/// With `groups` (`data.balance_by`: the utterances of each value of a manifest field, e.g. a speaker's gender), each
/// crop's group is drawn uniformly first, then an utterance of that group, so every value gets the same share of crops.
/// features: (B, crop, F) and each row's length.
public final class FeatureBatcher {
    public let utterances: [FeatureCorpus.Utterance]
    public let crop: Int
    public let batchSize: Int
    public let dimension: Int
    /// This process' part of each global batch of `shard.count · batchSize` crops.
    public let shard: DataShard
    /// Balanced draws: each group's utterance indices (nil: uniform over utterances).
    public let groups: [FeatureGroup]?
    private var generator: RandomGenerator
    private var batches = 0

    /// The train utterances that share one value of a manifest field.
    public struct FeatureGroup: Equatable {
        public var value: String
        public var utterances: [Int]
    }

    public init(utterances: [FeatureCorpus.Utterance], dimension: Int, crop: Int, batchSize: Int, seed: UInt64,
                shard: DataShard = .whole, groups: [FeatureGroup]? = nil) throws {
        guard !utterances.isEmpty else { throw TrainingError("the feature corpus has no train utterances") }
        precondition(groups.map { !$0.isEmpty && $0.allSatisfy { !$0.utterances.isEmpty } } ?? true, "groups must not be empty")
        self.groups = groups
        precondition(crop >= 1 && batchSize >= 1, "crop and batch size must be ≥ 1")
        self.utterances = utterances
        self.dimension = dimension
        self.crop = crop
        self.batchSize = batchSize
        self.shard = shard
        generator = RandomGenerator(seed: seed)
    }

    public var state: FeatureBatcherState { FeatureBatcherState(random: RandomState(generator), batches: batches) }

    public func restore(_ state: FeatureBatcherState) throws {
        generator = try state.random.generator()
        batches = state.batches
    }

    public func next() -> FeatureBatch {
        batches += 1
        let crops = (0..<batchSize * shard.count).map { _ -> (FeatureCorpus.Utterance, Int) in
            let index: Int
            if let groups {
                let members = groups[generator.nextInt(below: groups.count)].utterances
                index = members[generator.nextInt(below: members.count)]
            } else {
                index = generator.nextInt(below: utterances.count)
            }
            let utterance = utterances[index]
            return (utterance, utterance.frames > crop ? generator.nextInt(below: utterance.frames - crop + 1) : 0)
        }
        return featureBatch(Array(crops[shard.index * batchSize..<(shard.index + 1) * batchSize]), crop: crop, dimension: dimension)
    }
}

extension FeatureBatcher {
    /// The train utterances grouped by a manifest field's value (`_missing` where an utterance lacks it), by value.
    public static func groups(_ corpus: FeatureCorpus, field: String) throws -> [FeatureGroup] {
        guard corpus.info.utterances != nil else {
            throw TrainingError("data.balance_by: \(corpus.directory.path) has no \(FeatureCorpusInfo.utterancesFile); prepare it "
                + "with pretrain features prepare from a directory whose manifest.jsonl carries the field")
        }
        var members: [String: [Int]] = [:]
        for (index, utterance) in corpus.train.enumerated() {
            members[corpus.metadata[utterance.key]?[field] ?? "_missing", default: []].append(index)
        }
        if members.keys.count == 1, members["_missing"] != nil {
            let fields = Set(corpus.metadata.values.flatMap(\.keys)).sorted()
            throw TrainingError("data.balance_by: no train utterance of \(corpus.directory.path) has the field '\(field)' "
                + "(fields: \(fields.joined(separator: ", ")))")
        }
        return members.keys.sorted().map { FeatureGroup(value: $0, utterances: members[$0]!) }
    }
}

/// Crops (utterance, first frame) → (B, crop, F) zero-padded, with lengths.
func featureBatch(_ crops: [(FeatureCorpus.Utterance, Int)], crop: Int, dimension: Int) -> FeatureBatch {
    let features = Tensor(zeros: [crops.count, crop, dimension])
    var lengths: [Int] = []
    for (row, (utterance, start)) in crops.enumerated() {
        let length = min(crop, utterance.frames - start)
        utterance.values.withUnsafeBufferPointer { values in
            (features.data + row * crop * dimension).update(from: values.baseAddress! + start * dimension, count: length * dimension)
        }
        lengths.append(length)
    }
    return FeatureBatch(features: features, lengths: lengths)
}

/// Validation batches: the first `crop` frames of each utterance in corpus order, `batchSize` at a time
/// (the first `limit` batches when set), so every evaluation sees the same inputs.
func featureEvaluationBatches(_ utterances: [FeatureCorpus.Utterance], dimension: Int, crop: Int, batchSize: Int,
                              limit: Int? = nil) -> [FeatureBatch] {
    var batches: [FeatureBatch] = []
    var start = 0
    while start < utterances.count && batches.count < (limit ?? .max) {
        let chunk = utterances[start..<min(utterances.count, start + batchSize)]
        batches.append(featureBatch(chunk.map { ($0, 0) }, crop: crop, dimension: dimension))
        start += batchSize
    }
    return batches
}

extension Evaluation {
    /// The mean loss of a feature objective over `batches` (weighted by predictions), in evaluation mode without
    /// gradients; masks come from a generator seeded with `seed`, so every evaluation draws the same ones.
    public static func of(_ objective: FeaturePretrainingObjective, batches: [FeatureBatch], seed: UInt64 = 0x5eed,
                          shard: DataShard = .whole) -> Evaluation {
        let (mean, predicted) = weightedMeanLoss(objective.model, batches, seed: seed, shard: shard) { objective.loss($0, generator: &$1) }
        return Evaluation(loss: mean, predicted: predicted, bitsPerByte: nil)
    }
}
