import XCTest
import SafeTensors

final class WriterTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("safetensors-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try FileManager.default.removeItem(at: directory)
    }

    func testF32RoundTripIsExact() throws {
        let values: [Float] = [0, -0.0, 1.5, -0x1p-140, .greatestFiniteMagnitude, .infinity, 0.1, 7]
        var writer = SafeTensorsWriter(metadata: ["format": "pt", "step": "100"])
        try writer.add("layer.0.weight", shape: [2, 4], floats: values)
        let file = try SafeTensorsFile(data: writer.data())
        let read = try file.floats("layer.0.weight")
        XCTAssertEqual(read.shape, [2, 4])
        XCTAssertEqual(read.values.map(\.bitPattern), values.map(\.bitPattern))
        XCTAssertEqual(file.metadata, ["format": "pt", "step": "100"])
    }

    func testBF16RoundTripRoundsToNearestEvenAndKeepsNaN() throws {
        let values: [Float] = [1.0, Float(bitPattern: 0x3F80_8000), Float(bitPattern: 0x3F81_8000), -2.5, .nan]
        var writer = SafeTensorsWriter()
        try writer.add("b", shape: [5], floats: values, as: .bf16)
        let read = try SafeTensorsFile(data: writer.data()).floats("b").values
        XCTAssertEqual(Array(read.prefix(4)), [1.0, 1.0, Float(bitPattern: 0x3F82_0000), -2.5])
        XCTAssertTrue(read[4].isNaN)
    }

    func testF16AndIntRoundTrip() throws {
        var writer = SafeTensorsWriter()
        try writer.add("h", shape: [3], floats: [1, 0x1p-24, 70000], as: .f16)
        try writer.add("ids", shape: [2], ints: [-5, Int.max])
        try writer.add("small", shape: [2], ints: [-5, 1 << 30], as: .i32)
        let file = try SafeTensorsFile(data: writer.data())
        XCTAssertEqual(try file.floats("h").values, [1, 0x1p-24, .infinity])
        XCTAssertEqual(try file.ints("ids").values, [-5, Int.max])
        XCTAssertEqual(try file.info("small").dtype, .i32)
        XCTAssertEqual(try file.ints("small").values, [-5, 1 << 30])
    }

    func testHeaderIsSortedPaddedAndAligned() throws {
        var writer = SafeTensorsWriter()
        try writer.add("z", shape: [1], floats: [1], as: .bf16)  // 2 bytes: would misalign what follows
        try writer.add("a", shape: [1], floats: [2])
        try writer.add("m", shape: [1], ints: [3])
        let data = writer.data()
        let headerLength = Int(data.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        XCTAssertEqual(headerLength % 8, 0)
        let header = String(decoding: data[8..<8 + headerLength], as: UTF8.self)
        XCTAssertEqual(header.trimmingCharacters(in: .whitespaces), #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},"#
            + #""m":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},"z":{"dtype":"BF16","shape":[1],"data_offsets":[12,14]}}"#)
        XCTAssertEqual(writer.data(), data, "same tensors, same bytes")
    }

    func testNamesAndMetadataAreEscaped() throws {
        var writer = SafeTensorsWriter(metadata: ["note": "a \"quoted\"\nline\u{1}é"])
        try writer.add("we\\ird\"name", shape: [], floats: [4])
        let file = try SafeTensorsFile(data: writer.data())
        XCTAssertEqual(file.names, ["we\\ird\"name"])
        XCTAssertEqual(file.metadata["note"], "a \"quoted\"\nline\u{1}é")
    }

    func testEmptyWriterWritesAValidFile() throws {
        let file = try SafeTensorsFile(data: SafeTensorsWriter().data())
        XCTAssertEqual(file.names, [])
        XCTAssertEqual(file.metadata, [:])
    }

    func testWriteToFileReplacesAtomically() throws {
        let url = directory.appendingPathComponent("model.safetensors")
        try Data("old contents".utf8).write(to: url)
        var writer = SafeTensorsWriter()
        try writer.add("w", shape: [2], floats: [1, 2])
        try writer.write(to: url)
        XCTAssertEqual(try SafeTensorsFile(contentsOf: url).floats("w").values, [1, 2])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["model.safetensors"],
                       "no temporary file left behind")
    }

    func testWriteIntoMissingDirectoryThrowsAndLeavesNothing() {
        let url = directory.appendingPathComponent("missing/model.safetensors")
        assertSafeTensorsError([url.path, "cannot create temporary file"]) { try SafeTensorsWriter().write(to: url) }
    }

    func testAddRejectsBadInput() {
        var writer = SafeTensorsWriter()
        assertSafeTensorsError(["tensor 'w': shape [2, 2] does not hold 3 values"]) {
            try writer.add("w", shape: [2, 2], floats: [1, 2, 3])
        }
        assertSafeTensorsError(["tensor 'w': shape [-1] has a negative dimension"]) {
            try writer.add("w", shape: [-1], floats: [])
        }
        assertSafeTensorsError(["tensor 'w': shape [\(Int.max), 2] does not hold 0 values"]) {
            try writer.add("w", shape: [Int.max, 2], floats: [])
        }
        assertSafeTensorsError(["'__metadata__' is reserved"]) { try writer.add("__metadata__", shape: [], floats: [1]) }
        assertSafeTensorsError(["cannot write Float values as I64"]) { try writer.add("w", shape: [], floats: [1], as: .i64) }
        assertSafeTensorsError(["tensor 'i': value 4294967296 at index 1 does not fit in I32"]) {
            try writer.add("i", shape: [2], ints: [0, 1 << 32], as: .i32)
        }
        XCTAssertNoThrow(try writer.add("w", shape: [], floats: [1]))
        assertSafeTensorsError(["tensor 'w' was already added"]) { try writer.add("w", shape: [], floats: [1]) }
    }
}
