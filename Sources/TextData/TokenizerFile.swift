import FileErrors
import Foundation

/// A parsed Hugging Face tokenizer.json with typed accessors by dotted key ("model.vocab"); every failure is a
/// `TokenizerFileError` naming the file and the key.
struct TokenizerFile {
    let path: String
    let root: [String: Any]

    init(contentsOf url: URL) throws {
        path = url.path
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TokenizerFileError(file: url.path, key: "", message: "cannot read the file: \(FileError.reason(error, path: url.path))")
        }
        guard let parsed = try? JSONSerialization.jsonObject(with: data) else {
            throw TokenizerFileError(file: url.path, key: "", message: "not valid JSON")
        }
        guard let object = parsed as? [String: Any] else {
            throw TokenizerFileError(file: url.path, key: "", message: "the top level is not a JSON object")
        }
        root = object
    }

    func error(_ key: String, _ message: String) -> TokenizerFileError {
        TokenizerFileError(file: path, key: key, message: message)
    }

    /// The value at a dotted key; nil when absent or JSON null.
    func value(_ key: String, in object: [String: Any]? = nil) -> Any? {
        var current: Any? = object ?? root
        for part in key.split(separator: ".") {
            guard let dictionary = current as? [String: Any] else { return nil }
            current = dictionary[String(part)]
        }
        return current is NSNull ? nil : current
    }

    func string(_ key: String) throws -> String {
        guard let raw = value(key) else { throw error(key, "missing") }
        guard let string = raw as? String else { throw error(key, "expected a string") }
        return string
    }

    func optionalString(_ key: String) throws -> String? {
        guard let raw = value(key) else { return nil }
        guard let string = raw as? String else { throw error(key, "expected a string or null") }
        return string
    }

    func bool(_ key: String, default fallback: Bool) throws -> Bool {
        guard let raw = value(key) else { return fallback }
        guard let flag = raw as? Bool else { throw error(key, "expected true or false") }
        return flag
    }

    func int(_ key: String) throws -> Int {
        guard let raw = value(key) else { throw error(key, "missing") }
        guard let number = raw as? Int else { throw error(key, "expected an integer") }
        return number
    }

    func object(_ key: String) throws -> [String: Any] {
        guard let raw = value(key) else { throw error(key, "missing") }
        guard let object = raw as? [String: Any] else { throw error(key, "expected an object") }
        return object
    }

    func array(_ key: String) throws -> [Any] {
        guard let raw = value(key) else { throw error(key, "missing") }
        guard let array = raw as? [Any] else { throw error(key, "expected an array") }
        return array
    }

    /// `model.vocab`: token → id, ids non-negative.
    func vocabulary() throws -> [String: Int] {
        let raw = try object("model.vocab")
        var vocabulary = [String: Int](minimumCapacity: raw.count)
        for (token, id) in raw {
            guard let id = id as? Int, id >= 0 else {
                throw error("model.vocab", "the id of \"\(token)\" is not a non-negative integer")
            }
            vocabulary[token] = id
        }
        return vocabulary
    }

    /// `added_tokens` (absent means none).
    func addedTokens() throws -> [AddedToken] {
        guard value("added_tokens") != nil else { return [] }
        return try array("added_tokens").enumerated().map { index, entry in
            let key = "added_tokens[\(index)]"
            guard let entry = entry as? [String: Any] else { throw error(key, "expected an object") }
            guard let id = entry["id"] as? Int, id >= 0 else { throw error(key + ".id", "expected a non-negative integer") }
            guard let content = entry["content"] as? String, !content.isEmpty else {
                throw error(key + ".content", "expected a non-empty string")
            }
            var token = AddedToken(id: id, content: content, special: entry["special"] as? Bool ?? false)
            token.singleWord = entry["single_word"] as? Bool ?? false
            token.leftStrip = entry["lstrip"] as? Bool ?? false
            token.rightStrip = entry["rstrip"] as? Bool ?? false
            token.normalized = entry["normalized"] as? Bool ?? false
            return token
        }
    }
}

/// Writes JSON text with a fixed key order (vocabularies by id, one entry per line), which JSONSerialization
/// does not offer, so that saved tokenizers diff cleanly.
enum JSONText {
    static func quoted(_ string: String) -> String {
        var out = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    static func addedTokens(_ tokens: [AddedToken]) -> String {
        if tokens.isEmpty { return "[]" }
        let entries = tokens.map { token in
            "    {\"id\": \(token.id), \"content\": \(quoted(token.content)), \"single_word\": \(token.singleWord), "
                + "\"lstrip\": \(token.leftStrip), \"rstrip\": \(token.rightStrip), "
                + "\"normalized\": \(token.normalized), \"special\": \(token.special)}"
        }
        return "[\n" + entries.joined(separator: ",\n") + "\n  ]"
    }
}
