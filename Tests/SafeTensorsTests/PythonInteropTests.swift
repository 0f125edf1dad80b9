import XCTest
import SafeTensors

/// Reads a file written by the reference implementation (`safetensors.torch.save_file`).
/// Fixture and values come from scripts/make_safetensors_fixture.py; every value is exact in its dtype.
final class PythonInteropTests: XCTestCase {
    private let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/python_written.safetensors")

    func testReadsEveryTensorAndTheMetadata() throws {
        let file = try SafeTensorsFile(contentsOf: fixture)
        XCTAssertEqual(file.names, ["bf16.values", "empty", "f16.values", "f32.matrix", "i32.counts", "i64.ids", "scalar"])
        XCTAssertEqual(file.metadata, ["format": "pt", "written_by": "scripts/make_safetensors_fixture.py"])

        let f32 = try file.floats("f32.matrix")
        XCTAssertEqual(f32.shape, [2, 3])
        XCTAssertEqual(f32.values, [1.5, -2.25, 0, 3, 0x1p-149, 65536])

        let f16 = try file.floats("f16.values")
        XCTAssertEqual(try file.info("f16.values").dtype, .f16)
        XCTAssertEqual(f16.shape, [8])
        XCTAssertEqual(Array(f16.values.prefix(7)), [1, -2, 65504, 0x1p-24, .infinity, -.infinity, 0.333251953125])
        XCTAssertTrue(f16.values[7].isNaN)

        let bf16 = try file.floats("bf16.values")
        XCTAssertEqual(try file.info("bf16.values").dtype, .bf16)
        XCTAssertEqual(bf16.shape, [2, 2])
        XCTAssertEqual(bf16.values, [1, -3.5, 0x1p100, 0x1p-7])

        XCTAssertEqual(try file.ints("i64.ids").values, [-1, 0, 1 << 40, Int.max])
        XCTAssertEqual(try file.ints("i32.counts").values, [Int(Int32.min), 7, Int(Int32.max)])

        XCTAssertEqual(try file.floats("scalar").shape, [])
        XCTAssertEqual(try file.floats("scalar").values, [42])
        XCTAssertEqual(try file.floats("empty").shape, [0, 3])
        XCTAssertEqual(try file.floats("empty").values, [])
    }

    /// Our writer lays out the same tensors the way the reference writer does, byte for byte in the data.
    func testOurDataBufferMatchesTheReferenceLayout() throws {
        let reference = try SafeTensorsFile(contentsOf: fixture)
        var writer = SafeTensorsWriter(metadata: reference.metadata)
        for name in reference.names {
            let info = try reference.info(name)
            switch info.dtype {
            case .i64, .i32: try writer.add(name, shape: info.shape, ints: reference.ints(name).values, as: info.dtype)
            default: try writer.add(name, shape: info.shape, floats: reference.floats(name).values, as: info.dtype)
            }
        }
        let ours = try SafeTensorsFile(data: writer.data())
        for name in reference.names {
            XCTAssertEqual(try ours.info(name), try reference.info(name), name)
            XCTAssertEqual(try ours.bytes(name), try reference.bytes(name), name)
        }
    }
}
