import Foundation
import Yams

/// How a task is put to a language model: a template with `{text}` for decoders (the verbalised label follows it),
/// a cloze with `{text}` and `{mask}` for masked LMs, and the words that stand for each label (LM-BFF's verbaliser).
public struct TaskPrompt: Sendable, Equatable {
    public var template: String
    public var cloze: String
    public var verbalizer: [String: String]

    public init(template: String, cloze: String, verbalizer: [String: String]) {
        (self.template, self.cloze, self.verbalizer) = (template, cloze, verbalizer)
    }

    /// The decoder prompt for one text: the template with `{text}` filled in.
    public func prompt(_ text: String) -> String { template.replacingOccurrences(of: "{text}", with: text) }

    /// The cloze for one text, `{mask}` replaced by the masked LM's mask token.
    public func cloze(_ text: String, mask: String) -> String {
        cloze.replacingOccurrences(of: "{text}", with: text).replacingOccurrences(of: "{mask}", with: mask)
    }
}

/// task.yaml: what a task is, its labels in class-index order, where its texts came from, how it was split, and its
/// prompt.
public struct TaskDefinition: Sendable, Equatable {
    public var name: String
    public var description: String
    public var labels: [String]
    public var source: String
    public var split: String
    public var prompt: TaskPrompt?

    public init(name: String, description: String, labels: [String], source: String, split: String, prompt: TaskPrompt?) {
        (self.name, self.description, self.labels, self.source, self.split, self.prompt) =
            (name, description, labels, source, split, prompt)
    }

    static let keys = ["name", "description", "labels", "source", "split", "prompt"]
    static let promptKeys = ["template", "cloze", "verbalizer"]

    /// Reads task.yaml; every problem is one line naming the file and the key.
    public static func read(_ url: URL) throws -> TaskDefinition {
        let path = url.path
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw TaskError(FileManager.default.fileExists(atPath: path)
                ? "\(path): not UTF-8 text" : "\(path): no such file (a task directory holds task.yaml)")
        }
        let node: Any?
        do { node = try Yams.load(yaml: text) } catch { throw TaskError("\(path): not valid YAML (\(error))") }
        guard let fields = node as? [String: Any] else { throw TaskError("\(path): expected a mapping of task keys") }
        if let unknown = fields.keys.sorted().first(where: { !keys.contains($0) }) {
            throw TaskError("\(path): unknown key '\(unknown)' (valid: \(keys.joined(separator: ", ")))")
        }
        func string(_ key: String, in fields: [String: Any], at prefix: String = "") throws -> String {
            guard let value = fields[key] else { throw TaskError("\(path): missing key '\(prefix)\(key)'") }
            guard let text = value as? String else { throw TaskError("\(path): '\(prefix)\(key)' must be a string") }
            return text
        }
        guard let labelNodes = fields["labels"] as? [Any], !labelNodes.isEmpty else {
            throw TaskError("\(path): 'labels' must be a non-empty list")
        }
        let labels = labelNodes.map { "\($0)" }
        guard labels.count >= 2 else { throw TaskError("\(path): 'labels' needs at least two labels, got \(labels.count)") }
        if let repeated = labels.enumerated().first(where: { labels.firstIndex(of: $0.element) != $0.offset }) {
            throw TaskError("\(path): label '\(repeated.element)' is listed twice")
        }
        var prompt: TaskPrompt?
        if let node = fields["prompt"] {
            guard let promptFields = node as? [String: Any] else { throw TaskError("\(path): 'prompt' must be a mapping") }
            if let unknown = promptFields.keys.sorted().first(where: { !promptKeys.contains($0) }) {
                throw TaskError("\(path): unknown key 'prompt.\(unknown)' (valid: \(promptKeys.joined(separator: ", ")))")
            }
            let template = try string("template", in: promptFields, at: "prompt.")
            let cloze = try string("cloze", in: promptFields, at: "prompt.")
            guard template.contains("{text}") else { throw TaskError("\(path): 'prompt.template' must contain {text}") }
            guard cloze.contains("{text}"), cloze.contains("{mask}") else {
                throw TaskError("\(path): 'prompt.cloze' must contain {text} and {mask}")
            }
            guard let words = promptFields["verbalizer"] as? [AnyHashable: Any] else {
                throw TaskError("\(path): 'prompt.verbalizer' must map each label to its words")
            }
            var verbalizer: [String: String] = [:]
            for (key, value) in words { verbalizer["\(key)"] = "\(value)" }
            if let missing = labels.first(where: { verbalizer[$0] == nil }) {
                throw TaskError("\(path): 'prompt.verbalizer' has no words for label '\(missing)'")
            }
            if let extra = verbalizer.keys.sorted().first(where: { !labels.contains($0) }) {
                throw TaskError("\(path): 'prompt.verbalizer' names '\(extra)', which is not one of the labels")
            }
            prompt = TaskPrompt(template: template, cloze: cloze, verbalizer: verbalizer)
        }
        return TaskDefinition(name: try string("name", in: fields), description: try string("description", in: fields),
                              labels: labels, source: try string("source", in: fields), split: try string("split", in: fields),
                              prompt: prompt)
    }

    /// task.yaml's text, keys in a fixed order so that a rerun writes the same bytes.
    public var yaml: String {
        func quoted(_ text: String) -> String {
            let data = try! JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])
            return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
        }
        var lines = ["name: \(quoted(name))", "description: \(quoted(description))",
                     "labels: [\(labels.map(quoted).joined(separator: ", "))]", "source: \(quoted(source))",
                     "split: \(quoted(split))"]
        if let prompt {
            lines += ["prompt:", "  template: \(quoted(prompt.template))", "  cloze: \(quoted(prompt.cloze))", "  verbalizer:"]
            lines += labels.map { "    \(quoted($0)): \(quoted(prompt.verbalizer[$0]!))" }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
