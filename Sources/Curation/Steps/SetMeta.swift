import Foundation

/// `set_meta`: sets fixed meta fields on every document — what a pipeline knows about a whole input (`year: 1623`,
/// `age_bucket: folio`, `licence: public-domain`). `fields` is a mapping of names to values; YAML types are kept
/// (`1623` is a number, `"1623"` a string). `overwrite` [true]: false leaves a field a document already has.
public final class SetMeta: CurationStep {
    public static let kind = "set_meta"
    public static let keys = ["fields", "overwrite"]

    public let fields: [String: MetaValue]
    public let overwrite: Bool

    public init(settings: StepSettings) throws {
        guard let fields = try settings.metaMapping("fields"), !fields.isEmpty else {
            throw settings.problem(nil, "needs 'fields:', a mapping of meta names to values")
        }
        self.fields = fields
        overwrite = try settings.bool("overwrite") ?? true
    }

    public func apply(to document: inout CurationDocument) throws -> StepVerdict {
        for (key, value) in fields where overwrite || document.meta[key] == nil { document.meta[key] = value }
        return .keep
    }
}
