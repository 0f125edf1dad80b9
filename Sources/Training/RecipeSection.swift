import Foundation

// One generic decoder for every recipe section: a section lists its keys once, as a table of names and the
// properties they fill, and decoding, encoding and the unknown-key error all come from that table.

/// A section of a recipe (or of a checkpoint's config.json). Decoding starts from `Self()`, so every key is optional
/// and its default is the property's initial value; a key the table does not list is an error that names its
/// recipe path and the valid keys. Encoding writes the table's keys in order (optional ones only when set), so the
/// resolved recipe a run directory keeps reads like the file.
public protocol RecipeSection: Codable, Equatable {
    init()
    /// Every key of the section, in the order the resolved recipe writes them.
    static var keys: [RecipeKey<Self>] { get }
    /// Checks that need the whole section (a required key, a default that depends on another key). `present`: the
    /// keys the mapping had; `path`: the section's recipe path ("data.replay").
    mutating func decoded(present: Set<String>, path: String) throws
}

extension RecipeSection {
    public mutating func decoded(present: Set<String>, path: String) throws {}

    public init(from decoder: Decoder) throws {
        self.init()
        let container = try decoder.container(keyedBy: RecipeCodingKey.self)
        let present = Set(container.allKeys.map(\.stringValue))
        let known = Self.keys.map(\.name)
        if let unknown = container.allKeys.map(\.stringValue).first(where: { !known.contains($0) }) {
            throw RecipeError.unknownKey(unknown, at: decoder.codingPath, valid: known)
        }
        for key in Self.keys where present.contains(key.name) { try key.decode(&self, container) }
        try decoded(present: present, path: recipePath(decoder.codingPath))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: RecipeCodingKey.self)
        for key in Self.keys { try key.encode(self, &container) }
    }

    /// The names of the keys whose value differs from the default (what a recipe sets).
    public func keysSet() -> [String] {
        let defaults = Self()
        return Self.keys.filter { !$0.equal(self, defaults) }.map(\.name)
    }
}

/// One key of a `RecipeSection`: its name in the recipe and the property it fills.
public struct RecipeKey<Section> {
    public let name: String
    let decode: (inout Section, KeyedDecodingContainer<RecipeCodingKey>) throws -> Void
    let encode: (Section, inout KeyedEncodingContainer<RecipeCodingKey>) throws -> Void
    let equal: (Section, Section) -> Bool

    /// A key with a default: absent (or null), the property keeps its initial value.
    public init<Value: Codable & Equatable>(_ name: String, _ property: WritableKeyPath<Section, Value>) {
        self.name = name
        let key = RecipeCodingKey(name)
        decode = { section, container in
            if let value = try container.decodeIfPresent(Value.self, forKey: key) {
                try requireFinite(value, container, key)
                section[keyPath: property] = value
            }
        }
        encode = { section, container in try container.encode(shortestDecimal(section[keyPath: property]), forKey: key) }
        equal = { $0[keyPath: property] == $1[keyPath: property] }
    }

    /// An optional key: absent or null, the property is nil (whatever "unset" means is the section's to say).
    public init<Value: Codable & Equatable>(_ name: String, _ property: WritableKeyPath<Section, Value?>) {
        self.name = name
        let key = RecipeCodingKey(name)
        decode = { section, container in
            let value = try container.decodeIfPresent(Value.self, forKey: key)
            if let value { try requireFinite(value, container, key) }
            section[keyPath: property] = value
        }
        encode = { section, container in
            if let value = section[keyPath: property] { try container.encode(shortestDecimal(value), forKey: key) }
        }
        equal = { $0[keyPath: property] == $1[keyPath: property] }
    }

    /// A key that takes one of a closed set of values (a schedule kind, a precision): a value outside it is an error
    /// that names the key and lists the allowed values, never a silent fallback to a default.
    public init<Value: RawRepresentable & CaseIterable & Equatable>(_ name: String, choice property: WritableKeyPath<Section, Value>)
    where Value.RawValue == String {
        self.name = name
        let key = RecipeCodingKey(name)
        decode = { section, container in
            if !(try container.decodeNil(forKey: key)) { section[keyPath: property] = try decodeChoice(Value.self, container, key) }
        }
        encode = { section, container in try container.encode(section[keyPath: property].rawValue, forKey: key) }
        equal = { $0[keyPath: property] == $1[keyPath: property] }
    }

    /// An optional key of a closed set of values.
    public init<Value: RawRepresentable & CaseIterable & Equatable>(_ name: String, choice property: WritableKeyPath<Section, Value?>)
    where Value.RawValue == String {
        self.name = name
        let key = RecipeCodingKey(name)
        decode = { section, container in
            section[keyPath: property] = try container.decodeNil(forKey: key) ? nil : try decodeChoice(Value.self, container, key)
        }
        encode = { section, container in try container.encodeIfPresent(section[keyPath: property]?.rawValue, forKey: key) }
        equal = { $0[keyPath: property] == $1[keyPath: property] }
    }

    /// Another section's key, read into that section kept inside this one: a section that extends another (w2v-BERT's
    /// keys are wav2vec 2.0's and two more) lists `Other.keys.map { .init($0, in: \.other) }` beside its own.
    public init<Inner>(_ inner: RecipeKey<Inner>, in property: WritableKeyPath<Section, Inner>) {
        name = inner.name
        decode = { section, container in try inner.decode(&section[keyPath: property], container) }
        encode = { section, container in try inner.encode(section[keyPath: property], &container) }
        equal = { inner.equal($0[keyPath: property], $1[keyPath: property]) }
    }
}

/// A Float as the Double of its shortest decimal (`lr: 2e-3`, not the float32 noise `2.0000000949949e-3` that YAML
/// writes for the Float itself); it reads back as the same Float. Lists of Floats likewise; other values as they are.
func shortestDecimal(_ value: any Encodable) -> any Encodable {
    if let float = value as? Float { return Double("\(float)") ?? Double(float) }
    if let floats = value as? [Float] { return floats.map { Double("\($0)") ?? Double($0) } }
    return value
}

/// Throws when `value` is or holds a number that is not finite (`inf`, `.nan`, `1e39` for a Float): no setting means
/// that, and training with one fails late and obscurely.
func requireFinite(_ value: Any, _ container: KeyedDecodingContainer<RecipeCodingKey>, _ key: RecipeCodingKey) throws {
    func nonFinite(_ value: Any) -> String? {
        switch value {
        case let number as Float: return number.isFinite ? nil : "\(number)"
        case let number as Double: return number.isFinite ? nil : "\(number)"
        case let list as [Any]: return list.lazy.compactMap(nonFinite).first
        case let table as [String: Any]: return table.keys.sorted().lazy.compactMap { nonFinite(table[$0]!) }.first
        default: return nil
        }
    }
    if let number = nonFinite(value) {
        let path = recipePath(container.codingPath + [key])
        throw RecipeError("\(path) must be a finite number, got \(number)", keyPath: path)
    }
}

/// The value of `key`, which must be one of `Value`'s cases.
func decodeChoice<Value: RawRepresentable & CaseIterable>(_: Value.Type, _ container: KeyedDecodingContainer<RecipeCodingKey>,
                                                          _ key: RecipeCodingKey) throws -> Value where Value.RawValue == String {
    let text = try container.decode(String.self, forKey: key)
    guard let value = Value(rawValue: text) else {
        let path = recipePath(container.codingPath + [key])
        let names = Value.allCases.map(\.rawValue)
        let suggestion = nearestName(to: text, among: names).map { " (did you mean \($0)?)" } ?? ""
        throw RecipeError("\(path) must be one of \(names.joined(separator: ", ")), got '\(text)'\(suggestion)", keyPath: path)
    }
    return value
}

/// Any key of a recipe mapping, by name.
public struct RecipeCodingKey: CodingKey, Hashable {
    public var stringValue: String
    public var intValue: Int? { nil }
    public init(_ name: String) { stringValue = name }
    public init?(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { nil }
}

extension RecipeError {
    /// "unknown key 'optim.learning_rate': did you mean optim.lr? (valid keys of optim: lr, betas, …)".
    static func unknownKey(_ key: String, at codingPath: [CodingKey], valid: [String]) -> RecipeError {
        let path = recipePath(codingPath)
        let prefix = path.isEmpty ? "" : "\(path)."
        let suggestion = nearestName(to: key, among: valid).map { ": did you mean \(prefix)\($0)?" } ?? ""
        return RecipeError("unknown key '\(prefix)\(key)'\(suggestion) (valid keys\(path.isEmpty ? "" : " of \(path)"): "
            + "\(valid.joined(separator: ", ")))", keyPath: prefix + key)
    }
}
