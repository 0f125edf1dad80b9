import Foundation
import TestSupport
import Training
import XCTest

/// When non-finite updates stop training, the message says what can be done: resume from the last good checkpoint
/// when there is one, start again when there is none (`--resume` would only answer "nothing to resume").
final class NonFiniteStopMessageTests: XCTestCase {
    func testAStopBeforeAnyCheckpointSaysToStartAgain() throws {
        var recipe = tinyRecipe(steps: 40)
        recipe.optim.gradAccum = 1
        recipe.train.maxConsecutiveSkips = 3
        PoisonedCausalLM.poisonCalls = Set(0...40)
        Registry.register(PoisonedCausalLM.self)
        recipe.objective.kind = PoisonedCausalLM.kind
        let trainer = try Trainer(recipe: recipe, runDirectory: try makeTemporaryDirectory(), corpus: TestCorpus.make(),
                                  console: ConsoleProgress(mode: .silent))
        XCTAssertThrowsError(try trainer.run()) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("training stopped at step 3"), message)
            XCTAssertTrue(message.contains("no checkpoint was written before"), message)
            XCTAssertTrue(message.contains("Start again with a lower optim.lr"), message)
            XCTAssertFalse(message.contains("--resume"), message)
        }
    }
}
