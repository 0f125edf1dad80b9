import Foundation
import Layers
import Tensors
import TestSupport
import Training
import XCTest

/// bert2BERT's two-stage pre-training (`two_stage:`): in the first `steps` updates only the drawn sub-model's top
/// `block_layers` blocks and the head change (bit for bit nothing else does), afterwards every parameter; the draws
/// cover every depth; a resume inside the first stage equals an uninterrupted run exactly.
final class TwoStageTests: XCTestCase {
    private let silent = ConsoleProgress(mode: .silent)

    private func twoStageRecipe(steps: Int, stage: Int, blockLayers: Int = 1) -> Recipe {
        var recipe = tinyRecipe(steps: steps)
        recipe.model.layers = 4
        recipe.twoStage.steps = stage
        recipe.twoStage.blockLayers = blockLayers
        return recipe
    }

    private func snapshot(_ model: Module) -> [String: [UInt32]] {
        Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.name, $0.tensor.scalars.map(\.bitPattern)) })
    }

    func testSubModelStepsTrainOnlyTheDrawnTopBlocksAndTheHeadThenEverything() throws {
        let root = try makeTemporaryDirectory()
        let trainer = try Trainer(recipe: twoStageRecipe(steps: 8, stage: 6, blockLayers: 2), runDirectory: root,
                                  corpus: TestCorpus.make(), console: silent)
        var depths = Set<Int>()
        for step in 0..<8 {
            let before = snapshot(trainer.model)
            try trainer.run(stopAfter: step + 1)
            let after = snapshot(trainer.model)
            let subModel = trainer.twoStage!.subModel(at: step)
            XCTAssertEqual(subModel == nil, step >= 6, "step \(step)")
            if let subModel { depths.insert(subModel.depth) }
            for (name, values) in after {
                let changed = values != before[name]
                let block = (0..<4).first { name.hasPrefix("transformer.h.\($0).") }
                let trained: Bool
                if let subModel {
                    trained = block.map { $0 >= subModel.firstTrained && $0 < subModel.depth }
                        ?? (name != "transformer.wpe.weight")   // ln_f and the tied wte (the head); not the positions
                } else {
                    trained = true
                }
                XCTAssertEqual(changed, trained, "step \(step), sub-model \(String(describing: subModel)): \(name)")
            }
        }
        XCTAssertEqual(depths, [2, 4], "the six draws cover both sub-models")
    }

    func testTheDrawIsUniformOverTheSubModelsAndFixedBySeedAndStep() throws {
        let root = try makeTemporaryDirectory()
        let corpus = TestCorpus.make()
        let a = try Trainer(recipe: twoStageRecipe(steps: 2, stage: 400), runDirectory: root.appendingPathComponent("a"),
                            corpus: corpus, console: silent).twoStage!
        let b = try Trainer(recipe: twoStageRecipe(steps: 2, stage: 400), runDirectory: root.appendingPathComponent("b"),
                            corpus: corpus, console: silent).twoStage!
        var counts = [Int: Int]()
        for step in 0..<400 {
            let subModel = try XCTUnwrap(a.subModel(at: step))
            XCTAssertEqual(subModel, b.subModel(at: step))
            XCTAssertEqual(subModel.firstTrained, subModel.depth - 1)
            counts[subModel.depth, default: 0] += 1
        }
        XCTAssertEqual(Set(counts.keys), [1, 2, 3, 4])
        // 100 expected each; 4 standard deviations is ±35.
        XCTAssertTrue(counts.values.allSatisfy { abs($0 - 100) < 35 }, "\(counts)")
        XCTAssertNil(a.subModel(at: 400))
    }

    func testResumeInsideTheFirstStageIsExact() throws {
        let root = try makeTemporaryDirectory()
        let corpus = TestCorpus.make()
        let recipe = twoStageRecipe(steps: 12, stage: 8)
        let straight = try Trainer(recipe: recipe, runDirectory: root.appendingPathComponent("straight"), corpus: corpus,
                                   console: silent)
        try straight.run()
        let interrupted = root.appendingPathComponent("interrupted")
        try Trainer(recipe: recipe, runDirectory: interrupted, corpus: corpus, console: silent).run(stopAfter: 5)
        let resumed = try Trainer(recipe: recipe, runDirectory: interrupted, corpus: corpus, start: .resume, console: silent)
        try resumed.run()
        assertSameCurves(try readMetrics(interrupted.appendingPathComponent("metrics.jsonl")),
                         try readMetrics(root.appendingPathComponent("straight/metrics.jsonl")))
        XCTAssertEqual(snapshot(resumed.model), snapshot(straight.model))
    }

    func testRecipeErrorsAreOneLineNamingTheKey() {
        let cases: [(String, String)] = [
            ("model: {layers: 4}\ntwo_stage: {steps: 10, block_layers: 3}",
             "two_stage.block_layers (3) must divide model.layers (4)"),
            ("two_stage: {steps: -2}", "two_stage.steps must be ≥ 0 (0: off), got -2"),
            ("two_stage: {steps: 5, block_layers: 0}", "two_stage.block_layers must be ≥ 1, got 0"),
            ("two_stage: {steps: 5, layers: 2}", "unknown key 'two_stage.layers'"),
            ("objective: {kind: distill, distill: {teacher: t, hidden_weight: 1}}\ntwo_stage: {steps: 5}",
             "objective.distill.hidden_weight and attention_weight must be 0 with it"),
        ]
        for (yaml, expected) in cases {
            XCTAssertThrowsError(try Recipe.parse(yaml, source: "r.yaml").validate(source: "r.yaml"), yaml) {
                let message = "\($0)"
                XCTAssertTrue(message.contains(expected), "\(yaml): \(message)")
                XCTAssertFalse(message.contains("\n"), "\(yaml): \(message)")
            }
        }
        XCTAssertEqual(try Recipe.parse("two_stage: {steps: 50, block_layers: 2}").twoStage.blockLayers, 2)
        XCTAssertThrowsError(try TwoStagePretraining(TwoStageSection(), model: Linear(4, 4), runSeed: 1)) {
            XCTAssertTrue("\($0)".hasPrefix("two_stage is for gpt2, llama and bert models"), "\($0)")
        }
    }

    /// A sub-model of every block, all trained, costs a whole step; a shallower one or fewer trained blocks less.
    func testTheFLOPsShareOfASubModelStep() {
        func share(_ subModel: SubModel?) -> Double {
            TwoStagePretraining.flopsShare(subModel, blocks: 4, blockParameters: 1000, otherParameters: 3000, dModel: 16, context: 8)
        }
        XCTAssertEqual(share(nil), 1)
        XCTAssertEqual(share(SubModel(depth: 4, firstTrained: 0)), 1, accuracy: 1e-12)
        // Depth 2 with its top block trained: 6·3000 + 2·(2·1000 + 512) + 1·(4·1000 + 1024) over 6·3000 + 4·(6·1000 + 1536).
        XCTAssertEqual(share(SubModel(depth: 2, firstTrained: 1)), (18000.0 + 5024 + 5024) / (18000 + 30144), accuracy: 1e-12)
    }
}
