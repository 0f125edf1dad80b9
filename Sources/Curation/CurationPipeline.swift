import FileErrors
import Foundation
import Yams
// libyaml as Yams vendors it, for a bounds check that needs no recursion (as Training's RecipeYAML does).
import CYaml

/// A pipeline file: `steps:`, a list of mappings, each `kind: <registered kind>` and that kind's keys.
///
///     steps:
///       - kind: normalize
///       - kind: near_dedup
///         threshold: 0.8
///
/// Every problem is one line naming the file (and the line and column where YAML gives one).
public struct CurationPipeline {
    /// The file as the user named it.
    public let file: String
    public let steps: [any CurationStep]

    /// The largest pipeline file read.
    static let maxBytes = 1 << 20
    /// The deepest nesting of lists and mappings (a pipeline nests four levels).
    static let maxDepth = 32

    public init(file: String, steps: [any CurationStep]) {
        (self.file, self.steps) = (file, steps)
    }

    /// Reads and decodes the pipeline at `path`.
    public static func load(_ path: String) throws -> CurationPipeline {
        let data: Data
        do {
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            data = try handle.read(upToCount: maxBytes + 1) ?? Data()
        } catch {
            throw CurationError(FileError(error, operation: "read the pipeline", path: path).description)
        }
        guard data.count <= maxBytes else { throw CurationError("\(path): larger than a pipeline's limit of \(maxBytes) bytes") }
        guard let yaml = String(data: data, encoding: .utf8) else { throw CurationError("\(path): not UTF-8 text") }
        return try parse(yaml, file: path)
    }

    /// Decodes a pipeline's YAML text; `file` names it in errors.
    public static func parse(_ yaml: String, file: String) throws -> CurationPipeline {
        if let problem = boundsProblem(yaml) { throw CurationError("\(file): \(problem)") }
        let root: Node?
        do { root = try Yams.compose(yaml: yaml) } catch {
            let message = "\(error)".split(whereSeparator: \.isNewline).first.map(String.init) ?? "\(error)"
            throw CurationError("\(file): not valid YAML: \(message)")
        }
        guard let mapping = root?.mapping else { throw CurationError("\(file): a pipeline is a mapping with a list under 'steps:'") }
        var sawSteps = false
        for (key, _) in mapping {
            guard key.string == "steps" else {
                throw CurationError("\(place(file, key.mark)): unknown key '\(key.string ?? "\(key)")'; a pipeline has only 'steps:'")
            }
            if sawSteps { throw CurationError("\(place(file, key.mark)): 'steps:' appears twice (YAML would keep only one)") }
            sawSteps = true
        }
        guard let list = mapping["steps"]?.sequence, !list.isEmpty else {
            throw CurationError("\(file): 'steps:' must be a non-empty list of steps (- kind: normalize, …)")
        }
        var steps: [any CurationStep] = []
        for (position, node) in list.enumerated() {
            let here = "\(place(file, node.mark)): steps[\(position)]"
            guard let fields = node.mapping else { throw CurationError("\(here): a step is a mapping with a 'kind:'") }
            var values: [String: Node] = [:], keyMarks: [String: Mark] = [:], order: [String] = []
            for (key, value) in fields {
                guard let name = key.string, case .scalar = key else { throw CurationError("\(here): step keys must be names") }
                guard values[name] == nil else {
                    throw CurationError("\(place(file, key.mark)): steps[\(position)]: key '\(name)' appears twice")
                }
                values[name] = value
                keyMarks[name] = key.mark
                order.append(name)
            }
            let kinds = CurationSteps.kinds
            guard let kindNode = values.removeValue(forKey: "kind"), case .scalar(let kindScalar) = kindNode else {
                throw CurationError("\(here): missing 'kind:' (one of \(kinds.joined(separator: ", ")))")
            }
            let kind = kindScalar.string
            guard CurationSteps.type(of: kind) != nil else {
                let suggestion = closestName(to: kind, among: kinds).map { " (did you mean \($0)?)" } ?? ""
                throw CurationError("\(place(file, kindNode.mark)): steps[\(position)]: unknown step kind '\(kind)'\(suggestion); "
                    + "valid kinds: \(kinds.joined(separator: ", "))")
            }
            let settings = StepSettings(kind: kind, file: file, position: position, values: values, keyMarks: keyMarks, mark: node.mark)
            steps.append(try CurationSteps.make(settings, keys: order.filter { $0 != "kind" }))
        }
        return CurationPipeline(file: file, steps: steps)
    }

    private static func place(_ file: String, _ mark: Mark?) -> String { mark.map { "\(file):\($0.line):\($0.column)" } ?? file }

    /// Why `yaml` is nested too deeply or uses aliases, from libyaml's events (no recursion); nil when it does not,
    /// or when it is not valid YAML (Yams then reports that).
    static func boundsProblem(_ yaml: String) -> String? {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return nil }
        defer { yaml_parser_delete(&parser) }
        yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
        let bytes = Array(yaml.utf8)
        return bytes.withUnsafeBufferPointer { buffer in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var depth = 0
            var event = yaml_event_t()
            while yaml_parser_parse(&parser, &event) == 1 {
                defer { yaml_event_delete(&event) }
                let place = "line \(event.start_mark.line + 1), column \(event.start_mark.column + 1)"
                switch event.type {
                case YAML_STREAM_END_EVENT: return nil
                case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                    depth += 1
                    if depth > maxDepth { return "\(place): nested deeper than the limit of \(maxDepth) levels" }
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT: depth -= 1
                case YAML_ALIAS_EVENT: return "\(place): a pipeline file may not use aliases (*name)"
                default: break
                }
            }
            return nil
        }
    }
}
