import FileErrors
import Foundation
import Yams
// libyaml as Yams vendors it: its event stream is the one view of a document that costs no recursion and no
// expansion. Yams does not re-export it; SwiftPM gives every dependent of Yams its module map.
import CYaml

// A recipe's YAML, read and composed within bounds: a recipe is a few kilobytes of shallow mappings, so a file that
// is huge, nested deeply or full of aliases is an error naming the file and the limit, never a stack overflow in
// Yams' recursive composer or gigabytes of expanded aliases ("billion laughs").

enum RecipeYAML {
    /// The largest recipe file read (the recipes here are a few KiB).
    static let maxBytes = 1 << 20
    /// The deepest nesting of sections and lists (recipes nest four levels).
    static let maxDepth = 64
    /// Alias references (`*name`) in one recipe: recipes need none, a few are harmless.
    static let maxAliases = 100
    /// Values that aliases may add to the tree once expanded.
    static let maxAliasedValues = 10_000

    /// The text of a recipe file, refused unread past `maxBytes` (a device or a FIFO included).
    static func read(_ url: URL) throws -> String {
        let data: Data
        do {
            let handle = try FileHandle(forReadingFrom: url)
            defer { try? handle.close() }
            data = try handle.read(upToCount: maxBytes + 1) ?? Data()
        } catch {
            throw RecipeError(FileError(error, operation: "read the recipe", path: url.path).description)
        }
        guard data.count <= maxBytes else { throw RecipeError("\(url.path): larger than a recipe's limit of \(maxBytes) bytes") }
        guard let text = String(data: data, encoding: .utf8) else { throw RecipeError("\(url.path): not UTF-8 text") }
        return text
    }

    /// The tree of a recipe's text: a mapping (an empty text is an empty one), within the limits above, no key twice.
    static func compose(_ yaml: String, source: String) throws -> Node {
        guard yaml.utf8.count <= maxBytes else { throw RecipeError("\(source): larger than a recipe's limit of \(maxBytes) bytes") }
        if let problem = boundsProblem(yaml) { throw RecipeError("\(source): \(problem)") }
        var root: Node
        do {
            root = try Yams.compose(yaml: yaml) ?? Node.mapping(.init([]))
        } catch {
            throw RecipeError("\(source): not valid YAML: \(oneLine(error))")
        }
        if case .scalar(let scalar) = root, scalar.string.isEmpty || scalar.string == "~" || scalar.string == "null" {
            root = Node.mapping(.init([]))   // an empty file: all defaults
        }
        guard root.mapping != nil else { throw RecipeError("\(source): the recipe must be a mapping of sections (model:, optim:, ...)") }
        if let duplicate = firstDuplicateKey(root, path: "") {
            throw RecipeError("\(source)\(duplicate.mark.map { ":\($0.line):\($0.column)" } ?? ""): "
                + "key '\(duplicate.path)' appears twice (YAML would keep only the last)")
        }
        return root
    }

    /// Why `yaml` exceeds the depth or alias limits (with the line and column), from libyaml's events; nil when it
    /// does not, or when it is not valid YAML (Yams then reports the error where it meets it, at a depth checked here).
    static func boundsProblem(_ yaml: String) -> String? {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return nil }
        defer { yaml_parser_delete(&parser) }
        yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
        let bytes = Array(yaml.utf8)
        return bytes.withUnsafeBufferPointer { buffer in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var tally = AliasTally()
            var event = yaml_event_t()
            while yaml_parser_parse(&parser, &event) == 1 {
                defer { yaml_event_delete(&event) }
                let place = "line \(event.start_mark.line + 1), column \(event.start_mark.column + 1)"
                switch event.type {
                case YAML_STREAM_END_EVENT:
                    return nil
                case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                    let anchor = event.type == YAML_SEQUENCE_START_EVENT ? event.data.sequence_start.anchor : event.data.mapping_start.anchor
                    tally.open.append((anchor.map { String(cString: $0) }, 0))
                    if tally.open.count > maxDepth { return "\(place): nested deeper than the limit of \(maxDepth) levels" }
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    guard let (anchor, values) = tally.open.popLast() else { return nil }
                    tally.add(values + 1, anchor: anchor)
                case YAML_SCALAR_EVENT:
                    tally.add(1, anchor: event.data.scalar.anchor.map { String(cString: $0) })
                case YAML_ALIAS_EVENT:
                    let name = event.data.alias.anchor.map { String(cString: $0) } ?? ""
                    let values = tally.sizes[name] ?? 1
                    tally.aliases += 1
                    tally.aliasedValues += values
                    if tally.aliases > maxAliases { return "\(place): more than the limit of \(maxAliases) aliases (*\(name))" }
                    if tally.aliasedValues > maxAliasedValues {
                        return "\(place): aliases expand to more than the limit of \(maxAliasedValues) values (*\(name))"
                    }
                    tally.add(values, anchor: nil)
                default:
                    break
                }
            }
            return nil
        }
    }
}

/// The values of the open collections and of each anchor, expanded, as the event stream goes by.
private struct AliasTally {
    /// Per open collection: its anchor and the values inside it so far.
    var open: [(anchor: String?, values: Int)] = []
    /// Values of each anchored node, aliases inside it expanded.
    var sizes: [String: Int] = [:]
    var aliases = 0
    var aliasedValues = 0

    /// A finished node of `values` values, inside the innermost open collection.
    mutating func add(_ values: Int, anchor: String?) {
        if let anchor { sizes[anchor] = values }
        if !open.isEmpty { open[open.count - 1].values += values }
    }
}

/// The first mapping key that appears twice, as a recipe path, with where its second appearance is.
private func firstDuplicateKey(_ node: Node, path: String) -> (path: String, mark: Mark?)? {
    if let mapping = node.mapping {
        var seen = Set<Node>()
        for (key, value) in mapping {
            let name = key.string ?? "\(key)"
            let keyPath = path.isEmpty ? name : "\(path).\(name)"
            if !seen.insert(key.string.map { Node($0) } ?? key).inserted { return (keyPath, key.mark) }
            if let duplicate = firstDuplicateKey(value, path: keyPath) { return duplicate }
        }
    } else if let sequence = node.sequence {
        for (index, element) in sequence.enumerated() {
            if let duplicate = firstDuplicateKey(element, path: "\(path)[\(index)]") { return duplicate }
        }
    }
    return nil
}

/// A YAML parser error as one line: Yams quotes the offending line and a caret under it, which a one-line error
/// drops (the line and column stay in the message).
func oneLine(_ error: Error) -> String {
    // Every kind of line break: "\r\n" is one Character, which a split on "\n" would not cut (a recipe with CRLF
    // line ends quoted its line and the caret below it on two lines).
    var lines = "\(error)".split(whereSeparator: \.isNewline).map(String.init)
    if lines.count >= 3, lines.last!.trimmingCharacters(in: .whitespaces) == "^" { lines.removeLast(2) }
    return lines.joined(separator: " ")
}
