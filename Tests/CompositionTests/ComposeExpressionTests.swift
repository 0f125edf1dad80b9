import Composition
import Foundation
import Layers
import TestSupport
import XCTest

/// `--compose` expressions: linear combinations of named models, products distributed, one-line errors.
final class ComposeExpressionTests: XCTestCase {
    func weights(_ text: String) throws -> [String] {
        try ComposeExpression(parsing: text).terms.map { "\($0.name)=\($0.weight)" }
    }

    func testUpScalingDistributesTheDifference() throws {
        XCTAssertEqual(try weights("large_base + 1.0*(small_tuned - small_base)"),
                       ["large_base=1.0", "small_tuned=1.0", "small_base=-1.0"])
        XCTAssertEqual(try weights("large + 0.5 * (tuned - base)"), ["large=1.0", "tuned=0.5", "base=-0.5"])
        XCTAssertEqual(try weights("large+(tuned-base)*1.5"), ["large=1.0", "tuned=1.5", "base=-1.5"])
        XCTAssertEqual(try weights("-a + 2*(b - (c - a))"), ["a=1.0", "b=2.0", "c=-2.0"])
        XCTAssertEqual(try weights("a + 1e-1*b"), ["a=1.0", "b=0.1"])
        XCTAssertEqual(try ComposeExpression(parsing: "l + 1*(t - b)").text, "1*l + 1*t - 1*b")
    }

    func testAWeightThatCancelsLeavesTheModelOut() throws {
        XCTAssertEqual(try weights("large + 0*(tuned - base)"), ["large=1.0"])
        XCTAssertEqual(try weights("a + b - b"), ["a=1.0"])
        XCTAssertThrowsError(try ComposeExpression(parsing: "a - a")) { error in
            XCTAssertEqual("\(error)", "--compose \"a - a\": every model's weight cancels; nothing is left")
        }
    }

    func testMistakesAreOneLineNamingWhereTheyAre() {
        let cases = [
            ("a + *b", "--compose \"a + *b\": expected a model name or (, found \"*\" at character 5"),
            ("a + (b - c", "--compose \"a + (b - c\": expected ), found the end at character 11"),
            ("a + 2", "--compose \"a + 2\": a number must multiply a model: expected *, found the end at character 6"),
            ("a b", "--compose \"a b\": expected + or - or the end, found \"b\" at character 3"),
            ("a * b", "--compose \"a * b\": expected a number after *, found \"b\" at character 5"),
            ("", "--compose \"\": expected a model name or (, found the end at character 1"),
            ("a\n+ b", "--compose \"a\\n+ b\": expected + or - or the end, found \"\\n\" at character 2"),
        ]
        for (text, message) in cases {
            XCTAssertThrowsError(try ComposeExpression(parsing: text), text) { error in
                XCTAssertEqual("\(error)", message)
                XCTAssertFalse("\(error)".contains("\n"))
            }
        }
    }

    /// Bindings and checkpoints: every name bound once and used, decoders only, one tokenizer.
    func testCheckpointsMustBeBoundAndShareOneTokenizer() throws {
        let directory = try makeTemporaryDirectory()
        let a = try TinyCheckpoints.write(directory.appendingPathComponent("a"), seed: 1)
        let b = try TinyCheckpoints.write(directory.appendingPathComponent("b"), section: TinyCheckpoints.section(layers: 1), seed: 2)
        let other = try TinyCheckpoints.write(directory.appendingPathComponent("other"), seed: 3, tokenizer: "{\"another\": 1}")
        var bert = TinyCheckpoints.section(flavor: .bert)
        bert.context = 16
        let encoder = try TinyCheckpoints.write(directory.appendingPathComponent("bert"), section: bert, seed: 4)

        let composed = try ComposedCheckpoints(expression: "a + 0.5*(b - a)", bindings: ["a=\(a.path)", "b=\(b.path)"])
        XCTAssertEqual(composed.decoder.weights, [0.5, 0.5])
        XCTAssertEqual(composed.checkpoints.map(\.lastPathComponent), ["a", "b"])
        XCTAssertEqual(composed.tokenizerURL.lastPathComponent, "tokenizer.json")

        let cases: [(String, [String], String)] = [
            ("a + b", ["a=\(a.path)"], "--compose names b, which no --model b=PATH binds"),
            ("a", ["a=\(a.path)", "b=\(b.path)"], "--model b is bound but --compose \"a\" does not use it"),
            ("a", ["a"], "--model a: expected NAME=PATH (a checkpoint or run directory)"),
            ("a", ["a=\(a.path)", "a=\(b.path)"], "--model a is bound twice"),
            ("a + b", ["a=\(a.path)", "b=\(other.path)"],
             "b (\(other.path)/tokenizer.json) and a (\(a.path)/tokenizer.json) have different tokenizers: composed models must share one"),
            ("a + b", ["a=\(a.path)", "b=\(encoder.path)"],
             "b (\(encoder.path)) holds a bert encoder; a composition needs decoders (gpt2 or llama)"),
        ]
        for (expression, bindings, message) in cases {
            XCTAssertThrowsError(try ComposedCheckpoints(expression: expression, bindings: bindings), expression) { error in
                XCTAssertEqual("\(error)", message)
            }
        }
    }
}
