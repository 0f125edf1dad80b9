import Foundation
import Tensors
import TestSupport
import TextData
import Training
import XCTest

/// `data.balance_by`: windows drawn equally from the groups of documents that share a field's value, whatever their
/// sizes; groups read from documents.jsonl; exact resume; the mistakes a user can make.
final class BalancedWindowsTests: XCTestCase {
    private let silent = ConsoleProgress(mode: .silent)

    /// A train stream of 6,000 tokens in two shards: group "rare" is the first 400 (ids 0..<32), "common" the rest
    /// (ids 32..<64), in documents of 100 tokens.
    private func corpus() -> TrainingCorpus {
        var corpus = TestCorpus.make()
        let rare = (0..<400).map { Int32($0 % 32) }, common = (0..<5600).map { Int32(32 + $0 % 32) }
        // Two shards that split a document: windows are read across the boundary.
        let stream = rare + common
        corpus.trainShards = [Array(stream[..<3050]), Array(stream[3050...])]
        corpus.groups = [
            .init(value: "common", ranges: stride(from: 400, to: 6000, by: 100).map { $0..<($0 + 100) }),
            .init(value: "rare", ranges: stride(from: 0, to: 400, by: 100).map { $0..<($0 + 100) }),
        ]
        return corpus
    }

    func testEachGroupGetsAnEqualShareOfTheWindowsAndWindowsStayInTheirDocuments() throws {
        let corpus = corpus()
        let batcher = try BalancedBatcher(groups: corpus.groups, shards: corpus.trainShards, context: 8, batchSize: 4, seed: 3)
        var rareWindows = 0, windows = 0
        for _ in 0..<500 {
            let batch = batcher.next().values
            for row in 0..<4 {
                let window = batch[(row * 9)..<(row * 9 + 9)]
                let rare = window.allSatisfy { $0 < 32 }, common = window.allSatisfy { $0 >= 32 }
                XCTAssertTrue(rare || common, "a window crosses its group: \(Array(window))")
                if rare { rareWindows += 1 }
                windows += 1
            }
        }
        // 2,000 windows, half expected from the 7 % of tokens that are rare: 4 standard deviations is ±90.
        XCTAssertEqual(Double(rareWindows), 1000, accuracy: 90)
        XCTAssertEqual(batcher.tokensByGroup["rare"], rareWindows * 8)
        XCTAssertEqual(batcher.tokensByGroup.values.reduce(0, +), windows * 8)
    }

    /// A document across the shard boundary (at 3,050): its windows are read from both shards.
    func testAWindowIsReadAcrossShards() throws {
        let corpus = corpus()
        let stream = corpus.trainShards.flatMap { $0 }
        let batcher = try BalancedBatcher(groups: [.init(value: "edge", ranges: [3045..<3055])], shards: corpus.trainShards,
                                          context: 8, batchSize: 1, seed: 5)
        var starts = Set<Int>()
        for _ in 0..<50 {
            let window = batcher.next().values
            let start = try XCTUnwrap([3045, 3046].first { Array(stream[$0..<($0 + 9)]) == window }, "\(window)")
            starts.insert(start)
        }
        XCTAssertEqual(starts, [3045, 3046])
    }

    func testABalancedRunLogsItsGroupsAndResumesExactly() throws {
        let root = try makeTemporaryDirectory()
        var recipe = tinyRecipe(steps: 12)
        recipe.data.balanceBy = "meta.era"
        let straight = try Trainer(recipe: recipe, runDirectory: root.appendingPathComponent("straight"), corpus: corpus(), console: silent)
        try straight.run()
        let interrupted = root.appendingPathComponent("interrupted")
        try Trainer(recipe: recipe, runDirectory: interrupted, corpus: corpus(), console: silent).run(stopAfter: 5)
        try Trainer(recipe: recipe, runDirectory: interrupted, corpus: corpus(), start: .resume, console: silent).run()
        let expected = try readMetrics(root.appendingPathComponent("straight/metrics.jsonl"))
        let actual = try readMetrics(interrupted.appendingPathComponent("metrics.jsonl"))
        assertSameCurves(actual, expected)
        XCTAssertEqual(actual.map(\.sourceTokens), expected.map(\.sourceTokens))
        XCTAssertEqual(Set(try XCTUnwrap(expected.last).sourceTokens.keys), ["common", "rare"])

        var plain = tinyRecipe(steps: 12)
        plain.data.balanceBy = nil
        XCTAssertThrowsError(try Trainer(recipe: plain, runDirectory: interrupted, corpus: TestCorpus.make(), start: .resume, console: silent)) {
            XCTAssertTrue("\($0)".contains("was written with data.balance_by"), "\($0)")
        }
    }

    /// The groups come from documents.jsonl: the train documents by the field's value, `_missing` without it.
    func testGroupsAreReadFromTheCorpusDocumentIndex() throws {
        let root = try makeTemporaryDirectory()
        let lines = (0..<12).map { index -> String in
            let meta = index % 3 == 1 ? "" : #", "meta": {"era": "\#(index % 2 == 0 ? "folio" : "modern")"}"#
            return #"{"text": "Line \#(index) of the play, spoken twice: line \#(index) of the play"\#(meta)}"#
        }
        try Data(lines.joined(separator: "\n").utf8).write(to: root.appendingPathComponent("docs.jsonl"))
        var preparation = CorpusPreparation(inputs: [root.appendingPathComponent("docs.jsonl")], split: .fraction(0.25),
                                            tokenizer: .train(vocabularySize: 300, minFrequency: 2, specialTokens: ["<|endoftext|>"]))
        preparation.shardTokens = 50
        try preparation.run(into: root.appendingPathComponent("corpus"))
        var data = DataSection()
        data.corpus = root.appendingPathComponent("corpus").path
        data.balanceBy = "meta.era"
        let corpus = try TrainingCorpus.load(data)
        XCTAssertEqual(corpus.groups.map(\.value), ["_missing", "folio", "modern"])
        let index = try XCTUnwrap(try PreparedCorpus(directory: root.appendingPathComponent("corpus")).documentIndex())
        let train = index.filter { $0.split == "train" }
        XCTAssertEqual(corpus.groups.map(\.ranges.count).reduce(0, +), train.count)
        XCTAssertEqual(corpus.groups.flatMap(\.ranges).map(\.count).reduce(0, +), corpus.trainShards.map(\.count).reduce(0, +))

        // A corpus without documents.jsonl (plain text) cannot be balanced.
        try Data("Just a play.".utf8).write(to: root.appendingPathComponent("plain.txt"))
        try CorpusPreparation(inputs: [root.appendingPathComponent("plain.txt")], split: .fraction(0),
                              tokenizer: .file(root.appendingPathComponent("corpus/tokenizer.json"))).run(into: root.appendingPathComponent("plain"))
        data.corpus = root.appendingPathComponent("plain").path
        XCTAssertThrowsError(try TrainingCorpus.load(data)) {
            XCTAssertTrue("\($0)".hasPrefix("data.balance_by: \(root.appendingPathComponent("plain").path) has no documents.jsonl"), "\($0)")
        }
    }

    func testRecipeMistakesAreNamed() {
        for (yaml, expected) in [
            ("data: {balance_by: meta.era, mixture: {a: {corpus: A}}}", "data.balance_by balances one corpus by a document field"),
            ("data: {balance_by: meta.era, replay: {corpus: OLD, fraction: 0.1}}", "data.balance_by balances one corpus by a document field"),
        ] {
            XCTAssertThrowsError(try Recipe.parse(yaml, source: "r.yaml").validate(source: "r.yaml"), yaml) {
                XCTAssertTrue("\($0)".contains(expected), "\(yaml): \($0)")
            }
        }
    }
}
