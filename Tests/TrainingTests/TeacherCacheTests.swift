import Foundation
import Objectives
import Layers
import Tensors
import TestSupport
import Training
import XCTest

/// `pretrain distill cache` and `objective.distill.cache`: soft labels read from disk instead of a live teacher.
final class TeacherCacheTests: XCTestCase {
    private let silent = ConsoleProgress(mode: .silent)

    /// ROOT/corpus and a 2-layer width-32 teacher trained on it in ROOT/teacher.
    private func corpusAndTeacher(_ root: URL) throws -> (corpus: URL, teacher: URL) {
        let corpus = root.appendingPathComponent("corpus")
        try TestCorpus.writePrepared(to: corpus)
        var recipe = tinyRecipe(steps: 10)
        recipe.data.corpus = corpus.path
        (recipe.model.dModel, recipe.model.dropout) = (32, 0)
        let teacher = root.appendingPathComponent("teacher")
        try Trainer(recipe: recipe, runDirectory: teacher, corpus: try TrainingCorpus.load(recipe.data), console: silent).run()
        return (corpus, teacher)
    }

    private func student(_ corpus: URL, steps: Int = 12) -> Recipe {
        var recipe = tinyRecipe(steps: steps)
        recipe.data.corpus = corpus.path
        recipe.data.sampling = .sequential
        recipe.model.dropout = 0
        recipe.objective.kind = .distill
        return recipe
    }

    /// Keeping every token (k = V), the cached soft labels train the student as the live teacher does.
    func testACacheOfEveryTokenTrainsAsTheLiveTeacher() throws {
        let root = try makeTemporaryDirectory()
        let (corpus, teacher) = try corpusAndTeacher(root)
        let cache = root.appendingPathComponent("cache")
        let header = try TeacherCache.write(teacher: try loadCheckpoint(teacher).decoder!, teacherPath: teacher.path, corpus: corpus,
                                            context: 8, topK: 64, out: cache)
        XCTAssertEqual(header.windows, (6000 - 9) / 8 + 1)   // one shard of 6000 tokens, a window every 8
        var live = student(corpus), cached = student(corpus)
        var section = DistillSection()
        section.teacher = teacher.path
        live.objective.distill = section
        section = DistillSection()
        section.cache = cache.path
        cached.objective.distill = section
        for (name, recipe) in [("live", live), ("cached", cached)] {
            try Trainer(recipe: recipe, runDirectory: root.appendingPathComponent(name), corpus: try TrainingCorpus.load(recipe.data),
                        console: silent).run()
        }
        let a = try readMetrics(root.appendingPathComponent("live/metrics.jsonl")).filter { $0.loss != nil }
        let b = try readMetrics(root.appendingPathComponent("cached/metrics.jsonl")).filter { $0.loss != nil }
        XCTAssertEqual(a.count, 12)
        for (x, y) in zip(a, b) {
            XCTAssertEqual(x.loss!, y.loss!, accuracy: 1e-4, "loss at step \(x.step)")
            XCTAssertEqual(x.objectiveMetrics["soft_loss"]!, y.objectiveMetrics["soft_loss"]!, accuracy: 1e-4, "soft loss at step \(x.step)")
        }
    }

    func testTopIndicesAreTheLargestWithTheSmallerIdFirstOnTies() {
        let values: [Float] = [0.5, 3, -1, 3, 2, 7]
        XCTAssertEqual(values.withUnsafeBufferPointer { topIndices($0.baseAddress!, count: 6, k: 3) }, [5, 1, 3])
    }

    func testRecipesThatCannotReadTheCacheAreOneLineErrorsNamingTheKey() throws {
        let root = try makeTemporaryDirectory()
        let (corpus, teacher) = try corpusAndTeacher(root)
        let cache = root.appendingPathComponent("cache")
        try TeacherCache.write(teacher: try loadCheckpoint(teacher).decoder!, teacherPath: teacher.path, corpus: corpus, context: 8, topK: 4, out: cache)
        func problems(_ change: (inout Recipe) -> Void) -> String {
            var recipe = student(corpus)
            var section = DistillSection()
            section.cache = cache.path
            recipe.objective.distill = section
            change(&recipe)
            do { try recipe.validate(); return "valid" } catch { return "\(error)" }
        }
        XCTAssertEqual(problems { _ in }, "valid")
        XCTAssertTrue(problems { $0.data.sampling = .random }.contains("needs data.sampling: sequential"))
        XCTAssertTrue(problems { $0.model.context = 16 }.contains("holds windows of context 8"))
        XCTAssertTrue(problems { $0.objective.distill!.config.hiddenWeight = 1 }.contains("need a live teacher"))
        // A truncated array is named when the run opens the cache.
        let ids = cache.appendingPathComponent("ids.bin")
        let bytes = try Data(contentsOf: ids)
        try bytes.prefix(bytes.count - 4).write(to: ids)
        var recipe = student(corpus)
        var section = DistillSection()
        section.cache = cache.path
        recipe.objective.distill = section
        XCTAssertThrowsError(try Trainer(recipe: recipe, runDirectory: root.appendingPathComponent("run"),
                                         corpus: try TrainingCorpus.load(recipe.data), console: silent)) { error in
            XCTAssertTrue("\(error)".contains("ids.bin") && "\(error)".contains("truncated"), "\(error)")
        }
    }

    func testTheCommandWritesACacheThatATrainingRunReads() throws {
        let root = try makeTemporaryDirectory()
        let (_, _) = try corpusAndTeacher(root)
        let result = try runPretrain(["distill", "cache", "teacher", "--data", "corpus", "--context", "8", "--top-k", "8", "--out", "cache"], in: root)
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("cached the top 8 of 749 windows × 8 positions"), result.output)
        try """
            model: {layers: 1, d_model: 16, heads: 2, context: 8}
            objective: {kind: distill, distill: {cache: cache, temperature: 1}}
            data: {corpus: corpus, sampling: sequential}
            optim: {batch_size: 4}
            train: {steps: 4, eval_every: 4, log_every: 1, checkpoint_every: 4}
            """.write(to: root.appendingPathComponent("student.yaml"), atomically: true, encoding: .utf8)
        let train = try runPretrain(["train", "student.yaml", "--run-dir", "student"], in: root)
        XCTAssertEqual(train.status, 0, train.output)
        XCTAssertNotNil(try readMetrics(root.appendingPathComponent("student/metrics.jsonl")).first { $0.loss != nil }?.objectiveMetrics["soft_loss"])
    }
}
