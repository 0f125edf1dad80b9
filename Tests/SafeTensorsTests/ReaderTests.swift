import XCTest
import SafeTensors

/// Reading files built byte by byte, so expected values do not depend on our writer.
final class ReaderTests: XCTestCase {
    func testReadsF16IncludingSubnormalsAndInfinities() throws {
        let bits: [UInt16] = [0x3C00, 0x0001, 0xC000, 0x7C00, 0xFC00, 0x7E00]
        let file = try SafeTensorsFile(data: safetensorsBytes(
            header: #"{"h":{"dtype":"F16","shape":[2,3],"data_offsets":[0,12]}}"#, buffer: littleEndianBytes(bits)))
        let (shape, values) = try file.floats("h")
        XCTAssertEqual(shape, [2, 3])
        XCTAssertEqual(Array(values.prefix(5)), [1.0, 5.9604645e-8, -2.0, .infinity, -.infinity])
        XCTAssertEqual(values[1], 0x1p-24)
        XCTAssertTrue(values[5].isNaN)
    }

    func testReadsBF16() throws {
        let file = try SafeTensorsFile(data: safetensorsBytes(
            header: #"{"b":{"dtype":"BF16","shape":[3],"data_offsets":[0,6]}}"#,
            buffer: littleEndianBytes([0x3F80, 0xC060, 0x0001] as [UInt16])))
        XCTAssertEqual(try file.floats("b").values, [1.0, -3.5, Float(bitPattern: 0x0001_0000)])
    }

    func testReadsI64AndI32AsIntsAndFloats() throws {
        let i64: [Int64] = [-1, 0, 1 << 40, .max]
        let i32: [Int32] = [.min, 7, .max]
        let header = #"{"a":{"dtype":"I64","shape":[4],"data_offsets":[0,32]},"#
            + #""b":{"dtype":"I32","shape":[3],"data_offsets":[32,44]}}"#
        let file = try SafeTensorsFile(data: safetensorsBytes(header: header,
                                                             buffer: littleEndianBytes(i64) + littleEndianBytes(i32)))
        XCTAssertEqual(try file.ints("a").values, [-1, 0, 1 << 40, Int.max])
        XCTAssertEqual(try file.ints("b").values, [Int(Int32.min), 7, Int(Int32.max)])
        XCTAssertEqual(try file.floats("b").values, [-2147483648, 7, 2147483648])  // rounded to Float
        XCTAssertEqual(try file.info("a"), TensorInfo(dtype: .i64, shape: [4], dataOffsets: 0..<32))
    }

    func testReadsF32ScalarEmptyTensorAndGaps() throws {
        // "s" is a scalar (shape []), "e" holds no bytes, and bytes 4..<8 belong to no tensor.
        let header = #"{"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"#
            + #""e":{"dtype":"F32","shape":[0,5],"data_offsets":[4,4]},"#
            + #""v":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#
        let buffer = littleEndianBytes([Float(2.5).bitPattern, 0xDEAD_BEEF, Float(-1).bitPattern])
        let file = try SafeTensorsFile(data: safetensorsBytes(header: header, buffer: buffer))
        XCTAssertEqual(file.names, ["e", "s", "v"])
        XCTAssertEqual(try file.floats("s").shape, [])
        XCTAssertEqual(try file.floats("s").values, [2.5])
        XCTAssertEqual(try file.floats("e").shape, [0, 5])
        XCTAssertEqual(try file.floats("e").values, [])
        XCTAssertEqual(try file.floats("v").values, [-1])
        XCTAssertEqual(try file.bytes("v"), Data(littleEndianBytes([Float(-1).bitPattern])))
    }

    func testReadsMetadataPaddingEscapesAndUnknownFields() throws {
        let header = #"  {"__metadata__":{"format":"pt","note":"tab\tquote\"é\u00e9\ud83d\ude00"},"#
            + #""w\u00e9":{"shape":[1],"extra":{"nested":[1,2.5e3,true,null]},"dtype":"U8","data_offsets":[0,1]}}      "#
        let file = try SafeTensorsFile(data: safetensorsBytes(header: header, buffer: [200]))
        XCTAssertEqual(file.metadata, ["format": "pt", "note": "tab\tquote\"éé😀"])
        XCTAssertEqual(file.names, ["wé"])
        XCTAssertEqual(try file.ints("wé").values, [200])
    }

    func testReadsFromDataSlice() throws {
        let bytes = safetensorsBytes(header: #"{"x":{"dtype":"I8","shape":[2],"data_offsets":[0,2]}}"#, buffer: [0xFF, 3])
        let slice = (Data([9, 9, 9]) + bytes)[3...]
        XCTAssertEqual(try SafeTensorsFile(data: slice).ints("x").values, [-1, 3])
    }

    func testUnknownNameListsWhatTheFileHolds() throws {
        let file = try SafeTensorsFile(data: safetensorsBytes(
            header: #"{"x":{"dtype":"I8","shape":[],"data_offsets":[0,1]}}"#, buffer: [1]))
        assertSafeTensorsError(["safetensors data", "no tensor 'y'", "'x'"]) { _ = try file.floats("y") }
    }

    func testConversionsThatDoNotApplyThrow() throws {
        let header = #"{"f":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"#
            + #""q":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[4,5]},"#
            + #""u":{"dtype":"U64","shape":[1],"data_offsets":[8,16]}}"#
        let buffer = [UInt8](repeating: 0, count: 8) + littleEndianBytes([UInt64.max])
        let file = try SafeTensorsFile(data: safetensorsBytes(header: header, buffer: buffer))
        assertSafeTensorsError(["tensor 'f'", "F32 is not an integer dtype"]) { _ = try file.ints("f") }
        assertSafeTensorsError(["tensor 'q'", "cannot convert F8_E4M3 to Float"]) { _ = try file.floats("q") }
        assertSafeTensorsError(["tensor 'u'", "18446744073709551615 does not fit in Int"]) { _ = try file.ints("u") }
    }

    func testMissingFileNamesThePath() {
        let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("no-such-\(UUID()).safetensors")
        assertSafeTensorsError([url.path, "cannot read file"]) { _ = try SafeTensorsFile(contentsOf: url) }
    }
}
