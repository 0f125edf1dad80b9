/// GPT-2's reversible map between the 256 byte values and 256 printable Unicode scalars
/// (`bytes_to_unicode` in openai/gpt-2 encoder.py): a byte-level BPE vocabulary is stored as strings of these
/// scalars, so that every token, including partial UTF-8 sequences and control bytes, is a printable string.
/// Printable Latin-1 bytes ('!'...'~', '¡'...'¬', '®'...'ÿ') map to themselves; the other 68 bytes map, in byte
/// order, to U+0100, U+0101, ... (space 0x20 becomes 'Ġ' U+0120, newline 0x0A becomes 'Ċ' U+010A).
public enum ByteLevelAlphabet {
    /// The scalar value that stands for each byte.
    public static let scalarForByte: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            if (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte) {
                table[byte] = UInt32(byte)
            } else {
                table[byte] = next
                next += 1
            }
        }
        return table
    }()

    /// The byte a scalar stands for, or nil when the scalar is not one of the 256.
    public static func byte(for scalar: UInt32) -> UInt8? {
        if scalar < 0x144, let byte = byteForScalar[Int(scalar)] { return byte }
        return nil
    }

    private static let byteForScalar: [UInt8?] = {
        var table = [UInt8?](repeating: nil, count: 0x144)
        for byte in 0..<256 { table[Int(scalarForByte[byte])] = UInt8(byte) }
        return table
    }()

    /// Bytes → the byte-level string that names them in a vocabulary ("Ġthe" for " the").
    public static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var scalars = String.UnicodeScalarView()
        for byte in bytes { scalars.append(Unicode.Scalar(scalarForByte[Int(byte)])!) }
        return String(scalars)
    }

    /// A byte-level string → its bytes, or nil when a scalar is outside the alphabet.
    public static func decode(_ string: String) -> [UInt8]? {
        var bytes = [UInt8]()
        bytes.reserveCapacity(string.unicodeScalars.count)
        for scalar in string.unicodeScalars {
            guard let byte = byte(for: scalar.value) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }

    /// The 256 byte values in the order of their scalars, the order in which a trainer that sorts its initial
    /// alphabet by character (Hugging Face BpeTrainer) assigns them ids.
    public static let bytesInScalarOrder: [UInt8] =
        (0..<256).map { UInt8($0) }.sorted { scalarForByte[Int($0)] < scalarForByte[Int($1)] }
}
