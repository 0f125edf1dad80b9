import Composition
import Foundation
import Layers
import Tensors
import TestSupport
import Training
import XCTest

/// `pretrain merge`: the identities that must hold bit for bit, TIES on a hand-worked example, and the strict
/// architecture checks.
final class MergeTests: XCTestCase {
    func weights(_ checkpoint: URL) throws -> [String: [Float]] {
        try loadSafetensors(checkpoint.appendingPathComponent(Checkpoint.modelFile)).mapValues(\.scalars)
    }

    func merge(_ method: MergeMethod, _ models: [URL], base: URL? = nil, target: URL? = nil, weights: [Double]? = nil,
               scale: Double = 1, density: Double = 0.2, to out: URL) throws -> URL {
        var merge = CheckpointMerge(method: method, models: models)
        (merge.base, merge.target, merge.weights, merge.scale, merge.density) = (base, target, weights, scale, density)
        return try merge.write(to: out)
    }

    func testMergingIdenticalModelsReturnsThemBitForBit() throws {
        let directory = try makeTemporaryDirectory()
        let a = try TinyCheckpoints.write(directory.appendingPathComponent("a"), seed: 1)
        let copies = try (0..<3).map { i -> URL in
            let copy = directory.appendingPathComponent("copy\(i)")
            try FileManager.default.copyItem(at: a, to: copy)
            return copy
        }
        let expected = try weights(a)
        let base = try TinyCheckpoints.write(directory.appendingPathComponent("base"), seed: 9)
        let outputs = [
            try merge(.linear, copies, to: directory.appendingPathComponent("uniform")),
            try merge(.linear, Array(copies.prefix(2)), weights: [0.2, 0.7], to: directory.appendingPathComponent("weighted")),
            try merge(.linear, copies, weights: [1, 3, 7], to: directory.appendingPathComponent("weighted3")),
            try merge(.ties, copies, base: base, density: 1, to: directory.appendingPathComponent("ties")),
            try merge(.taskArithmetic, [copies[0]], base: base, weights: [1], to: directory.appendingPathComponent("arithmetic")),
        ]
        for output in outputs { XCTAssertEqual(try weights(output), expected, output.lastPathComponent) }
        // The output is an ordinary checkpoint: it loads, with the inputs' config and tokenizer.
        let loaded = try loadCheckpoint(outputs[0])
        XCTAssertEqual(loaded.config.model, TinyCheckpoints.section())
        XCTAssertEqual(try Data(contentsOf: loaded.tokenizerFile()), try Data(contentsOf: a.appendingPathComponent("tokenizer.json")))
    }

    func testAZeroScaleReturnsTheBaseOrTargetBitForBit() throws {
        let directory = try makeTemporaryDirectory()
        let base = try TinyCheckpoints.write(directory.appendingPathComponent("base"), seed: 1)
        let tuned = try (2...3).map { try TinyCheckpoints.write(directory.appendingPathComponent("tuned\($0)"), seed: UInt64($0)) }
        let target = try TinyCheckpoints.write(directory.appendingPathComponent("target"), seed: 7)
        XCTAssertEqual(try weights(merge(.taskArithmetic, tuned, base: base, weights: [0], to: directory.appendingPathComponent("ta0"))),
                       try weights(base))
        XCTAssertEqual(try weights(merge(.ties, tuned, base: base, scale: 0, to: directory.appendingPathComponent("ties0"))),
                       try weights(base))
        XCTAssertEqual(try weights(merge(.residual, [tuned[0]], base: base, target: target, scale: 0,
                                         to: directory.appendingPathComponent("residual0"))), try weights(target))
        // instruct == base: no residual to move.
        XCTAssertEqual(try weights(merge(.residual, [base], base: base, target: target, to: directory.appendingPathComponent("residual-same"))),
                       try weights(target))
    }

    /// Task arithmetic and residual transfer against the formula, in Double, element by element.
    func testTaskArithmeticAndResidualFollowTheirFormulas() throws {
        let directory = try makeTemporaryDirectory()
        let (base, a, b, target) = try (TinyCheckpoints.write(directory.appendingPathComponent("base"), seed: 1),
                                         TinyCheckpoints.write(directory.appendingPathComponent("a"), seed: 2),
                                         TinyCheckpoints.write(directory.appendingPathComponent("b"), seed: 3),
                                         TinyCheckpoints.write(directory.appendingPathComponent("target"), seed: 4))
        let (wBase, wA, wB, wTarget) = (try weights(base), try weights(a), try weights(b), try weights(target))
        let arithmetic = try weights(merge(.taskArithmetic, [a, b], base: base, weights: [0.3, 1.2], to: directory.appendingPathComponent("ta")))
        let residual = try weights(merge(.residual, [a], base: base, target: target, scale: 0.5, to: directory.appendingPathComponent("res")))
        for (name, origin) in wBase {
            for i in origin.indices {
                let o = Double(origin[i])
                XCTAssertEqual(arithmetic[name]![i], Float(o + 0.3 * (Double(wA[name]![i]) - o) + 1.2 * (Double(wB[name]![i]) - o)), name)
                XCTAssertEqual(residual[name]![i], Float(Double(wTarget[name]![i]) + 0.5 * (Double(wA[name]![i]) - o)), name)
            }
        }
    }

    /// TIES (Yadav et al. 2023, Algorithm 1) on three task vectors of six weights, worked by hand.
    func testTIESTrimsElectsAndAveragesTheAgreeingValues() {
        let base: [String: Tensor] = ["w": Tensor([1, 1, 1, 1, 1, 1], shape: [6])]
        let differences: [[Float]] = [
            [0.5, -0.1, 0.3, 0.0, -0.9, 0.2],
            [0.4, 0.2, -0.6, 0.05, 0.8, -0.01],
            [-0.3, 0.35, -0.2, 0.0, -0.7, 0.6],
        ]
        let models = differences.map { d in ["w": Tensor(d.map { 1 + $0 }, shape: [6])] }
        // density 0.5 keeps the 3 largest magnitudes of each: [0.5, ·, 0.3, ·, -0.9, ·], [0.4, ·, -0.6, ·, 0.8, ·],
        // [·, 0.35, ·, ·, -0.7, 0.6]. Elected signs (sums of the kept): +0.9, +0.35, -0.3, 0, -0.8, +0.6.
        // Means of the agreeing: 0.45, 0.35, -0.6, 0 (nothing kept), (-0.9 - 0.7) / 2, 0.6.
        let merged = WeightMerging.ties(base: base, models: models, density: 0.5, scale: 1)["w"]!.scalars
        let expected: [Double] = [0.45, 0.35, -0.6, 0, -0.8, 0.6]
        for (value, update) in zip(merged, expected) {
            XCTAssertEqual(Double(value), 1 + update, accuracy: 1e-6)
        }
        let scaled = WeightMerging.ties(base: base, models: models, density: 0.5, scale: 0.5)["w"]!.scalars
        for (value, update) in zip(scaled, expected) { XCTAssertEqual(Double(value), 1 + 0.5 * update, accuracy: 1e-6) }
    }

    func testInputsOfAnotherArchitectureAreRefusedNamingTheFirstDifference() throws {
        let directory = try makeTemporaryDirectory()
        let a = try TinyCheckpoints.write(directory.appendingPathComponent("a"), seed: 1)
        let deeper = try TinyCheckpoints.write(directory.appendingPathComponent("deeper"), section: TinyCheckpoints.section(layers: 3))
        let wider = try TinyCheckpoints.write(directory.appendingPathComponent("wider"), section: TinyCheckpoints.section(dModel: 32))
        let otherTokenizer = try TinyCheckpoints.write(directory.appendingPathComponent("tok"), seed: 2, tokenizer: "{}")
        var state = try TinyCheckpoints.state(TinyCheckpoints.section(), seed: 3)
        let renamed = state.keys.sorted().first!
        state["extra.weight"] = state.removeValue(forKey: renamed)
        let misnamed = try TinyCheckpoints.write(directory.appendingPathComponent("misnamed"), weights: state)
        let out = directory.appendingPathComponent("out")
        let cases: [(URL, String)] = [
            (deeper, "\(deeper.path): not the architecture of \(a.path): model.layers is 3 there, 2 in \(a.path)"),
            (wider, "\(wider.path): not the architecture of \(a.path): model.dModel is 32 there, 16 in \(a.path)"),
            (misnamed, "\(misnamed.path) has no tensor \(renamed), which \(a.path) has"),
            (otherTokenizer, "\(otherTokenizer.path)/tokenizer.json differs from \(a.path)/tokenizer.json: merged models must share one tokenizer"),
        ]
        for (other, message) in cases {
            XCTAssertThrowsError(try merge(.linear, [a, other], to: out)) { XCTAssertEqual("\($0)", message) }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "nothing written")
    }

    func testArgumentsAreCheckedBeforeAnythingLoads() throws {
        let directory = try makeTemporaryDirectory()
        let a = try TinyCheckpoints.write(directory.appendingPathComponent("a"), seed: 1)
        let notes = directory.appendingPathComponent("notes")
        try FileManager.default.createDirectory(at: notes, withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: notes.appendingPathComponent("plan.txt"))
        let missing = directory.appendingPathComponent("missing")
        let cases: [(() throws -> URL, String)] = [
            ({ try self.merge(.linear, [a], to: missing) }, "merge linear needs at least two models, got 1"),
            ({ try self.merge(.linear, [a, a], weights: [1], to: missing) }, "merge linear: 1 weights for 2 models"),
            ({ try self.merge(.linear, [a, a], weights: [-1, 2], to: missing) }, "merge linear: weights must be ≥ 0 with a positive sum, got [-1.0, 2.0]"),
            ({ try self.merge(.ties, [a], to: missing) }, "merge ties needs --base (the parent of the models)"),
            ({ try self.merge(.ties, [a], base: a, density: 0, to: missing) }, "merge ties: --density must be in (0, 1], got 0.0"),
            ({ try self.merge(.residual, [a], base: a, to: missing) }, "merge residual needs --target, --base and one model (target + scale·(model − base))"),
            ({ try self.merge(.linear, [a, a], to: notes) }, "--out \(notes.path) is a directory of other files, not a checkpoint: choose a new or empty directory"),
            ({ try self.merge(.linear, [a, a], to: a) }, "--out \(a.path) is an input of the merge (\(a.path)): write it elsewhere"),
        ]
        for (run, message) in cases {
            XCTAssertThrowsError(try run()) { XCTAssertEqual("\($0)", message) }
        }
        XCTAssertEqual(try Data(contentsOf: notes.appendingPathComponent("plan.txt")), Data("keep".utf8))
    }
}
