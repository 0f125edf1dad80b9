import Foundation
import SafeTensors
import Tensors

/// Errors a user can cause when loading weights; each names the tensors at fault.
public struct WeightLoadingError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension Module {
    /// Copies `weights` into the parameters by name. Strict: a missing, unused or wrongly shaped tensor is an
    /// error that lists every offender, and nothing is modified unless everything matches.
    public func load(_ weights: [String: Tensor], strict: Bool = true) throws {
        let named = namedParameters()
        var missing: [String] = [], mismatched: [String] = []
        for (name, parameter) in named {
            guard let source = weights[name] else { missing.append(name); continue }
            if source.shape != parameter.shape { mismatched.append("\(name): checkpoint \(source.shape), model \(parameter.shape)") }
        }
        let known = Set(named.map { $0.name })
        let unused = weights.keys.filter { !known.contains($0) }.sorted()
        var problems: [String] = []
        if !mismatched.isEmpty { problems.append("shape mismatch: " + mismatched.joined(separator: "; ")) }
        if strict && !missing.isEmpty { problems.append("missing: " + missing.joined(separator: ", ")) }
        if strict && !unused.isEmpty { problems.append("unused: " + unused.joined(separator: ", ")) }
        guard problems.isEmpty else { throw WeightLoadingError("cannot load weights: " + problems.joined(separator: " | ")) }
        for (name, parameter) in named {
            guard let source = weights[name] else { continue }
            parameter.data.update(from: source.data, count: parameter.count)
        }
    }

    /// Parameters as a name → tensor dictionary (shares storage).
    public func stateDict() -> [String: Tensor] {
        Dictionary(namedParameters().map { ($0.name, $0.tensor) }, uniquingKeysWith: { first, _ in first })
    }

    /// Writes every parameter to a safetensors file (F32), atomically.
    public func save(to url: URL, metadata: [String: String] = [:]) throws {
        var writer = SafeTensorsWriter(metadata: metadata)
        for (name, tensor) in namedParameters() {
            try writer.add(name, shape: tensor.shape, floats: UnsafeBufferPointer(start: tensor.data, count: tensor.count))
        }
        try writer.write(to: url)
    }

    /// Loads parameters from a safetensors file (strict by default).
    public func load(contentsOf url: URL, strict: Bool = true) throws {
        try load(loadSafetensors(url), strict: strict)
    }
}

/// Writes named tensors to a safetensors file (F32), atomically; the file is the same whatever the dictionary's order.
public func saveSafetensors(_ tensors: [String: Tensor], metadata: [String: String] = [:], to url: URL) throws {
    var writer = SafeTensorsWriter(metadata: metadata)
    for (name, tensor) in tensors {
        try writer.add(name, shape: tensor.shape, floats: UnsafeBufferPointer(start: tensor.data, count: tensor.count))
    }
    try writer.write(to: url)
}

/// Every tensor of a safetensors file as Float32 tensors.
public func loadSafetensors(_ url: URL) throws -> [String: Tensor] {
    let file = try SafeTensorsFile(contentsOf: url)
    var result: [String: Tensor] = [:]
    for name in file.names {
        let (shape, values) = try file.floats(name)
        result[name] = Tensor(values, shape: shape)
    }
    return result
}
