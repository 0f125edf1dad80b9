import Foundation

/// `objective:` — what the model predicts: `kind` names a registered objective, and `objective.<key>` holds the typed
/// settings of the objective that reads that key (masked_lm's `masking`, `tera`, `ssast`, …). Settings of another
/// kind are an error, except masked_lm's `masking` at its defaults, which run directories written before the
/// registries carry for every kind (it is dropped).
public struct ObjectiveSection: Codable, Equatable {
    public typealias Kind = ObjectiveKind

    public var kind = ObjectiveKind.causalLM
    /// Settings by key, each of its objective's `Settings` type.
    private var settings: [String: any RecipeSection] = [:]

    public init() {}

    /// The settings of objective `definition` when the recipe has them.
    public func settings<Definition: ObjectiveDefinition>(of definition: Definition.Type) -> Definition.Settings? {
        guard let key = definition.settingsKey else { return nil }
        return settings[key] as? Definition.Settings
    }

    /// Sets (or with nil removes) the settings of objective `definition`.
    public mutating func setSettings<Definition: ObjectiveDefinition>(_ value: Definition.Settings?, of definition: Definition.Type) {
        guard let key = definition.settingsKey else { return }
        settings[key] = value
    }

    /// Whether the recipe names settings under `key`.
    public func hasSettings(_ key: String) -> Bool { settings[key] != nil }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: RecipeCodingKey.self)
        kind = try container.decodeIfPresent(ObjectiveKind.self, forKey: RecipeCodingKey("kind")) ?? .causalLM
        for key in container.allKeys where key.stringValue != "kind" {
            guard let owner = Registry.objective(settingsKey: key.stringValue) else {
                let valid = ["kind"] + Registry.objectives.compactMap { $0.settingsKey }
                throw RecipeError.unknownKey(key.stringValue, at: container.codingPath, valid: valid)
            }
            let value = try owner.decodeSettings(try container.superDecoder(forKey: key))
            let borrowed = Registry.objective(kind)?.borrowedSettingsKeys.contains(key.stringValue) ?? false
            if owner.kind != kind && !borrowed {
                guard owner.defaultSettingsAcceptedElsewhere && value.isDefault else {
                    throw RecipeError("objective.\(key.stringValue) applies to objective.kind \(owner.kind.rawValue) only "
                        + "(objective.kind is \(kind.rawValue))")
                }
                continue
            }
            settings[key.stringValue] = value
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: RecipeCodingKey.self)
        try container.encode(kind, forKey: RecipeCodingKey("kind"))
        for key in settings.keys.sorted() { try settings[key]!.encode(to: container.superEncoder(forKey: RecipeCodingKey(key))) }
    }

    /// Equal kinds and settings, absent settings counting as their defaults.
    public static func == (a: ObjectiveSection, b: ObjectiveSection) -> Bool {
        a.kind == b.kind && Set(a.settings.keys).union(b.settings.keys).allSatisfy { key in
            guard let defaults = Registry.objective(settingsKey: key)?.defaultSettings else { return false }
            return (a.settings[key] ?? defaults).isEqual(to: b.settings[key] ?? defaults)
        }
    }

    /// "objective.kind ssast does not fit model.flavor bert: ssast needs audio_patches".
    func misfit(_ flavor: ModelFlavor) -> String {
        let families = Registry.objective(kind)?.families.map(\.rawValue).joined(separator: " or ") ?? "no registered family"
        return "objective.kind \(kind.rawValue) does not fit model.flavor \(flavor.rawValue): \(kind.rawValue) needs \(families)"
    }
}

extension RecipeSection {
    /// Whether every key holds its default.
    var isDefault: Bool { keysSet().isEmpty }

    func isEqual(to other: any RecipeSection) -> Bool { (other as? Self).map { $0 == self } ?? false }
}
