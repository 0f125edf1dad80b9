import Foundation
import TestSupport
import Training
import XCTest

/// `pretrain study cpt --quick` (issue 5, item 5) on real text: modern-spelling Shakespeare upstream, the First
/// Folio spelling downstream (1024-token BPE, The Tempest held out of both). The study runs once for the class
/// (about two minutes on two cores); each test checks one claim or one output on its numbers.
final class StudyCPTTests: XCTestCase {
    private static var root: URL?
    private static var outcome: Result<(results: [String: Any], output: String), Error>?

    private static let repository = repositoryRoot
    private static let otherSections = "# Results\n\n## Another study\n\nkeep me\n\n## Continual pre-training (issue 5)\n\nstale numbers\n\n## A later study\n\nkeep me too\n"


    /// Both corpora with one tokenizer, in `root`.
    private static func prepareCorpora(in root: URL) throws {
        let texts = repository.appendingPathComponent("data")
        for arguments in [["tokenize", "--train-vocab", "1024", "--val-files", "tempest", "--out", "up",
                           texts.appendingPathComponent("shakespeare").path],
                          ["tokenize", "--tokenizer", "up/tokenizer.json", "--val-files", "tempest", "--out", "down",
                           texts.appendingPathComponent("shakespeare-folio").path]] {
            let result = try runPretrain(arguments, in: root)
            guard result.status == 0 else { throw TrainingError("pretrain \(arguments.joined(separator: " ")): \(result.output)") }
        }
    }

    override class func setUp() {
        super.setUp()
        outcome = Result {
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("study-cpt-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: root.appendingPathComponent("docs"), withIntermediateDirectories: true)
            self.root = root
            try prepareCorpora(in: root)
            try otherSections.write(to: root.appendingPathComponent("docs/RESULTS.md"), atomically: true, encoding: .utf8)
            let result = try runPretrain(["study", "cpt", "--quick", "--out", "study", "--results", "docs/RESULTS.md",
                                  "--upstream", "up", "--downstream", "down"], in: root)
            guard result.status == 0 else { throw TrainingError("pretrain study cpt --quick failed: \(result.output)") }
            let data = try Data(contentsOf: root.appendingPathComponent("study/results.json"))
            guard let results = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw TrainingError("study/results.json is not a JSON object")
            }
            return (results, result.output)
        }
    }

    override class func tearDown() {
        if let root { try? FileManager.default.removeItem(at: root) }
        super.tearDown()
    }

    private func results() throws -> [String: Any] { try XCTUnwrap(Self.outcome).get().results }

    /// The arm named `name` in results.json.
    private func arm(_ name: String) throws -> [String: Any] {
        let arms = try XCTUnwrap(try results()["arms"] as? [[String: Any]])
        return try XCTUnwrap(arms.first { $0["name"] as? String == name }, "no arm \(name) in results.json")
    }

    private func value(_ key: String, of name: String) throws -> Double {
        try XCTUnwrap(try arm(name)[key] as? Double, "\(name).\(key)")
    }

    func testReplayOfAQuarterForgetsLessThanNoReplay() throws {
        // rewarm_1x is the replay-0 % arm (same schedule, no replay).
        XCTAssertLessThan(try value("forgetting", of: "replay_25"), try value("forgetting", of: "rewarm_1x"))
    }

    func testEveryRewarmPeakEndsWithALowerDownstreamLossThanNoRewarm() throws {
        let constant = try value("downstreamFinal", of: "no_rewarm")
        for name in ["rewarm_0p5x", "rewarm_1x", "rewarm_2x"] {
            XCTAssertLessThan(try value("downstreamFinal", of: name), constant, name)
        }
    }

    func testInfiniteScheduleWithItsAnnealForgetsNoMoreThanRepeatedCosineAtEqualTokens() throws {
        XCTAssertEqual(try arm("infinite_anneal")["tokens"] as? Int, try arm("repeated_cosine")["tokens"] as? Int)
        XCTAssertLessThanOrEqual(try value("forgetting", of: "infinite_anneal"), try value("forgetting", of: "repeated_cosine"))
    }

    func testTheStudyJudgesTheSameClaimsHold() throws {
        let claims = try XCTUnwrap(try results()["claims"] as? [[String: Any]])
        XCTAssertEqual(claims.count, 3)
        for claim in claims { XCTAssertEqual(claim["holds"] as? Bool, true, "\(claim)") }
    }

    func testForgettingIsTheUpstreamLossIncreaseOverTheCheckpoint() throws {
        let reference = try XCTUnwrap(try results()["reference"] as? [String: Any])
        let upstreamLoss = try XCTUnwrap(reference["upstreamLoss"] as? Double)
        for name in ["no_rewarm", "replay_5", "subset", "infinite"] {
            XCTAssertEqual(try value("forgetting", of: name), try value("upstreamFinal", of: name) - upstreamLoss, accuracy: 1e-12)
        }
    }

    func testResultsSectionIsReplacedAndOtherSectionsKept() throws {
        _ = try results()
        let root = try XCTUnwrap(Self.root)
        let document = try String(contentsOf: root.appendingPathComponent("docs/RESULTS.md"), encoding: .utf8)
        XCTAssertFalse(document.contains("stale numbers"))
        XCTAssertTrue(document.hasPrefix("# Results\n\n## Another study\n\nkeep me\n\n## Continual pre-training\n"))
        XCTAssertTrue(document.hasSuffix("\n## A later study\n\nkeep me too\n"), String(document.suffix(200)))
        XCTAssertEqual(document.components(separatedBy: "## Continual pre-training\n").count, 2)
        XCTAssertTrue(document.contains("**Quick run**"))
        XCTAssertTrue(document.contains("| replay 25 % |"))
    }

    func testFiguresAreWrittenBesideTheResultsAndLinked() throws {
        _ = try results()
        let root = try XCTUnwrap(Self.root)
        let document = try String(contentsOf: root.appendingPathComponent("docs/RESULTS.md"), encoding: .utf8)
        for group in ["rewarm", "replay", "schedule", "subset"] {
            for set in ["downstream", "upstream"] {
                let name = "results/cpt-\(group)-\(set).svg"
                let svg = try String(contentsOf: root.appendingPathComponent("docs/" + name), encoding: .utf8)
                XCTAssertTrue(svg.hasPrefix("<?xml") && svg.contains("<path d=\"M"), name)
                XCTAssertTrue(document.contains("](\(name))"), name)
            }
        }
    }

    func testCorporaWithDifferentTokenizersAreRefused() throws {
        let root = try makeTemporaryDirectory()
        let plays = ["tempest", "macbeth"].map { Self.repository.appendingPathComponent("data/shakespeare-folio/\($0).txt").path }
        for name in ["a", "b"] {
            let result = try runPretrain(["tokenize", "--train-vocab", name == "a" ? "300" : "301", "--val-files", "tempest",
                                       "--out", name] + plays, in: root)
            XCTAssertEqual(result.status, 0, result.output)
        }
        let result = try runPretrain(["study", "cpt", "--quick", "--upstream", "a", "--downstream", "b", "--out", "study"], in: root)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.output.contains("--upstream a and --downstream b were tokenized with different tokenizers"), result.output)
    }
}
