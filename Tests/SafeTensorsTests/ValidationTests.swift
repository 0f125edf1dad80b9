import XCTest
import SafeTensors

/// One malformed file per case; each must throw a SafeTensorsError naming the file, tensor and fault.
final class ValidationTests: XCTestCase {
    private func entry(_ name: String, _ dtype: String = "F32", shape: String = "[1]", offsets: String = "[0,4]") -> String {
        #""\#(name)":{"dtype":"\#(dtype)","shape":\#(shape),"data_offsets":\#(offsets)}"#
    }

    func testFileShorterThanLengthPrefix() {
        assertSafeTensorsError(["safetensors data", "5 bytes is too short"]) {
            _ = try SafeTensorsFile(data: Data([1, 0, 0, 0, 0]))
        }
    }

    func testHeaderLengthZero() {
        assertSafeTensorsError(["header length is 0"]) { _ = try SafeTensorsFile(data: Data(count: 8)) }
    }

    func testHeaderLengthPastEndOfFile() {
        assertSafeTensorsError(["header length 3 runs past the end of the file", "2 bytes"]) {
            _ = try SafeTensorsFile(data: safetensorsBytes(header: "{}", declaredLength: 3))
        }
    }

    func testHugeHeaderLengthIsRejectedBeforeAllocating() {
        for length in [UInt64.max, UInt64(Int64.max) + 1, 100_000_001] {
            assertSafeTensorsError(["header length \(length) exceeds the 100000000-byte limit"]) {
                _ = try SafeTensorsFile(data: safetensorsBytes(header: "{}", declaredLength: length))
            }
        }
    }

    func testHeaderThatIsNotAJSONObject() {
        assertRejected(header: "[1,2]", ["header is not a JSON object"])
        assertRejected(header: "nonsense", ["header is not a JSON object"])
        assertRejected(header: #"{"a""#, ["header JSON", "expected ':', found end of header"])
        assertRejected(header: "{} x", ["header JSON at byte 3", "unexpected bytes after the header object"])
        assertRejected(header: "{\"a\u{1}\":1}", ["unescaped control character 0x1"])
        assertRejected(header: #"{"\ud800x":1}"#, ["unpaired surrogate"])
        assertRejected(header: #"{"\u12g4":1}"#, ["4 hex digits"])
    }

    func testHeaderThatIsNotUTF8() {
        var data = safetensorsBytes(header: #"{"ab":1}"#)
        data[10] = 0xFF  // the 'a'
        assertSafeTensorsError(["not valid UTF-8"]) { _ = try SafeTensorsFile(data: data) }
    }

    func testEntryThatIsNotAnObject() {
        assertRejected(header: #"{"w":[1]}"#, ["tensor 'w'", "entry must be an object"])
    }

    func testUnknownDType() {
        assertRejected(header: "{\(entry("w", "F12"))}", buffer: [0, 0, 0, 0], ["tensor 'w'", "unknown dtype 'F12'"])
    }

    /// Found by `pretrain fuzz safetensors`: a name or dtype with an escaped line break made a two-line message.
    func testMessagesStayOnOneLineWhateverTheFileQuotes() {
        assertRejected(header: "{\(entry(#"a\nb"#, #"F\r\n12"#))}", buffer: [0, 0, 0, 0], [#"tensor 'a\nb'"#, #"unknown dtype 'F\r\n12'"#])
    }

    func testMissingFields() {
        assertRejected(header: #"{"w":{"shape":[1],"data_offsets":[0,4]}}"#, ["tensor 'w'", "missing 'dtype'"])
        assertRejected(header: #"{"w":{"dtype":"F32","data_offsets":[0,4]}}"#, ["tensor 'w'", "missing 'shape'"])
        assertRejected(header: #"{"w":{"dtype":"F32","shape":[1]}}"#, ["tensor 'w'", "missing 'data_offsets'"])
    }

    func testShapeMustHoldNonNegativeIntegers() {
        let buffer = [UInt8](repeating: 0, count: 4)
        assertRejected(header: "{\(entry("w", shape: "[-1]"))}", buffer: buffer,
                       ["safetensors data: tensor 'w': shape: expected a non-negative integer, found -1"])
        assertRejected(header: "{\(entry("w", shape: "[1.0]"))}", buffer: buffer, ["tensor 'w': shape", "found 1.0"])
        assertRejected(header: "{\(entry("w", shape: "[01]"))}", buffer: buffer, ["tensor 'w': shape", "leading zero"])
        assertRejected(header: "{\(entry("w", shape: "[\"1\"]"))}", buffer: buffer, ["tensor 'w': shape", "found '\"'"])
        assertRejected(header: "{\(entry("w", shape: "4"))}", buffer: buffer, ["tensor 'w': shape", "expected an array"])
        assertRejected(header: "{\(entry("w", shape: "[99999999999999999999]"))}", buffer: buffer,
                       ["tensor 'w': shape", "99999999999999999999 is too large"])
    }

    func testDataOffsetsMustBeAPair() {
        assertRejected(header: "{\(entry("w", offsets: "[0,4,8]"))}", buffer: [UInt8](repeating: 0, count: 8),
                       ["tensor 'w'", "data_offsets must be [begin, end], found 3 numbers"])
    }

    func testDataOffsetsEndingBeforeTheyBegin() {
        assertRejected(header: "{\(entry("w", shape: "[0]", offsets: "[4,0]"))}", buffer: [UInt8](repeating: 0, count: 4),
                       ["tensor 'w'", "data_offsets [4, 0] end before they begin"])
    }

    func testDataOffsetsPastTheBuffer() {
        assertRejected(header: "{\(entry("w", offsets: "[4,8]"))}", buffer: [UInt8](repeating: 0, count: 6),
                       ["tensor 'w'", "data_offsets [4, 8] run past the data buffer of 6 bytes"])
    }

    func testSizeMustMatchShape() {
        assertRejected(header: "{\(entry("w", shape: "[2]", offsets: "[0,4]"))}", buffer: [UInt8](repeating: 0, count: 8),
                       ["tensor 'w'", "hold 4 bytes, but shape [2] of F32 needs 8"])
    }

    func testShapeProductOverflowIsCaught() {
        let shape = "[4294967296,4294967296]"  // 2^64 elements
        assertRejected(header: "{\(entry("w", shape: shape))}", buffer: [UInt8](repeating: 0, count: 4),
                       ["tensor 'w'", "shape [4294967296, 4294967296] of F32 overflows"])
        assertRejected(header: "{\(entry("w", shape: "[2305843009213693952]"))}", buffer: [UInt8](repeating: 0, count: 4),
                       ["tensor 'w'", "overflows"])  // 2^61 elements × 4 bytes
    }

    func testOverlappingTensors() {
        let header = "{\(entry("a", shape: "[2]", offsets: "[0,8]")),\(entry("b", shape: "[2]", offsets: "[4,12]"))}"
        assertRejected(header: header, buffer: [UInt8](repeating: 0, count: 12),
                       ["tensors 'a' [0, 8] and 'b' [4, 12] overlap"])
    }

    func testDuplicateNames() {
        let header = "{\(entry("a")),\(entry("b", offsets: "[4,8]")),\(entry("a", offsets: "[4,8]"))}"
        assertRejected(header: header, buffer: [UInt8](repeating: 0, count: 8), ["duplicate key 'a'"])
        assertRejected(header: #"{"a":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
                       buffer: [0, 0, 0, 0], ["tensor 'a'", "duplicate field 'dtype'"])
        assertRejected(header: #"{"__metadata__":{"k":"1","k":"2"}}"#, ["duplicate metadata key 'k'"])
    }

    func testMetadataMustBeStrings() {
        assertRejected(header: #"{"__metadata__":{"epoch":3}}"#, ["metadata 'epoch' must be a string"])
        assertRejected(header: #"{"__metadata__":[]}"#, ["'__metadata__' must be an object of strings"])
    }

    func testDeepNestingInUnknownFieldIsBounded() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        assertRejected(header: #"{"a":{"x":\#(deep),"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
                       buffer: [0, 0, 0, 0], ["nesting deeper than 64 levels"])
    }

    func testErrorsFromDiskNameTheFile() throws {
        let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("bad-\(UUID()).safetensors")
        try safetensorsBytes(header: "{\(entry("w", "F12"))}", buffer: [0, 0, 0, 0]).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        assertSafeTensorsError(["\(url.path): tensor 'w': unknown dtype 'F12'"]) { _ = try SafeTensorsFile(contentsOf: url) }
    }
}
