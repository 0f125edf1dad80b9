import Foundation
import Yams

// `--set` overrides on the YAML tree, and decoding errors as one line naming the recipe path and where it is set.

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
            guard override.index(after: equals) != override.endIndex else {
                throw RecipeError("--set \(override): no value after '=' (leave the --set out to keep the recipe's value)")
            }
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

extension RecipeError {
    /// A decoding error as one line: what is wrong with which key, and where that key comes from — the last `--set`
    /// that wrote it or anything under it, else the file's line and column — without Yams' wrapper ("The given data
    /// was not valid YAML.") around errors that the recipe types throw.
    init(blaming error: Error, file: Node, overrides: [String], source: String) {
        var (keyPath, message): (String?, String) = (nil, "\(error)")
        if case let .dataCorrupted(context) = error as? DecodingError, let recipeError = context.underlyingError as? RecipeError {
            (keyPath, message) = (recipeError.keyPath, recipeError.message)
        } else if let recipeError = error as? RecipeError {
            (keyPath, message) = (recipeError.keyPath, recipeError.message)
        } else if let decodingError = error as? DecodingError {
            let path = decodingError.recipePath
            let root = try? Recipe.applying(overrides, to: file)
            (keyPath, message) = (path, describe(decodingError, value: root.flatMap { locate(path, in: $0)?.node }))
        }
        guard let keyPath else { self.init("\(source): \(message)"); return }
        let related = { (setPath: String) in
            setPath == keyPath || keyPath.hasPrefix(setPath + ".") || keyPath.hasPrefix(setPath + "[") || setPath.hasPrefix(keyPath + ".")
        }
        if let override = overrides.last(where: { related(String($0.prefix(while: { $0 != "=" }))) }) {
            self.init("--set \(override): \(message)", keyPath: keyPath)
        } else if let mark = locate(keyPath, in: file)?.mark {
            self.init("\(source):\(mark.line):\(mark.column): \(message)", keyPath: keyPath)
        } else {
            self.init("\(source): \(message)", keyPath: keyPath)
        }
    }
}

/// The node at a recipe path ("optim.lr", "data.val[0]") and where its key (or list element) is written.
private func locate(_ path: String, in root: Node) -> (node: Node, mark: Mark?)? {
    var (node, mark) = (root, root.mark)
    for component in path.split(separator: ".") {
        var name = Substring(component)
        var indices: [Int] = []
        while name.hasSuffix("]"), let open = name.lastIndex(of: "["), let index = Int(name[name.index(after: open)..<name.index(before: name.endIndex)]) {
            indices.insert(index, at: 0)
            name = name[..<open]
        }
        if !name.isEmpty {
            guard let pair = node.mapping?.first(where: { $0.key.string == String(name) }) else { return nil }
            (node, mark) = (pair.value, pair.key.mark)
        }
        for index in indices {
            guard let sequence = node.sequence, sequence.indices.contains(index) else { return nil }
            (node, mark) = (sequence[index], sequence[index].mark)
        }
    }
    return (node, mark)
}

extension DecodingError {
    /// The recipe path of the value (or missing key) the error is about.
    var recipePath: String {
        switch self {
        case let .typeMismatch(_, context), let .valueNotFound(_, context), let .dataCorrupted(context):
            return Training.recipePath(context.codingPath)
        case let .keyNotFound(key, context):
            return Training.recipePath(context.codingPath + [key])
        @unknown default:
            return ""
        }
    }
}

/// A decoding error as one line naming the recipe path ("optim.lr: expected a number, got 'abc'"); `value`: the
/// node the recipe has there.
func describe(_ error: DecodingError, value: Node? = nil) -> String {
    let got = value.map { node in
        node.scalar.map { ", got '\($0.string)'" } ?? (node.mapping != nil ? ", got a section" : ", got a list")
    } ?? ""
    switch error {
    case let .typeMismatch(type, context), let .valueNotFound(type, context):
        // valueNotFound: YAML that is not a value of the type (a word for a number) or null.
        return "\(recipePath(context.codingPath)): expected \(readableTypeName(type))\(got)"
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
    case is Node.Mapping.Type: return "a section (key: value lines)"
    case is Node.Sequence.Type: return "a list"
    case is Node.Scalar.Type: return "a single value"
    default: return "\(type)"
    }
}
