/// TFRecord framing, the container of TensorBoard event files:
/// `uint64 length | uint32 masked_crc32c(length) | data | uint32 masked_crc32c(data)`, all little-endian.
public enum TFRecord {
    public enum ReadError: Error, CustomStringConvertible {
        case truncated(offset: Int)
        case lengthChecksum(offset: Int)
        case dataChecksum(offset: Int)

        public var description: String {
            switch self {
            case .truncated(let offset): return "TFRecord truncated at byte \(offset)"
            case .lengthChecksum(let offset): return "TFRecord length CRC mismatch at byte \(offset)"
            case .dataChecksum(let offset): return "TFRecord data CRC mismatch at byte \(offset)"
            }
        }
    }

    public static func frame(_ data: [UInt8]) -> [UInt8] {
        let length = littleEndianBytes(UInt64(data.count))
        var record = length
        record.reserveCapacity(data.count + 16)
        record += littleEndianBytes(CRC32C.masked(CRC32C.checksum(length)))
        record += data
        record += littleEndianBytes(CRC32C.masked(CRC32C.checksum(data)))
        return record
    }

    /// The payloads of a sequence of framed records, both checksums verified.
    public static func records(in bytes: [UInt8]) throws -> [[UInt8]] {
        var records: [[UInt8]] = []
        var offset = 0
        while offset < bytes.count {
            guard offset + 12 <= bytes.count else { throw ReadError.truncated(offset: offset) }
            let lengthBytes = Array(bytes[offset..<offset + 8])
            guard readUInt32(bytes, at: offset + 8) == CRC32C.masked(CRC32C.checksum(lengthBytes)) else {
                throw ReadError.lengthChecksum(offset: offset)
            }
            let length = lengthBytes.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            guard length <= UInt64(bytes.count - offset - 16) else { throw ReadError.truncated(offset: offset) }
            let start = offset + 12, end = start + Int(length)
            let data = Array(bytes[start..<end])
            guard readUInt32(bytes, at: end) == CRC32C.masked(CRC32C.checksum(data)) else {
                throw ReadError.dataChecksum(offset: offset)
            }
            records.append(data)
            offset = end + 4
        }
        return records
    }

    static func littleEndianBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        (0..<T.bitWidth / 8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }

    static func readUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) }
    }
}
