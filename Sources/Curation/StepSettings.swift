import Foundation
import Yams

/// One step's keys from the pipeline file, read by type. Every problem is a `CurationError` that names the pipeline
/// file, the line and column, the step and the key: "curate.yaml:9:16: steps[2] (near_dedup): threshold must be in
/// (0, 1], got 1.5". A key that is absent or `null` reads as nil, so a step can tell "not given" (its default) from a
/// value; `has(key)` tells an explicit null (a check turned off) from an absent key.
public struct StepSettings {
    public let kind: String
    /// The pipeline file as the user named it.
    public let file: String
    /// The step's position in `steps:`, from 0.
    public let position: Int
    private let values: [String: Node]
    /// Where each key is written (a value's own mark is where the value starts).
    private let keyMarks: [String: Mark]
    private let stepMark: Mark?

    init(kind: String, file: String, position: Int, values: [String: Node], keyMarks: [String: Mark] = [:], mark: Mark?) {
        (self.kind, self.file, self.position, self.values, self.keyMarks, self.stepMark) = (kind, file, position, values, keyMarks, mark)
    }

    /// Whether the key is written in the step, `null` included.
    public func has(_ key: String) -> Bool { values[key] != nil }

    /// An error about `key` (nil: about the step), in the form above.
    public func problem(_ key: String?, _ message: String) -> CurationError {
        located(key.flatMap { values[$0]?.mark }, "\(key.map { "\($0) " } ?? "")\(message)")
    }

    /// An error placed where `key` is written, whose message does not start with the key (an unknown key).
    func problem(locatedAt key: String, _ message: String) -> CurationError { located(keyMarks[key], message) }

    private func located(_ mark: Mark?, _ message: String) -> CurationError {
        let place = (mark ?? stepMark).map { "\(file):\($0.line):\($0.column)" } ?? file
        return CurationError("\(place): steps[\(position)] (\(kind)): \(message)")
    }

    private func node(_ key: String) -> Node? {
        precondition(kindKeys.contains(key), "\(kind) reads '\(key)', which its `keys` do not list")
        guard let node = values[key] else { return nil }
        if case .scalar(let scalar) = node, scalar.style == .plain, node.null != nil { return nil }
        return node
    }

    /// The keys the step's type declared (checked by the registry before the step is made).
    var kindKeys: [String] { CurationSteps.type(of: kind)?.keys ?? Array(values.keys) }

    private func text(_ node: Node) -> String {
        if case .scalar(let scalar) = node { return "'\(scalar.string)'" }
        return node.sequence != nil ? "a list" : "a mapping"
    }

    public func double(_ key: String) throws -> Double? {
        guard let node = node(key) else { return nil }
        guard case .scalar = node, let value = node.float, value.isFinite else {
            throw problem(key, "must be a finite number, got \(text(node))")
        }
        return value
    }

    public func int(_ key: String) throws -> Int? {
        guard let node = node(key) else { return nil }
        guard case .scalar = node, let value = node.int else { throw problem(key, "must be an integer, got \(text(node))") }
        return value
    }

    public func bool(_ key: String) throws -> Bool? {
        guard let node = node(key) else { return nil }
        guard case .scalar = node, let value = node.bool else { throw problem(key, "must be true or false, got \(text(node))") }
        return value
    }

    public func string(_ key: String) throws -> String? {
        guard let node = node(key) else { return nil }
        guard case .scalar(let scalar) = node else { throw problem(key, "must be a string, got \(text(node))") }
        return scalar.string
    }

    /// A list of strings (a single string is a list of one).
    public func strings(_ key: String) throws -> [String]? {
        guard let node = node(key) else { return nil }
        if case .scalar(let scalar) = node { return [scalar.string] }
        guard let sequence = node.sequence else { throw problem(key, "must be a list of strings, got \(text(node))") }
        return try sequence.map { element in
            guard case .scalar(let scalar) = element else { throw problem(key, "must be a list of strings, got \(text(element)) in it") }
            return scalar.string
        }
    }

    /// One of a closed set of values; anything else is an error listing them.
    public func choice<Value: RawRepresentable & CaseIterable>(_ key: String, _: Value.Type = Value.self) throws -> Value?
    where Value.RawValue == String {
        guard let name = try string(key) else { return nil }
        guard let value = Value(rawValue: name) else {
            throw problem(key, "must be one of \(Value.allCases.map(\.rawValue).joined(separator: ", ")), got '\(name)'")
        }
        return value
    }

    /// A mapping of names to JSON values (scalars by their YAML type: `1623` a number, `"1623"` a string).
    public func metaMapping(_ key: String) throws -> [String: MetaValue]? {
        guard let node = node(key) else { return nil }
        guard let mapping = node.mapping else { throw problem(key, "must be a mapping of names to values, got \(text(node))") }
        var result: [String: MetaValue] = [:]
        for (name, value) in mapping {
            guard case .scalar(let scalar) = name else { throw problem(key, "must have string names") }
            result[scalar.string] = metaValue(value)
        }
        return result
    }

    private func metaValue(_ node: Node) -> MetaValue {
        switch node {
        case .scalar(let scalar):
            guard scalar.style == .plain else { return .string(scalar.string) }
            if node.null != nil { return .null }
            if let bool = node.bool { return .bool(bool) }
            if let int = node.int { return .number(Double(int)) }
            if let double = node.float, double.isFinite { return .number(double) }
            return .string(scalar.string)
        case .sequence(let sequence): return .array(sequence.map(metaValue))
        case .mapping(let mapping):
            var object: [String: MetaValue] = [:]
            for (name, value) in mapping { object[name.string ?? "\(name)"] = metaValue(value) }
            return .object(object)
        }
    }
}
