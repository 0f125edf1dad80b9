import Foundation
import SafeTensors
import Tensors

// Committed fixtures live in Tests/<Target>/Fixtures. They are found from this file's path so that tests run
// from any working directory (SwiftPM gives no resource bundle to targets that exclude their Fixtures).

/// The repository's Tests folder.
public let testsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()

/// The repository root (recipes/, data/, scripts/ are under it).
public let repositoryRoot = testsDirectory.deletingLastPathComponent()

/// `Tests/<target>/Fixtures/<name>`; the Fixtures folder itself when `name` is empty.
public func fixtureURL(_ target: String, _ name: String = "") -> URL {
    let directory = testsDirectory.appendingPathComponent(target).appendingPathComponent("Fixtures")
    return name.isEmpty ? directory : directory.appendingPathComponent(name)
}

extension SafeTensorsFile {
    /// The float tensor stored under `key` (any float dtype, widened to Float).
    public func tensor(_ key: String, requiresGrad: Bool = false) throws -> Tensor {
        let (shape, values) = try floats(key)
        return Tensor(values, shape: shape, requiresGrad: requiresGrad)
    }

    /// The integer tensor stored under `key`.
    public func intTensor(_ key: String) throws -> IntTensor {
        let (shape, values) = try ints(key)
        return IntTensor(values, shape: shape)
    }

    /// Every float tensor whose key starts with `prefix`, keyed by the rest of the key.
    public func tensors(prefix: String) throws -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        for key in names where key.hasPrefix(prefix) { result[String(key.dropFirst(prefix.count))] = try tensor(key) }
        return result
    }

    /// Every tensor of the file: integer dtypes as IntTensor, the others as Tensor.
    public func allTensors() throws -> (floats: [String: Tensor], ints: [String: IntTensor]) {
        var floats: [String: Tensor] = [:], ints: [String: IntTensor] = [:]
        for name in names {
            if try info(name).dtype.convertsToInt { ints[name] = try intTensor(name) }
            else { floats[name] = try tensor(name) }
        }
        return (floats, ints)
    }
}

/// Every tensor of the safetensors file at `url`: integer dtypes as IntTensor, the others as Tensor.
public func readTensors(_ url: URL) throws -> (floats: [String: Tensor], ints: [String: IntTensor]) {
    try SafeTensorsFile(contentsOf: url).allTensors()
}
