import Foundation
import SafeTensors
import Tensors
import TestSupport
import XCTest

/// One PyTorch reference case written by scripts/make_fixtures.py.
///
/// Keys: `in.NAME` float inputs that get gradients, `const.NAME` float inputs without, `idx.NAME` integer
/// inputs, `out` the output, `grad_out` the upstream gradient, `grad.NAME` each input's gradient.
/// Op attributes are in the metadata.
struct OpFixture {
    let name: String
    let file: SafeTensorsFile

    static let directory = fixtureURL("TensorsTests", "ops")

    init(_ name: String) throws {
        self.name = name
        file = try SafeTensorsFile(contentsOf: OpFixture.directory.appendingPathComponent("\(name).safetensors"))
    }

    var metadata: [String: String] { file.metadata }

    func tensor(_ key: String, requiresGrad: Bool = false) throws -> Tensor {
        try file.tensor(key, requiresGrad: requiresGrad)
    }

    func indices(_ name: String) throws -> IntTensor { try file.intTensor("idx.\(name)") }

    /// Float inputs that get gradients, by name (without the `in.` prefix).
    func inputs() throws -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        for key in file.names where key.hasPrefix("in.") {
            result[String(key.dropFirst(3))] = try tensor(key, requiresGrad: true)
        }
        return result
    }

    func int(_ key: String) -> Int? { metadata[key].flatMap { Int($0) } }
    func float(_ key: String) -> Float? { metadata[key].flatMap { Float($0) } }
    func flag(_ key: String) -> Bool { metadata[key] == "1" || metadata[key] == "true" }
    func ints(_ key: String) -> [Int] {
        (metadata[key] ?? "").split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    }
}

/// Runs `body` on the fixture's inputs, compares the output, backpropagates `grad_out` and compares every
/// input gradient. Tolerances: forward atol/rtol, gradients gradAtol/gradRtol.
func checkAgainstTorch(_ name: String, atol: Float = 1e-5, rtol: Float = 1e-4,
                       gradAtol: Float = 1e-5, gradRtol: Float = 1e-4,
                       file: StaticString = #filePath, line: UInt = #line,
                       _ body: (OpFixture, [String: Tensor]) throws -> Tensor) throws {
    let fixture = try OpFixture(name)
    let inputs = try fixture.inputs()
    let out = try body(fixture, inputs)
    assertClose(out, try fixture.tensor("out"), atol: atol, rtol: rtol, "\(name) forward", file: file, line: line)
    guard out.requiresGrad else {
        XCTAssertTrue(inputs.isEmpty, "\(name): output records no gradient", file: file, line: line)
        return
    }
    Autograd.backward(out, seed: try fixture.tensor("grad_out"))
    for (inputName, input) in inputs.sorted(by: { $0.key < $1.key }) {
        let expected = try fixture.tensor("grad.\(inputName)")
        let actual = input.grad ?? Tensor(zeros: input.shape)
        assertClose(actual, expected, atol: gradAtol, rtol: gradRtol, "\(name) grad of \(inputName)", file: file, line: line)
    }
}
