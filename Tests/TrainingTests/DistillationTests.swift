import Foundation
import HFInterop
import Layers
import Objectives
import Tensors
import TestSupport
import Training
import XCTest

/// `objective.kind: distill`: the invariants (weight 0 is plain training bit for bit; resume is exact; the teacher
/// gets no gradient and no tape), that each term teaches what it should, and the errors a user can cause.
final class DistillationTests: XCTestCase {
    private let silent = ConsoleProgress(mode: .silent)

    /// A tiny GPT teacher trained for 15 steps in ROOT/teacher (width `width`, `layers` layers, 2 heads).
    private func trainTeacher(in root: URL, corpus: TrainingCorpus, width: Int = 32, layers: Int = 3) throws -> URL {
        var recipe = tinyRecipe(steps: 15)
        (recipe.model.dModel, recipe.model.layers, recipe.model.dropout) = (width, layers, 0)
        let directory = root.appendingPathComponent("teacher")
        try Trainer(recipe: recipe, runDirectory: directory, corpus: corpus, console: silent).run()
        return directory
    }

    private func distilled(_ recipe: Recipe, teacher: URL, _ configure: (inout DistillationConfig) -> Void) -> Recipe {
        var recipe = recipe
        var section = DistillSection()
        section.teacher = teacher.path
        configure(&section.config)
        recipe.objective.kind = .distill
        recipe.objective.distill = section
        return recipe
    }

    func testSoftWeightZeroIsPlainTrainingBitForBit() throws {
        let root = try makeTemporaryDirectory()
        let corpus = TestCorpus.make()
        let teacher = try trainTeacher(in: root, corpus: corpus)
        let recipe = tinyRecipe(steps: 20)
        let plain = try Trainer(recipe: recipe, runDirectory: root.appendingPathComponent("plain"), corpus: corpus, console: silent)
        try plain.run()
        let student = try Trainer(recipe: distilled(recipe, teacher: teacher) { $0.softWeight = 0 },
                                  runDirectory: root.appendingPathComponent("student"), corpus: corpus, console: silent)
        try student.run()
        assertSameCurves(try readMetrics(root.appendingPathComponent("student/metrics.jsonl")),
                         try readMetrics(root.appendingPathComponent("plain/metrics.jsonl")))
        for ((name, a), (_, b)) in zip(student.model.namedParameters(), plain.model.namedParameters()) {
            XCTAssertEqual(a.scalars, b.scalars, "final \(name) differs")
        }
    }

    /// SALT: the teacher's weight is 1, falls linearly over `decay_steps`, is 0 from `until_step` on — and from
    /// there the updates are the plain objective's.
    func testTeacherWeightFollowsSALTSchedule() {
        var config = DistillationConfig()
        (config.untilStep, config.decaySteps) = (10, 3)
        XCTAssertEqual((0..<12).map { config.teacherWeight(step: $0) }, [1, 1, 1, 1, 1, 1, 1, 0.75, 0.5, 0.25, 0, 0])
        config.untilStep = nil
        XCTAssertEqual(config.teacherWeight(step: 1_000_000), 1)
    }

    func testSoftLabelsAreLoggedUntilTheStepAndThenStop() throws {
        let root = try makeTemporaryDirectory()
        let corpus = TestCorpus.make()
        let teacher = try trainTeacher(in: root, corpus: corpus)
        let recipe = distilled(tinyRecipe(steps: 12), teacher: teacher) { $0.untilStep = 6 }
        try Trainer(recipe: recipe, runDirectory: root.appendingPathComponent("salt"), corpus: corpus, console: silent).run()
        let rows = try readMetrics(root.appendingPathComponent("salt/metrics.jsonl")).filter { $0.loss != nil }
        XCTAssertEqual(rows.map { $0.objectiveMetrics["teacher_weight"] }, (1...12).map { $0 <= 6 ? 1 : 0 })
        XCTAssertTrue(rows.prefix(6).allSatisfy { ($0.objectiveMetrics["soft_loss"] ?? 0) > 0 })
        XCTAssertTrue(rows.suffix(6).allSatisfy { $0.objectiveMetrics["soft_loss"] == nil })
    }

    /// Soft labels alone (hard weight 0) pull the student's distribution towards the teacher's: the KL on held-out
    /// windows falls well below where it started.
    func testSoftLabelsAloneMoveTheStudentTowardsTheTeacher() throws {
        let root = try makeTemporaryDirectory()
        let corpus = TestCorpus.make()
        let teacherURL = try trainTeacher(in: root, corpus: corpus)
        let teacher = try loadCheckpoint(teacherURL).decoder!
        var recipe = distilled(tinyRecipe(steps: 30), teacher: teacherURL) { ($0.hardWeight, $0.temperature) = (0, 1) }
        recipe.model.dropout = 0
        let student = try Trainer(recipe: recipe, runDirectory: root.appendingPathComponent("student"), corpus: corpus, console: silent)
        let windows = IntTensor(Array(corpus.validation.shards[0].prefix(4 * 8)), shape: [4, 8])
        func divergence() -> Float {
            noGrad {
                let decoder = (student.model as! DistilledStudent).student as! GPTModel
                return distillationLoss(student: decoder.forward(tokens: windows), teacher: teacher.forward(tokens: windows), temperature: 1).item
            }
        }
        let before = divergence()
        try student.run()
        let after = divergence()
        XCTAssertLessThan(after, 0.5 * before, "KL to the teacher \(before) → \(after)")
    }

    /// Latent terms between a width-16 student and a width-32 teacher: the projections are trained and saved under
    /// distill., a resumed run equals an uninterrupted one bit for bit, and the checkpoint loads for use without them.
    func testLatentDistillationResumesExactlyAndItsCheckpointLoadsWithoutTheProjections() throws {
        let root = try makeTemporaryDirectory()
        let corpus = TestCorpus.make()
        let teacher = try trainTeacher(in: root, corpus: corpus)
        let recipe = distilled(tinyRecipe(steps: 20), teacher: teacher) {
            ($0.hiddenWeight, $0.attentionWeight, $0.layerMap) = (1, 1, [1, 3])
        }
        let straight = try Trainer(recipe: recipe, runDirectory: root.appendingPathComponent("straight"), corpus: corpus, console: silent)
        try straight.run()
        let names = straight.model.namedParameters().map(\.name)
        XCTAssertEqual(names.filter { $0.hasPrefix("distill.") },
                       ["distill.hidden_projection.0.weight", "distill.hidden_projection.1.weight"])
        let first = try Trainer(recipe: recipe, runDirectory: root.appendingPathComponent("resumed"), corpus: corpus, console: silent)
        _ = try first.run(stopAfter: 10)
        let resumed = try Trainer(recipe: recipe, runDirectory: root.appendingPathComponent("resumed"), corpus: corpus,
                                  start: .resume, console: silent)
        try resumed.run()
        let expected = try readMetrics(root.appendingPathComponent("straight/metrics.jsonl"))
        assertSameCurves(try readMetrics(root.appendingPathComponent("resumed/metrics.jsonl")), expected)
        let rows = expected.filter { $0.loss != nil }
        for name in ["hidden_loss", "attention_loss"] {
            let first = rows.first!.objectiveMetrics[name]!, last = rows.last!.objectiveMetrics[name]!
            XCTAssertLessThan(last, first, "\(name) \(first) → \(last)")
        }
        let loaded = try loadCheckpoint(root.appendingPathComponent("straight"))
        XCTAssertNotNil(loaded.decoder)
        XCTAssertFalse(loaded.model.namedParameters().contains { $0.name.hasPrefix("distill.") })
        // A plain run starts from it (the projections are dropped); a distillation run from a plain checkpoint
        // keeps its fresh projections.
        try Trainer(recipe: tinyRecipe(steps: 2), runDirectory: root.appendingPathComponent("plain-from"), corpus: corpus,
                    start: .initFrom(root.appendingPathComponent("straight")), console: silent).run()
        try Trainer(recipe: recipe, runDirectory: root.appendingPathComponent("distill-from"), corpus: corpus,
                    start: .initFrom(root.appendingPathComponent("plain-from")), console: silent).run(stopAfter: 2)
    }

    /// A teacher named by its run directory is pinned to that run's newest checkpoint when the student starts: the
    /// resolved recipe names the checkpoint, and a student resumed after the teacher's run went on still equals an
    /// uninterrupted student bit for bit.
    func testAResumedStudentReadsTheTeacherItStartedWith() throws {
        let root = try makeTemporaryDirectory()
        let corpus = TestCorpus.make()
        var teacherRecipe = tinyRecipe(steps: 20)
        (teacherRecipe.model.dModel, teacherRecipe.model.dropout) = (32, 0)
        let teacher = root.appendingPathComponent("teacher")
        _ = try Trainer(recipe: teacherRecipe, runDirectory: teacher, corpus: corpus, console: silent).run(stopAfter: 10)
        let recipe = distilled(tinyRecipe(steps: 16), teacher: teacher) { _ in }
        try Trainer(recipe: recipe, runDirectory: root.appendingPathComponent("straight"), corpus: corpus, console: silent).run()
        _ = try Trainer(recipe: recipe, runDirectory: root.appendingPathComponent("resumed"), corpus: corpus, console: silent).run(stopAfter: 8)
        let stored = try Recipe.load(RunDirectory(root.appendingPathComponent("resumed")).recipe)
        XCTAssertEqual(stored.objective.distill?.teacher, teacher.appendingPathComponent("checkpoints/step_000010").path)
        try Trainer(recipe: teacherRecipe, runDirectory: teacher, corpus: corpus, start: .resume, console: silent).run()   // on to step 20
        try Trainer(recipe: stored, runDirectory: root.appendingPathComponent("resumed"), corpus: corpus, start: .resume, console: silent).run()
        assertSameCurves(try readMetrics(root.appendingPathComponent("resumed/metrics.jsonl")),
                         try readMetrics(root.appendingPathComponent("straight/metrics.jsonl")))
    }

    /// The teacher runs forward only: frozen, no gradient buffers after backward, and no tape entries of its own.
    func testTheTeacherRecordsNoTapeAndGetsNoGradient() throws {
        let root = try makeTemporaryDirectory()
        let corpus = TestCorpus.make()
        let teacherURL = try trainTeacher(in: root, corpus: corpus)
        var model = tinyRecipe().model
        model.vocabSize = corpus.vocabularySize
        var objective = ObjectiveSection()
        objective.kind = .distill
        var section = DistillSection()
        (section.teacher, section.config.hiddenWeight, section.config.attentionWeight) = (teacherURL.path, 1, 1)
        objective.distill = section
        var generator = RandomGenerator(seed: 3)
        let distillation = try XCTUnwrap(try makeModelAndObjective(model: model, objective: objective,
                                                                   context: ObjectiveContext(model: model, training: true),
                                                                   generator: &generator) as? Distillation)
        let teacher = try XCTUnwrap(distillation.teacher)
        let windows = IntTensor(Array(corpus.validation.shards[0].prefix(2 * 9)), shape: [2, 9])
        let inputs = windows.columns(0..<8)
        XCTAssertEqual(Autograd.pendingOps, 0)
        _ = noGrad { teacher.run(inputs, rows: nil, collectLayers: true, attentionLayers: [1, 2, 3]) }
        XCTAssertEqual(Autograd.pendingOps, 0, "a teacher pass records nothing")
        let (loss, _) = distillation.loss(windows, generator: &generator)
        loss.backward()
        XCTAssertTrue(teacher.module.parameters.allSatisfy { !$0.requiresGrad && $0.grad == nil })
        XCTAssertTrue(distillation.model.trainableParameters.allSatisfy { $0.grad != nil })
    }

    /// A Hugging Face export of the teacher teaches exactly as the checkpoint does.
    func testAHuggingFaceTeacherEqualsItsCheckpoint() throws {
        let root = try makeTemporaryDirectory()
        let corpus = TestCorpus.make()
        let teacherURL = try trainTeacher(in: root, corpus: corpus)
        let exported = root.appendingPathComponent("teacher-hf")
        try exportHuggingFace(try loadCheckpoint(teacherURL).decoder!, to: exported)
        let recipe = tinyRecipe(steps: 3)
        for (name, teacher) in [("from-checkpoint", teacherURL), ("from-hf", exported)] {
            try Trainer(recipe: distilled(recipe, teacher: teacher) { $0.hiddenWeight = 1 },
                        runDirectory: root.appendingPathComponent(name), corpus: corpus, console: silent).run()
        }
        assertSameCurves(try readMetrics(root.appendingPathComponent("from-hf/metrics.jsonl")),
                         try readMetrics(root.appendingPathComponent("from-checkpoint/metrics.jsonl")))
    }

    /// An encoder-only Hugging Face BertModel (no masked-LM head) can teach hidden states and attention, not soft labels.
    func testAnEncoderOnlyBertDirectoryTeachesLatentTermsOnly() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("HFInteropTests/Fixtures/import/bert_encoder")
        XCTAssertTrue(isHuggingFaceDirectory(directory))
        XCTAssertThrowsError(try loadTextModel(directory)) { XCTAssertTrue("\($0)".contains("encoder-only"), "\($0)") }
        let teacher = try loadTextModel(directory, freshMaskedLMHead: true).model
        XCTAssertTrue(teacher is BertForMaskedLM)
        XCTAssertFalse(teacher.isTraining)
    }

    func testTeacherProblemsAreOneLineErrorsNamingTheTeacher() throws {
        let root = try makeTemporaryDirectory()
        let corpus = TestCorpus.make()
        let teacher = try trainTeacher(in: root, corpus: corpus)
        let recipe = tinyRecipe(steps: 2)
        func message(_ recipe: Recipe, corpus: TrainingCorpus = corpus) -> String {
            do {
                _ = try Trainer(recipe: recipe, runDirectory: root.appendingPathComponent("run-\(UUID().uuidString)"), corpus: corpus, console: silent)
                return "no error"
            } catch { return "\(error)" }
        }
        let missing = message(distilled(recipe, teacher: root.appendingPathComponent("nowhere")) { _ in })
        XCTAssertTrue(missing.contains("nowhere") && missing.contains("no such checkpoint"), missing)
        let otherVocabulary = message(distilled(recipe, teacher: teacher) { _ in }, corpus: TestCorpus.make(vocabularySize: 80))
        XCTAssertTrue(otherVocabulary.contains("vocabulary of 64, the student 80"), otherVocabulary)
        let layerMap = message(distilled(recipe, teacher: teacher) { ($0.hiddenWeight, $0.layerMap) = (1, [1, 9]) })
        XCTAssertTrue(layerMap.contains("teacher layer 9") && layerMap.contains("has 3"), layerMap)
        let mapLength = message(distilled(recipe, teacher: teacher) { ($0.hiddenWeight, $0.layerMap) = (1, [1]) })
        XCTAssertTrue(mapLength.contains("objective.distill.layer_map"), mapLength)
        var moreHeads = distilled(recipe, teacher: teacher) { $0.attentionWeight = 1 }
        (moreHeads.model.heads, moreHeads.model.dModel) = (4, 16)
        let heads = message(moreHeads)
        XCTAssertTrue(heads.contains("equal head counts"), heads)
        for text in [missing, otherVocabulary, layerMap, mapLength, heads] { XCTAssertFalse(text.contains("\n"), text) }
    }

    /// A BERT student learns from a BERT teacher on the command line: masked LM with the recipe's masking
    /// (borrowed from masked_lm), soft labels and latent terms; `pretrain eval` scores the student without a teacher.
    func testABertStudentDistilsFromABertTeacherOnTheCommandLine() throws {
        let root = try makeTemporaryDirectory()
        try TestCorpus.writeMaskedLMCorpus(in: root)
        try """
            model: {flavor: bert, layers: 2, d_model: 32, heads: 2, context: 16}
            objective: {kind: masked_lm}
            data: {corpus: corpus}
            optim: {batch_size: 4}
            train: {steps: 6, eval_every: 6, log_every: 1, checkpoint_every: 6}
            """.write(to: root.appendingPathComponent("teacher.yaml"), atomically: true, encoding: .utf8)
        let teacher = try runPretrain(["train", "teacher.yaml", "--run-dir", "teacher"], in: root)
        XCTAssertEqual(teacher.status, 0, teacher.output)
        try """
            model: {flavor: bert, layers: 1, d_model: 16, heads: 2, context: 16}
            objective:
              kind: distill
              masking: {rate: 0.3}
              distill: {teacher: teacher, hidden_weight: 1, attention_weight: 1, layer_map: [2]}
            data: {corpus: corpus}
            optim: {batch_size: 4}
            train: {steps: 4, eval_every: 4, log_every: 1, checkpoint_every: 4}
            """.write(to: root.appendingPathComponent("student.yaml"), atomically: true, encoding: .utf8)
        let student = try runPretrain(["train", "student.yaml", "--run-dir", "student"], in: root)
        XCTAssertEqual(student.status, 0, student.output)
        let rows = try readMetrics(root.appendingPathComponent("student/metrics.jsonl"))
        let trained = try XCTUnwrap(rows.first { $0.loss != nil })
        for name in ["soft_loss", "hidden_loss", "attention_loss"] { XCTAssertNotNil(trained.objectiveMetrics[name], name) }
        XCTAssertNotNil(rows.last?.valLoss)
        let resolved = try String(contentsOf: root.appendingPathComponent("student/recipe.yaml"), encoding: .utf8)
        XCTAssertTrue(resolved.contains("rate: 3e-1"), resolved)
        let eval = try runPretrain(["eval", "student", "--data", "corpus"], in: root)
        XCTAssertEqual(eval.status, 0, eval.output)
    }
}
