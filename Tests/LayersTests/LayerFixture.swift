import Foundation
import Layers
import SafeTensors
import Tensors
import XCTest

/// One PyTorch reference case for a layer or model, written by scripts/make_fixtures.py into
/// Tests/LayersTests/Fixtures (keys described in its manifest.json).
struct LayerFixture {
    let file: SafeTensorsFile

    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    init(_ name: String) throws {
        file = try SafeTensorsFile(contentsOf: LayerFixture.directory.appendingPathComponent("\(name).safetensors"))
    }

    var metadata: [String: String] { file.metadata }
    func int(_ key: String) -> Int? { metadata[key].flatMap { Int($0) } }
    func float(_ key: String) -> Float? { metadata[key].flatMap { Float($0) } }

    func tensor(_ key: String, requiresGrad: Bool = false) throws -> Tensor {
        let (shape, values) = try file.floats(key)
        return Tensor(values, shape: shape, requiresGrad: requiresGrad)
    }

    func indices(_ name: String) throws -> IntTensor {
        let (shape, values) = try file.ints("idx.\(name)")
        return IntTensor(values, shape: shape)
    }

    /// Every tensor whose key starts with `prefix`, keyed by the rest of the key (`param.` → HF names).
    func tensors(prefix: String) throws -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        for key in file.names where key.hasPrefix(prefix) { result[String(key.dropFirst(prefix.count))] = try tensor(key) }
        return result
    }
}

/// |actual − expected| ≤ atol + rtol·|expected| elementwise, with the worst element in the failure message.
func assertClose(_ actual: Tensor, _ expected: Tensor, atol: Float, rtol: Float, _ what: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.shape, expected.shape, "\(what): shape", file: file, line: line)
    guard actual.shape == expected.shape else { return }
    var worst: Float = 0, worstIndex = 0
    for i in 0..<actual.count {
        let excess = abs(actual.data[i] - expected.data[i]) - (atol + rtol * abs(expected.data[i]))
        if excess > worst { worst = excess; worstIndex = i }
    }
    XCTAssertFalse(worst > 0 || actual.scalars.contains { $0.isNaN },
                   "\(what): element \(worstIndex) is \(actual.data[worstIndex]), expected \(expected.data[worstIndex]) (atol \(atol), rtol \(rtol))",
                   file: file, line: line)
}

/// Compares a module's output and, after backpropagating `grad_out`, the gradient of x and of every
/// parameter with the fixture's `out`, `grad.x` and `grad.param.<name>`.
func checkBlockAgainstTorch(_ fixture: LayerFixture, module: Module, x: Tensor, out: Tensor, atol: Float, rtol: Float,
                            file: StaticString = #filePath, line: UInt = #line) throws {
    assertClose(out, try fixture.tensor("out"), atol: atol, rtol: rtol, "forward", file: file, line: line)
    Autograd.backward(out, seed: try fixture.tensor("grad_out"))
    assertClose(x.grad ?? Tensor(zeros: x.shape), try fixture.tensor("grad.x"), atol: atol, rtol: rtol, "grad of x",
                file: file, line: line)
    let expected = try fixture.tensors(prefix: "grad.param.")
    XCTAssertEqual(Set(expected.keys), Set(module.namedParameters().map { $0.name }), "parameter gradients",
                   file: file, line: line)
    for (name, parameter) in module.namedParameters() {
        guard let reference = expected[name] else { continue }
        assertClose(parameter.grad ?? Tensor(zeros: parameter.shape), reference, atol: atol, rtol: rtol,
                    "grad of \(name)", file: file, line: line)
    }
}
