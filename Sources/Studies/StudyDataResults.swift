import Foundation
import Training

/// How big the data-centric study is: one GPT-2 shape for every run, the steps of each question's runs, and the
/// generation budget of the conditional-training question.
public struct StudyDataSize: Equatable, Sendable {
    public var name: String
    public var vocabulary: Int
    public var context: Int
    public var batchSize: Int
    public var layers: Int
    public var width: Int
    public var heads: Int
    public var lr: Float = 2e-3
    public var minLR: Float = 2e-4
    public var warmup: Int
    /// Conditional training: each arm's steps; samples per arm and condition; tokens per sample.
    public var conditionalSteps: Int
    public var samples: Int
    public var sampleTokens: Int
    /// Skill-it: steps per skill of the graph, each mixture arm's steps, rounds every `skillEvery` steps.
    public var graphSteps: Int
    public var mixtureSteps: Int
    public var skillEvery: Int
    /// Data age: each era's run, and the continued pre-training into the other era.
    public var ageSteps: Int
    public var continuedSteps: Int
    public var evalEvery: Int
    public var evalBatches: Int
    public var seeds: Int

    /// About 45 minutes on two cores.
    public static let standard = StudyDataSize(
        name: "default", vocabulary: 4096, context: 128, batchSize: 16, layers: 4, width: 128, heads: 4, warmup: 30,
        conditionalSteps: 600, samples: 300, sampleTokens: 48, graphSteps: 100, mixtureSteps: 600, skillEvery: 50,
        ageSteps: 500, continuedSteps: 100, evalEvery: 100, evalBatches: 8, seeds: 3)

    /// The CI size: every question on a tiny model for a few steps (the numbers test the pipeline, not the papers).
    public static let quick = StudyDataSize(
        name: "quick", vocabulary: 300, context: 16, batchSize: 4, layers: 1, width: 16, heads: 2, warmup: 2,
        conditionalSteps: 8, samples: 8, sampleTokens: 8, graphSteps: 4, mixtureSteps: 8, skillEvery: 4,
        ageSteps: 8, continuedSteps: 4, evalEvery: 4, evalBatches: 2, seeds: 2)
}

/// What the data study measured (OUT/results.json).
public struct StudyDataResults: Codable {
    /// One trained arm and seed of the conditional-training question.
    public struct ConditionalRow: Codable {
        public var arm: String
        public var seed: Int
        public var run: String
        /// val loss on the clean held-out fortunes (the same documents for every arm).
        public var cleanLoss: Double
        /// Share of unconditioned samples the judge calls offensive, and of samples under <|good|> (conditional arm only).
        public var offensiveRate: Double
        public var offensiveRateGood: Double?
        /// Training documents the arm kept (filters) of all.
        public var keptDocuments: Int
    }

    public struct MixtureRow: Codable {
        public var arm: String
        public var seed: Int
        public var run: String
        /// Each skill's final val loss, and their mean.
        public var losses: [String: Double]
        public var meanLoss: Double
        /// Training tokens drawn from each skill.
        public var tokens: [String: Int]
    }

    public struct AgeRow: Codable {
        public var arm: String
        public var run: String
        /// Final val loss on each era's held-out plays.
        public var modern: Double
        public var folio: Double
    }

    /// Question 4: each source's documents in and after each step; the arms on raw and curated text.
    public struct FunnelRow: Codable {
        public var source: String
        public var input: Int
        public var kept: [Int]
        /// Documents dropped per reason, over every step.
        public var dropped: [String: Int]
    }

    public struct CurationRow: Codable {
        public var arm: String
        public var seed: Int
        public var run: String
        public var cleanLoss: Double
        public var documents: Int
        public var trainTokens: Int
    }

    public var size: String
    public var command: String
    public var machine: String = ""
    public var minutes = 0.0
    public var reusedRuns = 0
    /// The judge (our n-gram classifier of offensive vs not) on the held-out fortunes: accuracy per class.
    public var judgeAccuracy: [String: Double] = [:]
    public var judgeHeldOut: [String: Int] = [:]
    /// Offensive share of the training fortunes (the human labels).
    public var offensiveShare = 0.0
    public var conditional: [ConditionalRow] = []
    public var skills: [String] = []
    public var graph: SkillsGraph?
    public var mixtures: [MixtureRow] = []
    public var age: [AgeRow] = []
    public var funnelSteps: [String] = []
    public var funnel: [FunnelRow] = []
    public var nearDuplicateClusters = 0
    public var curation: [CurationRow] = []

    init(size: String, command: String) { (self.size, self.command) = (size, command) }

    public func conditional(_ arm: String) -> [ConditionalRow] { conditional.filter { $0.arm == arm } }
    public func mixture(_ arm: String) -> [MixtureRow] { mixtures.filter { $0.arm == arm } }
}

extension StudyDataResults.ConditionalRow: SeededRow {}
extension StudyDataResults.MixtureRow: SeededRow {}
extension StudyDataResults.CurationRow: SeededRow {}
