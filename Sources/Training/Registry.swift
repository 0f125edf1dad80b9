import Foundation
import Layers
import Tensors

// The registries: every model family and every objective registers itself once, in its own file, and everything
// that needs the set of kinds (recipe decoding and validation, the trainer, checkpoint loading, probes, export,
// the bench) asks here. Nothing else lists them.

/// A name that must be registered: decoding an unregistered one is an error that lists the registered names.
public protocol RegisteredName: RawRepresentable, Hashable, Codable, CustomStringConvertible where RawValue == String {
    init(rawValue: String)
    /// The names registered now, in registration order.
    static var registeredNames: [String] { get }
}

extension RegisteredName {
    public var description: String { rawValue }

    public init(from decoder: Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        guard Self.registeredNames.contains(name) else {
            let path = recipePath(decoder.codingPath)
            let suggestion = nearestName(to: name, among: Self.registeredNames).map { " (did you mean \($0)?)" } ?? ""
            throw RecipeError("\(path) must be one of \(Self.registeredNames.joined(separator: ", ")), got '\(name)'\(suggestion)",
                              keyPath: path)
        }
        self.init(rawValue: name)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

extension RecipeError {
    /// "model.flavor must be one of gpt2, llama, …, got 'gpt5'".
    static func unregistered<Name: RegisteredName>(_ key: String, _ name: Name) -> RecipeError {
        RecipeError("\(key) must be one of \(Name.registeredNames.joined(separator: ", ")), got '\(name.rawValue)'")
    }
}

/// `model.flavor`: the name of a registered model family.
public struct ModelFlavor: RegisteredName {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static var registeredNames: [String] { Registry.families.map { $0.flavor.rawValue } }

    /// The registered family of this name (decoding guarantees one; a name made in code may not have one).
    public var family: any ModelFamily.Type {
        get throws {
            guard let family = Registry.family(self) else { throw RecipeError.unregistered("model.flavor", self) }
            return family
        }
    }

    /// Whether the family trains on audio (features or waveforms) rather than tokens.
    public var isAudio: Bool { Registry.family(self).map { !$0.dataForm.isText } ?? false }
    /// A text-to-speech model (its family trains on speech pairs): neither a text model nor an audio encoder.
    public var synthesisesSpeech: Bool { Registry.family(self).map { $0.dataForm == SpeechPairs.self } ?? false }
}

/// `objective.kind`: the name of a registered objective.
public struct ObjectiveKind: RegisteredName {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static var registeredNames: [String] { Registry.objectives.map { $0.kind.rawValue } }

    /// The registered objective of this name (decoding guarantees one; a name made in code may not have one).
    public var definition: any ObjectiveDefinition.Type {
        get throws {
            guard let definition = Registry.objective(self) else { throw RecipeError.unregistered("objective.kind", self) }
            return definition
        }
    }

    /// Whether this objective can train a model of `flavor`.
    public func fits(_ flavor: ModelFlavor) -> Bool { Registry.objective(self)?.families.contains(flavor) ?? false }
}

/// The registered model families and objectives. The built-in ones are registered on first use
/// (`BuiltInRegistrations`); code outside the package registers its own with `register` before decoding a recipe
/// that names them.
public enum Registry {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var registeredFamilies: [any ModelFamily.Type] = BuiltInRegistrations.families
    nonisolated(unsafe) private static var registeredObjectives: [any ObjectiveDefinition.Type] = BuiltInRegistrations.objectives

    /// Registers a model family; a second family of the same flavor replaces the first.
    public static func register(_ family: any ModelFamily.Type) {
        lock.withLock {
            registeredFamilies.removeAll { $0.flavor == family.flavor }
            registeredFamilies.append(family)
        }
    }

    /// Registers an objective; a second objective of the same kind replaces the first.
    public static func register(_ objective: any ObjectiveDefinition.Type) {
        lock.withLock {
            registeredObjectives.removeAll { $0.kind == objective.kind }
            registeredObjectives.append(objective)
        }
    }

    public static var families: [any ModelFamily.Type] { lock.withLock { registeredFamilies } }
    public static var objectives: [any ObjectiveDefinition.Type] { lock.withLock { registeredObjectives } }

    public static func family(_ flavor: ModelFlavor) -> (any ModelFamily.Type)? { families.first { $0.flavor == flavor } }
    public static func objective(_ kind: ObjectiveKind) -> (any ObjectiveDefinition.Type)? { objectives.first { $0.kind == kind } }

    /// The objective whose settings live under `objective.<key>`.
    static func objective(settingsKey key: String) -> (any ObjectiveDefinition.Type)? {
        objectives.first { $0.settingsKey == key }
    }
}
