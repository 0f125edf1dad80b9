import Foundation
import TestSupport
import Training
import XCTest

/// The registries decide which flavors and objectives exist; recipes name them and get errors that list them.
final class RegistryTests: XCTestCase {
    func assertRecipeError(_ yaml: String, contains expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Recipe.parse(yaml), file: file, line: line) {
            XCTAssertTrue("\($0)".contains(expected), "\(yaml)\n→ \($0)", file: file, line: line)
        }
    }

    func testEveryBuiltInIsRegisteredOnce() {
        XCTAssertEqual(ModelFlavor.registeredNames.prefix(6),
                       ["gpt2", "llama", "bert", "audio_frames", "audio_patches", "audio_waveform"])
        XCTAssertEqual(Set(ObjectiveKind.registeredNames).intersection(["causal_lm", "masked_lm", "tera", "ssast", "bestrq",
                                                                        "hubert", "beats_tokenizer", "beats", "wav2vec2"]).count, 9)
        XCTAssertEqual(ObjectiveKind.registeredNames.count, Set(ObjectiveKind.registeredNames).count)
        XCTAssertEqual(Registry.objectives.compactMap { $0.settingsKey }.count, Set(Registry.objectives.compactMap { $0.settingsKey }).count,
                       "each settings key belongs to one objective")
    }

    func testMisspelledNamesListTheRegisteredOnes() {
        assertRecipeError("model: {flavor: gtp2}", contains: "model.flavor must be one of gpt2, llama, bert, audio_frames")
        assertRecipeError("objective: {kind: causal}", contains: "objective.kind must be one of causal_lm, masked_lm")
        assertRecipeError("objective: {kind: tera, terra: {}}", contains: "unknown key 'objective.terra': did you mean objective.tera? (valid keys of objective: kind, masking, tera")
    }

    func testClosedSetsListTheirValues() {
        assertRecipeError("model: {flavor: audio_frames, positions: rotary}\nobjective: {kind: tera}\ndata: {features: f}",
                          contains: "model.positions must be one of learned, convolutional, none, got 'rotary'")
        assertRecipeError("schedule: {kind: linear}", contains: "schedule.kind must be one of constant, cosine, wsd, infinite, repeated_cosine")
        assertRecipeError("data: {sampling: shuffled}", contains: "data.sampling must be one of random, sequential, got 'shuffled'")
        assertRecipeError("model: {flavor: audio_patches}\nobjective: {kind: ssast, ssast: {negatives: speaker}}\ndata: {features: f}",
                          contains: "objective.ssast.negatives must be one of clip, batch")
    }

    func testObjectivesNameWhatTheyNeed() {
        assertRecipeError("model: {flavor: bert}\nobjective: {kind: ssast}",
                          contains: "objective.kind ssast does not fit model.flavor bert: ssast needs audio_patches")
        assertRecipeError("model: {flavor: audio_frames}\nobjective: {kind: tera, ssast: {mask_ratio: 0.5}}\ndata: {features: f}",
                          contains: "objective.ssast applies to objective.kind ssast only (objective.kind is tera)")
        assertRecipeError("model: {flavor: llama, patch_time: 4}",
                          contains: "model.patch_time does not apply to model.flavor llama (it applies to audio_patches)")
        assertRecipeError("model: {flavor: gpt2}\ndata: {features: f}", contains: "data.features does not apply to model.flavor gpt2")
    }

    /// A recipe built in code may name a flavor nobody registered: an error, not a crash.
    func testAnUnregisteredFlavorMadeInCodeIsAnError() throws {
        var recipe = Recipe()
        recipe.model.flavor = ModelFlavor(rawValue: "gpt9")
        XCTAssertThrowsError(try recipe.validate()) { XCTAssertTrue("\($0)".contains("model.flavor must be one of gpt2"), "\($0)") }
        XCTAssertThrowsError(try Trainer(recipe: recipe, runDirectory: try makeTemporaryDirectory(), corpus: TestCorpus.make(),
                                         console: ConsoleProgress(mode: .silent))) {
            XCTAssertTrue("\($0)".contains("got 'gpt9'"), "\($0)")
        }
    }

    /// The resolved recipe writes only the settings of its own objective, and reads back as itself.
    func testTheResolvedRecipeKeepsOnlyItsObjectivesSettings() throws {
        let recipe = try Recipe.parse("model: {flavor: bert}\nobjective: {kind: masked_lm, masking: {rate: 0.3}}")
        let yaml = try recipe.yaml()
        XCTAssertTrue(yaml.contains("masking:") && yaml.contains("rate: "), yaml)
        XCTAssertEqual(try Recipe.parse(yaml), recipe)
        XCTAssertFalse(try Recipe.parse("model: {flavor: gpt2}").yaml().contains("masking"))
        XCTAssertEqual(try Recipe.parse("model: {flavor: bert}\nobjective: {kind: masked_lm}"),
                       try Recipe.parse("model: {flavor: bert}\nobjective: {kind: masked_lm, masking: {rate: 0.15}}"),
                       "absent settings equal their defaults")
    }
}
