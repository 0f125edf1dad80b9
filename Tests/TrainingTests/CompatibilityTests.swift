import Foundation
import Objectives
import Training
import XCTest

/// Files written before the registries and typed recipes (Fixtures/previous-main, from main at 0bd5520) and every
/// committed recipe still load, and their settings survive.
final class CompatibilityTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/previous-main")
    static let recipes = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("recipes")

    func run(_ name: String) -> URL { Self.fixtures.appendingPathComponent(name) }

    func testRecipesOfEarlierRunsLoadAndRoundTrip() throws {
        for name in ["gpt", "bert", "tera"] {
            let recipe = try Recipe.load(run(name).appendingPathComponent("recipe.yaml"))
            XCTAssertEqual(try Recipe.parse(try recipe.yaml()), recipe, "\(name): the resolved recipe reads back as itself")
        }
        let bert = try Recipe.load(run("bert").appendingPathComponent("recipe.yaml"))
        XCTAssertEqual(bert.objective.kind, .maskedLM)
        XCTAssertEqual(bert.objective.masking.rate, 0.2)
        XCTAssertTrue(bert.objective.masking.wholeWord)
        XCTAssertEqual(bert.precision, .bf16Emulated)
        let tera = try Recipe.load(run("tera").appendingPathComponent("recipe.yaml"))
        XCTAssertEqual(tera.model.positions, .convolutional)
        XCTAssertEqual(tera.objective.tera?.spanLength, 3)
        XCTAssertFalse(tera.objective.hasSettings("masking"), "the default masking: an earlier run wrote for every kind is dropped")
    }

    func testCheckpointsOfEarlierRunsLoad() throws {
        let gpt = try loadCheckpoint(run("gpt"))
        XCTAssertNotNil(gpt.decoder)
        XCTAssertEqual(gpt.state?.step, 2)
        XCTAssertTrue(try gpt.objective() is CausalLanguageModeling)
        let bert = try loadCheckpoint(run("bert"))
        XCTAssertEqual(bert.config.objective.masking.rate, 0.2)
        XCTAssertTrue(try bert.objective() is MaskedLanguageModeling, "masked LM finds [MASK] in the checkpoint's tokenizer")
        let tera = try loadAudioEncoder(run("tera"))
        XCTAssertEqual(tera.encoder.config.frameStack, 2)
        XCTAssertEqual(tera.encoder.config.positions, .convolutional)
        let state = try TrainerState.read(try Checkpoint.resolve(run("tera")).appendingPathComponent(Checkpoint.stateFile))
        XCTAssertNotNil(state.featureBatcher)
    }

    /// Every committed recipe parses (the BEATs loop file and the stages file through their own loaders).
    func testEveryCommittedRecipeParses() throws {
        let files = try FileManager.default.contentsOfDirectory(at: Self.recipes, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "yaml" }
        XCTAssertGreaterThanOrEqual(files.count, 9)
        for file in files {
            if file.lastPathComponent == "beats-small.yaml" {
                XCTAssertNoThrow(try BEATsLoop.load(file, root: FileManager.default.temporaryDirectory), file.path)
            } else if file.lastPathComponent == "stages-example.yaml" {
                XCTAssertNoThrow(try StagesPlan.load(file, root: FileManager.default.temporaryDirectory), file.path)
            } else {
                XCTAssertNoThrow(try Recipe.load(file), file.path)
            }
        }
    }
}
