import Foundation
import Studies
import Training
import XCTest

/// The study's arms and their recipes, built from a size and two corpora (the quick size: the numbers are its own).
final class StudyCPTPlanTests: XCTestCase {
    private let plan = StudyCPTPlan(size: .quick, upstreamCorpus: "up", downstreamCorpus: "down")

    private func arm(_ name: String) throws -> StudyCPTArm {
        try XCTUnwrap(plan.arms.first { $0.name == name }, "no arm \(name)")
    }

    func testTheUpstreamRunComesFirstThenEveryArmOfTheFourQuestions() {
        XCTAssertEqual(plan.arms.map(\.name), ["upstream", "no_rewarm", "rewarm_0p5x", "rewarm_1x", "rewarm_2x", "replay_5",
                                               "replay_25", "repeated_cosine", "infinite", "subset"])
        XCTAssertTrue(plan.arms[0].isUpstream)
        XCTAssertEqual(plan.arms.filter(\.isUpstream).count, 1)
    }

    func testEachArmTakesPartInItsComparisons() throws {
        let groups = Dictionary(uniqueKeysWithValues: plan.arms.map { ($0.name, $0.groups) })
        XCTAssertEqual(groups["upstream"], [])
        XCTAssertEqual(groups["no_rewarm"], [.rewarm])
        XCTAssertEqual(groups["rewarm_0p5x"], [.rewarm])
        XCTAssertEqual(groups["rewarm_1x"], [.rewarm, .replay, .subset])
        XCTAssertEqual(groups["replay_25"], [.replay])
        XCTAssertEqual(groups["infinite"], [.schedule])
        XCTAssertEqual(groups["subset"], [.subset])
        XCTAssertEqual(try arm("rewarm_1x").label, "rewarm to 3e-3, cosine, replay 0 %, one pass")
    }

    func testTheUpstreamRunIsACosineOnTheUpstreamCorpusEvaluatedOnBoth() throws {
        let recipe = try arm("upstream").recipe
        XCTAssertEqual(recipe.model.flavor, .gpt2)
        XCTAssertEqual([recipe.model.layers, recipe.model.dModel, recipe.model.heads, recipe.model.context], [2, 64, 2, 64])
        XCTAssertEqual(recipe.optim.batchSize, 16)
        XCTAssertEqual(recipe.data.corpus, "up")
        XCTAssertEqual(recipe.data.val, ["downstream": "down"])
        XCTAssertNil(recipe.data.replay)
        XCTAssertEqual(recipe.schedule.kind, .cosine)
        XCTAssertEqual(recipe.schedule.warmup, 20)
        XCTAssertEqual(recipe.optim.lr, 3e-3)
        XCTAssertEqual(recipe.schedule.minLR, 3e-4)
        XCTAssertEqual([recipe.train.steps, recipe.train.evalEvery, recipe.train.evalBatches], [400, 16, 8])
        XCTAssertEqual([recipe.train.logEvery, recipe.train.checkpointEvery, recipe.train.keepLast], [10, 0, 1])
    }

    func testEveryArmReadsTheDownstreamCorpusForEqualTokensWithTheUpstreamSplitAsReplay() {
        for arm in plan.arms.dropFirst() {
            XCTAssertEqual(arm.recipe.data.corpus, "down", arm.name)
            XCTAssertEqual(arm.recipe.train.steps, 150, arm.name)
            XCTAssertEqual(arm.recipe.train.evalEvery, 6, arm.name)
            XCTAssertEqual(arm.recipe.optim.batchSize, 16, arm.name)
            XCTAssertEqual(arm.recipe.data.replay?.corpus, "up", arm.name)
            XCTAssertEqual(arm.recipe.data.replay?.name, "upstream", arm.name)
        }
    }

    func testNoRewarmContinuesAtTheUpstreamFloorWithoutWarmup() throws {
        let recipe = try arm("no_rewarm").recipe
        XCTAssertEqual(recipe.schedule.kind, .constant)
        XCTAssertEqual(recipe.schedule.warmup, 0)
        XCTAssertNil(recipe.schedule.minLR)
        XCTAssertEqual(recipe.optim.lr, 3e-4)
    }

    func testRewarmArmsWarmUpToMultiplesOfTheUpstreamPeakThenDecayToItsFloor() throws {
        for (name, peak) in [("rewarm_0p5x", Float(1.5e-3)), ("rewarm_1x", 3e-3), ("rewarm_2x", 6e-3)] {
            let recipe = try arm(name).recipe
            XCTAssertEqual(recipe.optim.lr, peak, accuracy: 1e-9, name)
            XCTAssertEqual(recipe.schedule.kind, .cosine, name)
            XCTAssertEqual(recipe.schedule.warmup, 8, name)
            XCTAssertEqual(recipe.schedule.minLR, 3e-4, name)
            XCTAssertEqual(recipe.data.replay?.fraction, 0, name)
        }
    }

    func testReplayArmsDifferFromRewarmOneXOnlyInTheReplayFraction() throws {
        for (name, fraction) in [("replay_5", 0.05), ("replay_25", 0.25)] {
            var recipe = try arm(name).recipe
            XCTAssertEqual(recipe.data.replay?.fraction, fraction, name)
            recipe.data.replay?.fraction = 0
            XCTAssertEqual(recipe, try arm("rewarm_1x").recipe, name)
        }
    }

    func testRepeatedCosineRunsTwoCyclesOfHalfTheArm() throws {
        let recipe = try arm("repeated_cosine").recipe
        XCTAssertEqual(recipe.schedule.kind, .repeatedCosine)
        XCTAssertEqual(recipe.schedule.cycle, 75)
    }

    func testTheInfiniteArmKeepsTheCheckpointItsAnnealBranchStartsFrom() throws {
        let infinite = try arm("infinite")
        let schedule = infinite.recipe.schedule
        XCTAssertEqual(schedule.kind, .infinite)
        XCTAssertEqual(schedule.warmup, 8)
        XCTAssertEqual(schedule.cooldown, 30)
        XCTAssertEqual(try XCTUnwrap(schedule.constantLR), 7.5e-4, accuracy: 1e-9)
        XCTAssertEqual(schedule.minLR, 3e-4)
        XCTAssertEqual(infinite.recipe.train.checkpointEvery, 100)
        XCTAssertEqual(infinite.recipe.train.keepLast, 2)
        XCTAssertEqual(infinite.anneal?.from, 100)
        XCTAssertEqual(infinite.anneal?.steps, 50)
        XCTAssertEqual(infinite.label, "infinite (plateau 7.5e-4)")
        XCTAssertTrue(plan.arms.filter { $0.name != "infinite" }.allSatisfy { $0.anneal == nil })
    }

    func testTheSubsetArmCyclesAQuarterOfTheTokensItReads() throws {
        let recipe = try arm("subset").recipe
        XCTAssertEqual(recipe.data.mixture["downstream"]?.corpus, "down")
        XCTAssertEqual(recipe.data.mixture["downstream"]?.subsetTokens, 150 * 16 * 64 / 4)
        XCTAssertEqual(try arm("subset").label, "multi-epoch subset (38k tokens, 4 epochs)")
    }

    func testTheDesignNamesTheCorporaAndTheShareOfAnEpochAnArmReads() {
        let design = plan.design(downstreamTrainTokens: 307_200)
        XCTAssertTrue(design.hasPrefix("2-layer d=64 GPT-2 (2 heads, context 64, batches of 16 windows). Upstream: 400 steps (409k tokens) on `up`"), design)
        XCTAssertTrue(design.contains("150 steps (153k tokens) on `down`"), design)
        XCTAssertTrue(design.contains("all 307k downstream train tokens (0.50 of an epoch)"), design)
    }

    func testRatesArePrintedInShortScientificNotation() {
        XCTAssertEqual(StudyCPTPlan.rate(2e-3), "2e-3")
        XCTAssertEqual(StudyCPTPlan.rate(7.5e-4), "7.5e-4")
        XCTAssertEqual(StudyCPTPlan.rate(1.5e-3), "1.5e-3")
    }
}
