import FileErrors
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// CRC-32C (Castagnoli): the checksum TFRecord frames carry and checkpoint manifests record. Reflected polynomial
/// 0x82F63B78 (RFC 3720 §B.4), initial value and final xor 0xFFFFFFFF. Slicing-by-8 (Kounavis & Berry, 2008): eight
/// tables, eight bytes per step, so that checking a checkpoint of gigabytes costs a fraction of reading it.
public enum CRC32C {
    /// tables[k * 256 + b]: the CRC of byte b followed by k zero bytes; k = 0 is the classic one-byte table.
    static let tables: [UInt32] = {
        var tables = [UInt32](repeating: 0, count: 8 * 256)
        for byte in 0..<256 {
            var crc = UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
            tables[byte] = crc
        }
        for k in 1..<8 {
            for byte in 0..<256 {
                let previous = tables[(k - 1) * 256 + byte]
                tables[k * 256 + byte] = (previous >> 8) ^ tables[Int(previous & 0xFF)]
            }
        }
        return tables
    }()

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { update(0, $0) }
    }

    /// The CRC of the bytes before `bytes` (`crc`, 0 for none) extended over `bytes`.
    public static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        tables.withUnsafeBufferPointer { t in
            var crc = ~crc
            var offset = 0
            let count = bytes.count
            while count - offset >= 8 {
                let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                let low = UInt32(truncatingIfNeeded: word) ^ crc, high = UInt32(truncatingIfNeeded: word >> 32)
                crc = t[7 * 256 + Int(low & 0xFF)] ^ t[6 * 256 + Int((low >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((low >> 16) & 0xFF)] ^ t[4 * 256 + Int(low >> 24)]
                    ^ t[3 * 256 + Int(high & 0xFF)] ^ t[2 * 256 + Int((high >> 8) & 0xFF)]
                    ^ t[1 * 256 + Int((high >> 16) & 0xFF)] ^ t[Int(high >> 24)]
                offset += 8
            }
            while offset < count {
                crc = t[Int((crc ^ UInt32(bytes[offset])) & 0xFF)] ^ (crc >> 8)
                offset += 1
            }
            return ~crc
        }
    }

    /// The CRC and size of a file, read in blocks of 4 MiB.
    public static func checksum(ofFileAt url: URL) throws -> (crc: UInt32, size: Int) {
        let descriptor = open(url.path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FileError(path: url.path, operation: "open", reason: FileError.reason(errno: errno)) }
        defer { close(descriptor) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4 << 20, alignment: 64)
        defer { buffer.deallocate() }
        var (crc, size): (UInt32, Int) = (0, 0)
        while true {
            let count = read(descriptor, buffer.baseAddress, buffer.count)
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw FileError(path: url.path, operation: "read", reason: FileError.reason(errno: errno)) }
            if count == 0 { return (crc, size) }
            crc = update(crc, UnsafeRawBufferPointer(rebasing: buffer[..<count]))
            size += count
        }
    }

    /// TFRecord stores CRCs rotated and offset, because a CRC of data that itself contains CRCs is weak
    /// (tensorflow/core/lib/hash/crc32c.h, `Mask`).
    public static func masked(_ crc: UInt32) -> UInt32 {
        ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }
}
