import Foundation
import Layers
import SafeTensors
import Tensors
import TestSupport
import Training
import XCTest

/// SPDF's sparse pre-training (`sparsity:`, `WeightSparsity`): the masked linear weights of the Transformer blocks are
/// exactly 0.0 from the start to the end of a run and across a resume, which equals an uninterrupted run bit for bit;
/// the masks hold the recipe's fraction of each matrix; magnitude masks take the smallest |w|; fraction 0 is plain
/// training; a dense run initialised from a sparse checkpoint trains the zeros. All comparisons are exact (no
/// tolerance): the masking is a selection, not arithmetic.
final class SparsityTests: XCTestCase {
    private let silent = ConsoleProgress(mode: .silent)

    private func sparseRecipe(steps: Int, fraction: Float = 0.5, mask: SparsitySection.Mask = .random) -> Recipe {
        var recipe = tinyRecipe(steps: steps)
        recipe.sparsity.fraction = fraction
        recipe.sparsity.mask = mask
        return recipe
    }

    /// Every sparse weight's entries, by name.
    private func sparseWeights(_ model: Module) -> [String: [Float]] {
        Dictionary(uniqueKeysWithValues: WeightSparsity.sparseParameters(of: model).map { ($0.name, $0.tensor.scalars) })
    }

    /// Masked entries are +0.0 exactly; the masked count of each matrix is the fraction of it, to the nearest entry.
    private func assertMaskedAreZero(_ trainer: Trainer, _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        let sparsity = trainer.sparsity!
        for (index, (name, tensor)) in sparsity.parameters.enumerated() {
            let values = tensor.scalars
            let masked = values.indices.filter { !sparsity.isLive(index, $0) }
            XCTAssertEqual(Double(masked.count), Double(values.count) * Double(sparsity.settings.fraction), accuracy: 1,
                           "\(label): \(name): masked entries", file: file, line: line)
            XCTAssertTrue(masked.allSatisfy { values[$0].bitPattern == 0 }, "\(label): \(name): a masked weight is not +0.0",
                          file: file, line: line)
        }
    }

    /// The rule: the blocks' linear weights (c_attn, attn.c_proj, c_fc, mlp.c_proj of each GPT-2 block), nothing else.
    func testTheSparseWeightsAreTheBlocksLinearWeights() throws {
        var generator = RandomGenerator(seed: 1)
        let model = GPTModel(GPTConfig(vocabSize: 64, contextLength: 8, layers: 2, dModel: 16, heads: 2), generator: &generator)
        let names = WeightSparsity.sparseParameters(of: model).map(\.name)
        XCTAssertEqual(names, (0..<2).flatMap { layer in
            ["attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"].map { "transformer.h.\(layer).\($0).weight" }
        })
    }

    func testMaskedWeightsStayZeroLiveOnesTrainAndResumeIsExact() throws {
        let root = try makeTemporaryDirectory()
        let corpus = TestCorpus.make()
        let recipe = sparseRecipe(steps: 20)

        let straight = try Trainer(recipe: recipe, runDirectory: root.appendingPathComponent("straight"), corpus: corpus,
                                   console: silent)
        assertMaskedAreZero(straight, "at the start")
        let initial = sparseWeights(straight.model)
        try straight.run()
        assertMaskedAreZero(straight, "after 20 steps")
        let sparsity = straight.sparsity!
        for (index, (name, tensor)) in sparsity.parameters.enumerated() {
            let (before, after) = (initial[name]!, tensor.scalars)
            XCTAssertTrue(after.indices.allSatisfy { !sparsity.isLive(index, $0) || after[$0] != before[$0] },
                          "\(name): a live weight did not change")
        }
        let checkpoint = root.appendingPathComponent("straight/checkpoints/step_000020")
        XCTAssertTrue(FileManager.default.fileExists(atPath: checkpoint.appendingPathComponent(Checkpoint.sparsityFile).path))
        // AdamW's moments of the masked entries are 0 too: the gradients they saw were.
        let moments = try loadSafetensors(checkpoint.appendingPathComponent(Checkpoint.optimizerFile))
        for (index, (name, _)) in sparsity.parameters.enumerated() {
            for kind in ["exp_avg", "exp_avg_sq"] {
                let values = moments["\(kind).\(name)"]!.scalars
                XCTAssertTrue(values.indices.allSatisfy { sparsity.isLive(index, $0) || values[$0] == 0 }, "\(kind).\(name)")
            }
        }

        let interruptedDirectory = root.appendingPathComponent("interrupted")
        try Trainer(recipe: recipe, runDirectory: interruptedDirectory, corpus: corpus, console: silent).run(stopAfter: 10)
        let resumed = try Trainer(recipe: recipe, runDirectory: interruptedDirectory, corpus: corpus, start: .resume, console: silent)
        XCTAssertEqual(resumed.sparsity!.live, sparsity.live, "the masks after --resume")
        assertMaskedAreZero(resumed, "after resume")
        try resumed.run()
        assertMaskedAreZero(resumed, "after the resumed run")
        assertSameCurves(try readMetrics(interruptedDirectory.appendingPathComponent("metrics.jsonl")),
                         try readMetrics(root.appendingPathComponent("straight/metrics.jsonl")))
        for ((name, a), (_, b)) in zip(resumed.model.namedParameters(), straight.model.namedParameters()) {
            XCTAssertEqual(a.scalars.map(\.bitPattern), b.scalars.map(\.bitPattern), "final \(name) differs")
        }
    }

    /// The first metrics row holds the fraction and the training FLOPs: the dense count and less by 6·f·S per token.
    func testTheFirstMetricsRowHoldsTheFractionAndTheFLOPs() throws {
        let root = try makeTemporaryDirectory()
        let recipe = sparseRecipe(steps: 3, fraction: 0.75)
        let trainer = try Trainer(recipe: recipe, runDirectory: root, corpus: TestCorpus.make(), console: silent)
        try trainer.run()
        let rows = try readMetrics(root.appendingPathComponent("metrics.jsonl"))
        let first = rows[0].sparsityMetrics
        XCTAssertTrue(rows.dropFirst().allSatisfy { $0.sparsityMetrics.isEmpty })
        let sparse = trainer.sparsity!.parameters.reduce(0) { $0 + $1.tensor.count }
        let tokens = 3 * 4 * 2 * 8   // steps · batch_size · grad_accum · context
        let flops = WeightSparsity.trainingFLOPs(model: trainer.recipe.model, parameters: trainer.model.parameterCount,
                                                 sparseWeights: sparse, fraction: 0.75, tokens: tokens)
        XCTAssertEqual(first["sparsity/fraction"], 0.75)
        XCTAssertEqual(first["flops/dense"], flops.dense)
        XCTAssertEqual(first["flops/sparse_equivalent"], flops.sparseEquivalent)
        XCTAssertEqual(flops.dense - flops.sparseEquivalent, 6 * 0.75 * Double(sparse) * Double(tokens), accuracy: 1)
        XCTAssertEqual(first["sparsity/masked_weights"], Double(trainer.sparsity!.maskedWeights))
        let summary = Dictionary(uniqueKeysWithValues: try RunReport(runDirectory: root).summary)
        XCTAssertEqual(summary["weight sparsity"]?.hasPrefix("75 % of the blocks' linear weights held at 0"), true,
                       "\(summary)")
        XCTAssertEqual(summary["training FLOPs (planned)"],
                       String(format: "%.3g as run (dense kernels); %.3g with a sparse kernel", flops.dense, flops.sparseEquivalent))
    }

    /// Magnitude masks take the smallest |w| of each matrix; random masks leave the dense initialisation unchanged.
    func testMagnitudeMasksKeepTheLargestWeightsAndRandomMasksKeepTheInitialisation() throws {
        let root = try makeTemporaryDirectory()
        let corpus = TestCorpus.make()
        let dense = try Trainer(recipe: tinyRecipe(steps: 1), runDirectory: root.appendingPathComponent("dense"), corpus: corpus,
                                console: silent)
        let initial = sparseWeights(dense.model)
        let magnitude = try Trainer(recipe: sparseRecipe(steps: 1, fraction: 0.75, mask: .magnitude),
                                    runDirectory: root.appendingPathComponent("magnitude"), corpus: corpus, console: silent)
        assertMaskedAreZero(magnitude, "magnitude")
        for (index, (name, _)) in magnitude.sparsity!.parameters.enumerated() {
            let w = initial[name]!.map(abs)
            let masked = w.indices.filter { !magnitude.sparsity!.isLive(index, $0) }.map { w[$0] }
            let live = w.indices.filter { magnitude.sparsity!.isLive(index, $0) }.map { w[$0] }
            XCTAssertLessThanOrEqual(masked.max()!, live.min()!, "\(name): a masked |w| exceeds a kept one")
        }
        let random = try Trainer(recipe: sparseRecipe(steps: 1), runDirectory: root.appendingPathComponent("random"),
                                 corpus: corpus, console: silent)
        for (index, (name, tensor)) in random.sparsity!.parameters.enumerated() {
            let (values, before) = (tensor.scalars, initial[name]!)
            XCTAssertTrue(values.indices.allSatisfy { !random.sparsity!.isLive(index, $0) || values[$0] == before[$0] }, name)
        }
        for ((name, a), (_, b)) in zip(random.model.namedParameters(), dense.model.namedParameters()) where initial[name] == nil {
            XCTAssertEqual(a.scalars, b.scalars, "\(name) is not sparse and must be initialised as in the dense run")
        }
    }

    /// fraction 0 is dense training: the same bits as the recipe without `sparsity:`, and no masks written.
    func testFractionZeroIsPlainTraining() throws {
        let root = try makeTemporaryDirectory()
        let corpus = TestCorpus.make()
        let plain = try Trainer(recipe: tinyRecipe(steps: 10), runDirectory: root.appendingPathComponent("plain"), corpus: corpus,
                                console: silent)
        try plain.run()
        var recipe = tinyRecipe(steps: 10)
        recipe.sparsity.fraction = 0
        recipe.sparsity.mask = .magnitude
        recipe.sparsity.seed = 99
        let off = try Trainer(recipe: recipe, runDirectory: root.appendingPathComponent("off"), corpus: corpus, console: silent)
        XCTAssertNil(off.sparsity)
        try off.run()
        assertSameCurves(try readMetrics(root.appendingPathComponent("off/metrics.jsonl")),
                         try readMetrics(root.appendingPathComponent("plain/metrics.jsonl")))
        for ((name, a), (_, b)) in zip(off.model.namedParameters(), plain.model.namedParameters()) {
            XCTAssertEqual(a.scalars.map(\.bitPattern), b.scalars.map(\.bitPattern), name)
        }
        XCTAssertFalse(FileManager.default.fileExists(
            atPath: root.appendingPathComponent("off/checkpoints/step_000010/\(Checkpoint.sparsityFile)").path))
    }

    /// Dense fine-tuning: `--init-from` a sparse checkpoint without `sparsity:` starts from its zeros and trains them.
    func testInitFromASparseCheckpointWithoutSparsityTrainsTheZeros() throws {
        let root = try makeTemporaryDirectory()
        let corpus = TestCorpus.make()
        let sparse = try Trainer(recipe: sparseRecipe(steps: 10), runDirectory: root.appendingPathComponent("sparse"),
                                 corpus: corpus, console: silent)
        try sparse.run()
        let dense = try Trainer(recipe: tinyRecipe(steps: 5), runDirectory: root.appendingPathComponent("dense"), corpus: corpus,
                                start: .initFrom(root.appendingPathComponent("sparse")), console: silent)
        XCTAssertNil(dense.sparsity)
        let weights = Dictionary(uniqueKeysWithValues: WeightSparsity.sparseParameters(of: dense.model).map { ($0.name, $0.tensor) })
        let masks = sparse.sparsity!
        for (index, (name, _)) in masks.parameters.enumerated() {
            let values = weights[name]!.scalars
            XCTAssertTrue(values.indices.allSatisfy { masks.isLive(index, $0) || values[$0] == 0 }, "\(name) as loaded")
        }
        try dense.run()
        for (index, (name, _)) in masks.parameters.enumerated() {
            let values = weights[name]!.scalars
            XCTAssertTrue(values.indices.allSatisfy { masks.isLive(index, $0) || values[$0] != 0 }, "\(name): a zero was not trained")
        }
    }

    /// Resuming with other sparsity than the checkpoint's is refused, naming the key.
    func testResumingWithAnotherFractionIsRefused() throws {
        let root = try makeTemporaryDirectory()
        let corpus = TestCorpus.make()
        try Trainer(recipe: sparseRecipe(steps: 4), runDirectory: root, corpus: corpus, console: silent).run(stopAfter: 2)
        XCTAssertThrowsError(try Trainer(recipe: sparseRecipe(steps: 4, fraction: 0.75), runDirectory: root, corpus: corpus,
                                         start: .resume, console: silent)) {
            XCTAssertTrue("\($0)".contains("sparsity.fraction 0.5"), "\($0)")
        }
    }

    func testRecipeErrorsAreOneLineNamingTheKey() {
        let cases: [(String, String)] = [
            ("sparsity: {fraction: 1.2}", "sparsity.fraction must be in [0, 1) (0: dense), got 1.2"),
            ("sparsity: {fraction: -0.5}", "sparsity.fraction must be in [0, 1) (0: dense), got -0.5"),
            ("sparsity: {fraction: 0.5, mask: lottery}", "sparsity.mask must be one of random, magnitude, got 'lottery'"),
            ("sparsity: {fraction: 0.5, pattern: 2}", "unknown key 'sparsity.pattern'"),
        ]
        for (yaml, expected) in cases {
            XCTAssertThrowsError(try Recipe.parse(yaml, source: "r.yaml"), yaml) {
                let message = "\($0)"
                XCTAssertTrue(message.contains(expected), "\(yaml): \(message)")
                XCTAssertFalse(message.contains("\n"), "\(yaml): \(message)")
            }
        }
        XCTAssertEqual(try Recipe.parse("sparsity: {fraction: 0.75, mask: magnitude, seed: 3}").sparsity.fraction, 0.75)
    }

    /// Under mpirun: two ranks (all-reduce, and ZeRO-1) train a sparse run like one process with the same global batch
    /// (the tolerance of DataParallelTests: 1e-5 relative), with the same masks, and its masked weights stay +0.0.
    func testTwoRanksTrainASparseRunLikeOne() throws {
        try requireMPIRun()
        let root = try makeTemporaryDirectory()
        let corpus = root.appendingPathComponent("corpus")
        try SyntheticCorpus.writePrepared(to: corpus, trainTokens: 20_000, valTokens: 2_000)
        func recipe(batch: Int) throws -> String {
            let url = root.appendingPathComponent("batch\(batch).yaml")
            try """
                model: {flavor: gpt2, layers: 2, d_model: 32, heads: 2, context: 32}
                data: {corpus: \(corpus.path)}
                optim: {lr: 3.0e-3, batch_size: \(batch)}
                schedule: {kind: cosine, warmup: 5}
                train: {steps: 10, eval_every: 5, eval_batches: 0, log_every: 1, checkpoint_every: 10, seed: 7, threads: 1}
                sparsity: {fraction: 0.75, mask: magnitude}

                """.write(to: url, atomically: true, encoding: .utf8)
            return url.path
        }
        let (single, parallel, sharded) = (root.appendingPathComponent("single"), root.appendingPathComponent("parallel"),
                                           root.appendingPathComponent("sharded"))
        let one = try runPretrain(["train", try recipe(batch: 16), "--run-dir", single.path])
        XCTAssertEqual(one.status, 0, one.output)
        for (run, extra) in [(parallel, [String]()), (sharded, ["--set", "distributed.shard_optimizer=true"])] {
            let result = try runPretrainUnderMPI(ranks: 2, mpiOptions: ["--bind-to", "none"],
                                                 ["train", try recipe(batch: 8), "--run-dir", run.path] + extra, timeout: 120)
            XCTAssertEqual(result.status, 0, String(result.output.suffix(3000)))
        }
        let last = "checkpoints/step_000010"
        let masks = try Data(contentsOf: single.appendingPathComponent("\(last)/\(Checkpoint.sparsityFile)"))
        let expected = try readMetrics(single.appendingPathComponent("metrics.jsonl"))
        for run in [parallel, sharded] {
            XCTAssertEqual(try Data(contentsOf: run.appendingPathComponent("\(last)/\(Checkpoint.sparsityFile)")), masks,
                           "\(run.lastPathComponent): masks")
            let rows = try readMetrics(run.appendingPathComponent("metrics.jsonl"))
            XCTAssertEqual(rows.map(\.step), expected.map(\.step))
            for (a, b) in zip(rows, expected) {
                XCTAssertLessThanOrEqual(abs(a.loss! - b.loss!) / b.loss!, 1e-5, "\(run.lastPathComponent): loss at step \(a.step)")
            }
            let weights = try loadSafetensors(run.appendingPathComponent("\(last)/\(Checkpoint.modelFile)"))
            let file = try SafeTensorsFile(contentsOf: run.appendingPathComponent("\(last)/\(Checkpoint.sparsityFile)"))
            for name in file.names {
                let live = try file.ints(name).values.map { UInt32(truncatingIfNeeded: $0) }
                let values = weights[name]!.scalars
                XCTAssertTrue(values.indices.allSatisfy { live[$0 >> 5] & (1 << UInt32($0 & 31)) != 0 || values[$0].bitPattern == 0 },
                              "\(run.lastPathComponent): \(name): a masked weight is not +0.0")
                XCTAssertEqual(values.filter { $0 == 0 }.count, values.count * 3 / 4, "\(run.lastPathComponent): \(name): zeros")
            }
        }
    }
}
