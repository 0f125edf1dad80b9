/// The four character classes GPT-2's pre-tokenisation pattern distinguishes: `\p{L}`, `\p{N}`, `\s` and the rest.
/// Values are stored as bytes in a lookup table, so they are plain constants rather than an enum.
enum ScalarClass {
    static let letter: UInt8 = 1      // general category L (Lu, Ll, Lt, Lm, Lo)
    static let number: UInt8 = 2      // general category N (Nd, Nl, No)
    static let whitespace: UInt8 = 3  // the White_Space property (what Oniguruma's \s matches)
    static let other: UInt8 = 4

    static func classify(_ value: UInt32) -> UInt8 {
        guard let scalar = Unicode.Scalar(value) else { return other }
        let properties = scalar.properties
        if properties.isWhitespace { return whitespace }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return letter
        case .decimalNumber, .letterNumber, .otherNumber: return number
        default: return other
        }
    }

    /// Classes of the Basic Multilingual Plane, computed once (64 KiB); scalars above it are classified on demand.
    static let basicPlane: [UInt8] = (0..<0x10000).map { classify(UInt32($0)) }

    @inline(__always)
    static func of(_ value: UInt32) -> UInt8 {
        value < 0x10000 ? basicPlane.withUnsafeBufferPointer { $0[Int(value)] } : classify(value)
    }
}

/// Decodes the scalar that starts at `i` in valid UTF-8 (Swift strings always are): its value and byte length.
@inline(__always)
func decodeScalar(_ bytes: UnsafeBufferPointer<UInt8>, at i: Int) -> (value: UInt32, length: Int) {
    let lead = UInt32(bytes[i])
    if lead < 0x80 { return (lead, 1) }
    if lead < 0xE0 { return ((lead & 0x1F) << 6 | UInt32(bytes[i + 1] & 0x3F), 2) }
    if lead < 0xF0 {
        return ((lead & 0x0F) << 12 | UInt32(bytes[i + 1] & 0x3F) << 6 | UInt32(bytes[i + 2] & 0x3F), 3)
    }
    return ((lead & 0x07) << 18 | UInt32(bytes[i + 1] & 0x3F) << 12 | UInt32(bytes[i + 2] & 0x3F) << 6
            | UInt32(bytes[i + 3] & 0x3F), 4)
}
