import Foundation
import Studies
import TestSupport
import Training
import XCTest

/// The data-centric study at its quick size on small made-up sources laid out as `make sources` lays out the real
/// ones: every question's arms run and are measured, the section is written, and a rerun with reuse trains nothing.
final class StudyDataTests: XCTestCase {
    nonisolated(unsafe) static var root: URL!
    nonisolated(unsafe) static var results: StudyDataResults!

    /// Lines of `words` drawn by a fixed rule; `offensive` fortunes use words of their own that the judge can learn.
    static func lines(_ words: [String], count: Int, salt: Int) -> [String] {
        (0..<count).map { line in (0..<8).map { words[(line * 31 + $0 * 7 + salt) % words.count] }.joined(separator: " ") }
    }

    static func writeSources(into root: URL) throws {
        func write(_ path: String, _ documents: [(String, [String: Any])]) throws {
            let url = root.appendingPathComponent("sources/\(path)")
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            let lines = try documents.map { text, meta in
                String(decoding: try JSONSerialization.data(withJSONObject: ["text": text, "meta": meta], options: [.sortedKeys]), as: UTF8.self)
            }
            try lines.joined(separator: "\n").write(to: url, atomically: true, encoding: .utf8)
        }
        let clean = ["il", "sole", "mare", "casa", "vento", "amico", "libro", "notte", "giorno", "strada", "fiore", "cielo"]
        let rude = ["brutto", "scemo", "porco", "stupido", "cretino", "idiota"]
        for (index, language) in ["it", "es"].enumerated() {
            let documents = lines(clean, count: 120, salt: index).map { ($0, ["offensive": false, "lang": language] as [String: Any]) }
                + lines(rude + clean, count: 40, salt: index + 5).map { ($0, ["offensive": true, "lang": language] as [String: Any]) }
            try write("fortunes/\(language).jsonl", documents)
        }
        // The skill sources: chunks of real text of four kinds from the repository (plays, docs, Swift code).
        func chunks(_ path: String, lines per: Int) throws -> [(String, [String: Any])] {
            let lines = try String(contentsOf: repositoryRoot.appendingPathComponent(path), encoding: .utf8)
                .split(separator: "\n").map(String.init).filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
            return stride(from: 0, to: min(lines.count, 150 * per), by: per).map {
                (lines[$0..<min(lines.count, $0 + per)].joined(separator: "\n"), [:])
            }
        }
        try write("fortunes/en.jsonl", try chunks("data/shakespeare/as_you_like_it.txt", lines: 3))
        try write("manpages.jsonl", try chunks("docs/CURATION.md", lines: 2))
        try write("cpython.jsonl", try chunks("Sources/Training/Trainer.swift", lines: 3))
        try write("shakespeare-modern.jsonl", try chunks("data/shakespeare/hamlet.txt", lines: 4))
        try StudyTransferTests.writePlays(into: root)
    }

    static func study(reuse: Bool) -> StudyData {
        var size = StudyDataSize.quick
        size.vocabulary = 200
        return StudyData(size: size, sources: root.appendingPathComponent("sources"), text: root.appendingPathComponent("modern"),
                         folioText: root.appendingPathComponent("folio"), out: root.appendingPathComponent("study"),
                         resultsFile: root.appendingPathComponent("docs/RESULTS.md"), reuse: reuse,
                         command: "pretrain study data --quick", cpu: "test CPU")
    }

    override class func setUp() {
        super.setUp()
        (root, results) = runQuickStudy("study-data") {
            root = $0
            try writeSources(into: root)
            return try study(reuse: false).run(console: ConsoleProgress(mode: .silent))
        }
    }

    override class func tearDown() {
        try? FileManager.default.removeItem(at: root)
        super.tearDown()
    }

    func testEveryQuestionHasItsArmsOverItsSeeds() throws {
        let results = try XCTUnwrap(Self.results)
        for arm in ["mle", "conditional", "filtering"] {
            XCTAssertEqual(results.conditional(arm).map(\.seed), [1, 2], arm)
        }
        // The classifier filters keep fewer fortunes as the threshold falls.
        let filtered = ["classifier-90", "classifier-50", "classifier-10"].map { results.conditional($0).map(\.keptDocuments) }
        XCTAssertTrue(filtered.allSatisfy { $0.count == 1 }, "\(filtered)")
        XCTAssertTrue(filtered[0][0] >= filtered[1][0] && filtered[1][0] >= filtered[2][0], "\(filtered)")
        // Filtering keeps the training fortunes that are not offensive.
        let (all, kept) = (results.conditional("mle")[0].keptDocuments, results.conditional("filtering")[0].keptDocuments)
        XCTAssertEqual(Double(all - kept) / Double(all), results.offensiveShare, accuracy: 1e-12)
        for row in results.conditional {
            XCTAssertTrue(row.cleanLoss.isFinite && row.cleanLoss > 0, row.run)
            XCTAssertTrue((0...1).contains(row.offensiveRate), row.run)
            XCTAssertEqual(row.offensiveRateGood != nil, row.arm == "conditional", row.run)
        }
        // The made-up offensive fortunes use words of their own: the judge learns them.
        XCTAssertEqual(Set(results.judgeAccuracy.keys), ["offensive", "not offensive"])
        XCTAssertGreaterThan(try XCTUnwrap(results.judgeAccuracy["not offensive"]), 0.9)
        XCTAssertEqual(results.offensiveShare, 0.25, accuracy: 0.05)

        let graph = try XCTUnwrap(results.graph)
        XCTAssertEqual(graph.skills, ["cpython", "fortunes-en", "manpages", "shakespeare"])
        XCTAssertEqual(results.mixture("uniform").map(\.seed), [1, 2])
        XCTAssertEqual(results.mixture("Skill-it").map(\.seed), [1, 2])
        XCTAssertEqual(results.mixture("natural (by size)").count, 1)
        for row in results.mixtures {
            XCTAssertEqual(Set(row.losses.keys), Set(graph.skills), row.run)
            XCTAssertTrue(row.losses.values.allSatisfy(\.isFinite), row.run)
            XCTAssertEqual(row.tokens.values.reduce(0, +), 8 * 4 * 16, row.run)   // steps · batch · context
        }
        XCTAssertEqual(results.age.map(\.arm), ["modern spelling", "First Folio spelling", "modern, then 4 steps of folio",
                                                "folio, then 4 steps of modern"])
        XCTAssertTrue(results.age.allSatisfy { $0.modern.isFinite && $0.folio.isFinite })

        // Every step's count is at most the one before.
        XCTAssertEqual(results.funnel.map(\.source), ["cpython", "fortunes-en", "manpages", "shakespeare"])
        XCTAssertEqual(results.funnelSteps, ["normalize", "exact_dedup", "near_dedup", "boilerplate_lines", "quality", "filter"])
        for row in results.funnel {
            XCTAssertGreaterThan(row.input, 50, row.source)
            XCTAssertEqual(zip([row.input] + row.kept, row.kept).filter { $0.0 < $0.1 }.count, 0, "\(row)")
            XCTAssertGreaterThan(row.kept.last!, 0, row.source)
        }
        XCTAssertEqual(results.curation.map(\.arm), ["raw", "curated", "raw", "curated"])
        XCTAssertTrue(results.curation.allSatisfy { $0.cleanLoss.isFinite })
        XCTAssertLessThan(results.curation[1].documents, results.curation[0].documents)
    }

    func testTheSectionHoldsEveryQuestionAndTheClaims() throws {
        let document = try String(contentsOf: Self.root.appendingPathComponent("docs/RESULTS.md"), encoding: .utf8)
        XCTAssertTrue(document.contains(StudyDataReport.heading))
        XCTAssertEqual(document.components(separatedBy: "\n### ").count - 1, 5)   // four questions and the claims
        XCTAssertEqual(StudyDataReport.claims(try XCTUnwrap(Self.results)).count, 6)
        XCTAssertTrue(FileManager.default.fileExists(atPath: Self.root.appendingPathComponent("docs/results/data-skills-graph.svg").path))
    }

    func testARerunWithReuseTrainsNothingAgain() throws {
        let again = try Self.study(reuse: true).run(console: ConsoleProgress(mode: .silent))
        XCTAssertEqual(again.reusedRuns, 3 * 2 + 3 + 2 * 2 + 1 + 4 + 2 * 2)
        XCTAssertEqual(again.conditional.map(\.offensiveRate), try XCTUnwrap(Self.results).conditional.map(\.offensiveRate))
        XCTAssertEqual(again.mixtures.map(\.meanLoss), try XCTUnwrap(Self.results).mixtures.map(\.meanLoss))
    }

    func testMissingSourcesAreOneLineNamingTheFile() throws {
        var study = Self.study(reuse: false)
        study = StudyData(size: study.size, sources: Self.root.appendingPathComponent("nowhere"), text: study.text,
                          folioText: study.folioText, out: Self.root.appendingPathComponent("other"), resultsFile: study.resultsFile,
                          reuse: false, command: "", cpu: "")
        XCTAssertThrowsError(try study.run(console: ConsoleProgress(mode: .silent))) {
            XCTAssertEqual("\($0)", "\(Self.root.appendingPathComponent("nowhere/fortunes/it.jsonl").path): missing; "
                           + "`make sources` fetches and prepares the study's sources")
        }
    }
}
