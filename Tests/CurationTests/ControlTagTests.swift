import Curation
import XCTest

/// `control_tag`: the threshold on a score chooses the good or bad token in front of the text and meta.control; the
/// direction can be turned; a document without the score is dropped or left alone.
final class ControlTagTests: XCTestCase {
    private func scored(_ values: [Double?]) -> [CurationDocument] {
        documents(values.map { _ in "Nel mezzo del cammin di nostra vita" }).enumerated().map { index, document in
            var document = document
            if let value = values[index] { document.meta["offensive_true"] = .number(value) }
            return document
        }
    }

    func testAScoreAboveTheThresholdIsTaggedBad() throws {
        let step = try makeStep("control_tag", "field: offensive_true\nthreshold: 0.5")
        let (kept, dropped) = try runSteps([step], scored([0.9, 0.1, 0.5, nil]))
        XCTAssertEqual(kept.map(\.text), ["<|bad|>Nel mezzo del cammin di nostra vita", "<|good|>Nel mezzo del cammin di nostra vita",
                                          "<|good|>Nel mezzo del cammin di nostra vita"])
        XCTAssertEqual(kept.map { $0.meta["control"] }, [.string("bad"), .string("good"), .string("good")])
        XCTAssertEqual(dropped.map(\.index), [3])
        XCTAssertEqual(dropped.first?.reason.key, "offensive_true missing")
    }

    func testBadBelowOtherTokensAndMissingKeep() throws {
        let step = try makeStep("control_tag", "field: offensive_true\nthreshold: 0.5\nbad_below: true\ngood: \"<g>\"\nbad: \"<b>\"\nseparator: \" \"\nmissing: keep")
        let (kept, dropped) = try runSteps([step], scored([0.9, 0.1, nil]))
        XCTAssertEqual(kept.map { String($0.text.prefix(4)) }, ["<g> ", "<b> ", "Nel "])
        XCTAssertTrue(dropped.isEmpty)
        XCTAssertNil(kept[2].meta["control"])
    }

    func testMistakesNameTheKey() {
        assertThrows(["steps[0] (control_tag)", "needs a 'field:'"]) { _ = try makeStep("control_tag", "threshold: 1") }
        assertThrows(["steps[0] (control_tag)", "needs a 'threshold:'"]) { _ = try makeStep("control_tag", "field: x") }
        assertThrows(["steps[0] (control_tag)", "two different"]) { _ = try makeStep("control_tag", "field: x\nthreshold: 1\ngood: a\nbad: a") }
    }
}
