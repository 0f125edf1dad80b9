import Foundation
import Yams

// `--set` overrides on the YAML tree, and decoding errors as one line naming the recipe path.

extension Recipe {
    /// The YAML tree with each "path=value" override set (intermediate mappings created as needed).
    static func applying(_ overrides: [String], to root: Node) throws -> Node {
        var root = root
        for override in overrides {
            guard let equals = override.firstIndex(of: "="), equals != override.startIndex else {
                throw RecipeError("--set \(override): expected path=value, e.g. optim.lr=3e-4")
            }
            let path = override[..<equals].split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard !path.contains(where: \.isEmpty) else { throw RecipeError("--set \(override): empty key in the path") }
            root = try setScalar(in: root, path: path[...], value: String(override[override.index(after: equals)...]),
                                 fullPath: path.joined(separator: "."))
        }
        return root
    }
}

/// Replaces (or adds) the scalar at `path`, creating intermediate mappings that the file leaves out.
private func setScalar(in node: Node, path: ArraySlice<String>, value: String, fullPath: String) throws -> Node {
    guard let key = path.first else { return Node(value, .implicit, .plain) }
    guard var mapping = node.mapping else {
        throw RecipeError("--set \(fullPath)=\(value): '\(key)' is inside a value that is not a section")
    }
    let child = mapping[key] ?? Node.mapping(.init([]))
    if path.count == 1, child.mapping != nil || child.sequence != nil, !child.isEmptyCollection {
        throw RecipeError("--set \(fullPath)=\(value): \(fullPath) is a section or list, not a single value")
    }
    mapping[key] = try setScalar(in: child, path: path.dropFirst(), value: value, fullPath: fullPath)
    return .mapping(mapping)
}

private extension Node {
    var isEmptyCollection: Bool {
        if let mapping { return mapping.count == 0 }
        if let sequence { return sequence.count == 0 }
        return false
    }
}

/// The codingPath of a decoder as a dotted recipe path ("optim.lr", "data.val.wiki").
func recipePath(_ codingPath: [CodingKey]) -> String {
    codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        .replacingOccurrences(of: ".[", with: "[")
}

/// A decoding error as one line naming the recipe path.
func describe(_ error: DecodingError) -> String {
    switch error {
    case let .typeMismatch(type, context):
        return "\(recipePath(context.codingPath)): expected \(readableTypeName(type)) (\(context.debugDescription))"
    case let .valueNotFound(type, context):   // YAML that is not a value of the type (a word for a number) or null
        return "\(recipePath(context.codingPath)): expected \(readableTypeName(type))"
    case let .keyNotFound(key, context):
        return "\(recipePath(context.codingPath + [key])): required key missing"
    case let .dataCorrupted(context):
        let path = recipePath(context.codingPath)
        var detail = context.debugDescription
        if let underlying = context.underlyingError { detail += ": \(underlying)" }
        return path.isEmpty ? detail : "\(path): \(detail)"
    @unknown default:
        return "\(error)"
    }
}

private func readableTypeName(_ type: Any.Type) -> String {
    switch type {
    case is Int.Type, is UInt64.Type: return "an integer"
    case is Float.Type, is Double.Type: return "a number"
    case is Bool.Type: return "true or false"
    case is String.Type: return "a string"
    default: return "\(type)"
    }
}
