import Foundation
import Training
import XCTest

/// The resolved recipe a run directory keeps reads like a recipe a person wrote.
final class ResolvedRecipeTests: XCTestCase {
    func testFloatsAreWrittenAsTheirShortestDecimalAndReadBackExactly() throws {
        let recipe = try Recipe.parse("optim: {lr: 2e-3, betas: [0.9, 0.95], eps: 1e-8}\nmodel: {dropout: 0.1}")
        let yaml = try recipe.yaml()
        for noise in ["2.0000000949949e-3", "8.99999976158142e-1", "1.00000001490116e-1"] {
            XCTAssertFalse(yaml.contains(noise), "float32 noise \(noise) in\n\(yaml)")
        }
        let reread = try Recipe.parse(yaml)
        XCTAssertEqual(reread, recipe)
        XCTAssertEqual(reread.optim.lr.bitPattern, Float(2e-3).bitPattern)
        XCTAssertEqual(reread.optim.betas.map(\.bitPattern), [Float(0.9), Float(0.95)].map(\.bitPattern))
        XCTAssertEqual(reread.model.dropout.bitPattern, Float(0.1).bitPattern)
    }
}
