import Foundation
import Layers
import SafeTensors
import Tensors
import TestSupport
import XCTest

/// One PyTorch reference case for a layer or model, written by scripts/make_fixtures.py into
/// Tests/LayersTests/Fixtures (keys described in its manifest.json).
struct LayerFixture {
    let file: SafeTensorsFile

    static let directory = fixtureURL("LayersTests")

    init(_ name: String) throws {
        file = try SafeTensorsFile(contentsOf: LayerFixture.directory.appendingPathComponent("\(name).safetensors"))
    }

    var metadata: [String: String] { file.metadata }
    func int(_ key: String) -> Int? { metadata[key].flatMap { Int($0) } }
    func float(_ key: String) -> Float? { metadata[key].flatMap { Float($0) } }

    func tensor(_ key: String, requiresGrad: Bool = false) throws -> Tensor {
        try file.tensor(key, requiresGrad: requiresGrad)
    }

    func indices(_ name: String) throws -> IntTensor { try file.intTensor("idx.\(name)") }

    /// Every tensor whose key starts with `prefix`, keyed by the rest of the key (`param.` → HF names).
    func tensors(prefix: String) throws -> [String: Tensor] { try file.tensors(prefix: prefix) }
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
