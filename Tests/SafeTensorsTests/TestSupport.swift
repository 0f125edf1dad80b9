import Foundation
import XCTest
import SafeTensors

/// SplitMix64 (Steele et al. 2014): a tiny seeded generator so the fuzz test is reproducible.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A safetensors file from a header string and buffer bytes; `declaredLength` overrides the length prefix.
func safetensorsBytes(header: String, buffer: [UInt8] = [], declaredLength: UInt64? = nil) -> Data {
    let headerBytes = [UInt8](header.utf8)
    var data = Data()
    withUnsafeBytes(of: (declaredLength ?? UInt64(headerBytes.count)).littleEndian) { data.append(contentsOf: $0) }
    data.append(contentsOf: headerBytes)
    data.append(contentsOf: buffer)
    return data
}

/// Little-endian bytes of each value.
func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
    values.flatMap { value in withUnsafeBytes(of: value.littleEndian) { Array($0) } }
}

/// Asserts that `body` throws a SafeTensorsError whose message contains every fragment.
func assertSafeTensorsError(_ fragments: [String], file: StaticString = #filePath, line: UInt = #line,
                            _ body: () throws -> Void) {
    do {
        try body()
        XCTFail("expected a SafeTensorsError containing \(fragments)", file: file, line: line)
    } catch let error as SafeTensorsError {
        for fragment in fragments where !error.message.contains(fragment) {
            XCTFail("message \"\(error.message)\" lacks \"\(fragment)\"", file: file, line: line)
        }
    } catch {
        XCTFail("expected SafeTensorsError, got \(type(of: error)): \(error)", file: file, line: line)
    }
}

/// Parses a file made of `header` and `buffer`, expecting the listed fragments in the error.
func assertRejected(header: String, buffer: [UInt8] = [], _ fragments: [String],
                    file: StaticString = #filePath, line: UInt = #line) {
    assertSafeTensorsError(fragments, file: file, line: line) {
        _ = try SafeTensorsFile(data: safetensorsBytes(header: header, buffer: buffer))
    }
}
