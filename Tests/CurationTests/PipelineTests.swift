import Curation
import Foundation
import TestSupport
import XCTest

/// The pipeline file: steps decoded by kind through the registry, every mistake one line naming the file, the place,
/// the step and what is valid; and a step added from outside the module by registering it.
final class PipelineTests: XCTestCase {
    func testStepsAreMadeInOrderWithTheirKeys() throws {
        let pipeline = try CurationPipeline.parse("""
            steps:
              - kind: normalize
                collapse_spaces: true
              - kind: near_dedup
                bands: 16
                rows: 8
                threshold: 0.8
            """, file: "p.yaml")
        XCTAssertEqual(pipeline.steps.map { type(of: $0).kind }, ["normalize", "near_dedup"])
        XCTAssertTrue((pipeline.steps[0] as! Normalize).collapseSpaces)
        let near = pipeline.steps[1] as! NearDedup
        XCTAssertEqual([near.bands, near.rows], [16, 8])
        XCTAssertEqual(near.threshold, 0.8)
    }

    func testMistakesAreOneLineNamingTheFileAndWhatIsValid() {
        let cases: [(String, [String])] = [
            ("steps:\n  - kind: near_dedupe\n", ["p.yaml:2:11: steps[0]: unknown step kind 'near_dedupe' (did you mean near_dedup?); valid kinds: normalize, exact_dedup, near_dedup"]),
            ("steps:\n  - kind: normalize\n  - kind: near_dedup\n    band: 3\n", ["p.yaml:4:5: steps[1] (near_dedup): unknown key 'band' (did you mean bands?); valid keys: shingle, shingle_size, bands, rows, threshold, seed"]),
            ("steps:\n  - kind: near_dedup\n    threshold: 1.5\n", ["p.yaml:3:16: steps[0] (near_dedup): threshold must be in (0, 1], got 1.5"]),
            ("steps:\n  - kind: near_dedup\n    threshold: 0\n", ["threshold must be in (0, 1], got 0.0"]),
            ("steps:\n  - kind: near_dedup\n    bands: 0\n", ["steps[0] (near_dedup): bands must be ≥ 1, got 0"]),
            ("steps:\n  - kind: near_dedup\n    rows: -2\n", ["rows must be ≥ 1, got -2"]),
            // Found by `pretrain fuzz curate`: a kind with line breaks in it is echoed escaped, on one line;
            // bands × rows overflowed before the check.
            ("steps:\n  - kind: \"contr\\n\\nol_tag\"\n", ["unknown step kind 'contr\\n\\nol_tag'"]),
            ("steps:\n  - kind: near_dedup\n    bands: 8\n    rows: 9223372036854775807\n", ["× rows must be ≤ 4096 permutations"]),
            ("steps:\n  - kind: near_dedup\n    bands: many\n", ["bands must be an integer, got 'many'"]),
            ("steps:\n  - kind: near_dedup\n    shingle: lines\n", ["shingle must be one of words, characters, got 'lines'"]),
            ("steps:\n  - kind: exact_dedup\n    threshold: 1\n", ["unknown key 'threshold'; it takes no keys"]),
            ("steps:\n  - normalize\n", ["p.yaml:2:5: steps[0]: a step is a mapping with a 'kind:'"]),
            ("steps:\n  - collapse_spaces: true\n", ["steps[0]: missing 'kind:' (one of normalize,"]),
            ("steps: []\n", ["p.yaml: 'steps:' must be a non-empty list"]),
            ("stages:\n  - kind: normalize\n", ["p.yaml:1:1: unknown key 'stages'; a pipeline has only 'steps:'"]),
            ("steps:\n  - kind: normalize\n    trim: true\n    trim: false\n", ["steps[0]: key 'trim' appears twice"]),
            ("steps:\n  - kind: normalize\nsteps:\n  - kind: exact_dedup\n", ["p.yaml:3:1: 'steps:' appears twice"]),
            ("steps:\n  - kind: [normalize\n", ["p.yaml: not valid YAML"]),
            ("- a\n- b\n", ["p.yaml: a pipeline is a mapping with a list under 'steps:'"]),
            ("x: &a [1]\nsteps:\n  - kind: normalize\n    nfc: *a\n", ["p.yaml: line 4, column 10: a pipeline file may not use aliases"]),
            (String(repeating: "[", count: 100) + String(repeating: "]", count: 100), ["nested deeper than the limit of 32 levels"]),
        ]
        for (yaml, parts) in cases {
            assertThrows(parts) { _ = try CurationPipeline.parse(yaml, file: "p.yaml") }
        }
    }

    func testAMissingPipelineFileIsNamed() {
        assertThrows(["no/such/pipeline.yaml: cannot read the pipeline: no such file or directory"]) {
            _ = try CurationPipeline.load("no/such/pipeline.yaml")
        }
    }

    func testTheExamplePipelineParses() throws {
        let pipeline = try CurationPipeline.load(repositoryRoot.appendingPathComponent("pipelines/curate-example.yaml").path)
        XCTAssertEqual(pipeline.steps.map { type(of: $0).kind },
                       ["normalize", "exact_dedup", "near_dedup", "boilerplate_lines", "quality", "filter", "set_meta"])
    }

    /// A step from outside the module: one class and one `register` call, nothing else changes.
    final class Shout: CurationStep {
        static let kind = "test_shout"
        static let keys = ["marks"]
        let marks: Int
        init(settings: StepSettings) throws {
            marks = try settings.int("marks") ?? 1
            guard marks >= 0 else { throw settings.problem("marks", "must be ≥ 0") }
        }
        func apply(to document: inout CurationDocument) throws -> StepVerdict {
            guard !document.text.isEmpty else { return .drop(DropReason("silent", "test_shout: nothing to shout")) }
            document.text = document.text.uppercased() + String(repeating: "!", count: marks)
            document.meta["shouted"] = .bool(true)
            return .keep
        }
    }

    func testARegisteredStepIsDecodedAndRunLikeABuiltIn() throws {
        CurationSteps.register(Shout.self)
        XCTAssertTrue(CurationSteps.kinds.contains("test_shout"))
        let pipeline = try CurationPipeline.parse("steps:\n  - kind: test_shout\n    marks: 2\n", file: "p.yaml")
        let result = try runSteps(pipeline.steps, documents(["hey", ""]))
        XCTAssertEqual(result.kept.map(\.text), ["HEY!!"])
        XCTAssertEqual(result.kept[0].meta["shouted"], .bool(true))
        XCTAssertEqual(result.dropped.map(\.reason.key), ["silent"])
        assertThrows(["steps[0] (test_shout): unknown key 'mark' (did you mean marks?); valid keys: marks"]) {
            _ = try CurationPipeline.parse("steps:\n  - kind: test_shout\n    mark: 2\n", file: "p.yaml")
        }
    }
}
