import Foundation
import TestSupport
import Training
import XCTest

/// TensorBoard event files: CRC32C, TFRecord framing, the Event encoding, and a committed fixture that
/// TensorBoard itself read (scripts/check_tensorboard.py wrote Fixtures/tensorboard/tensorboard_read.json).
final class TensorBoardTests: XCTestCase {
    static let fixtureDirectory = fixtureURL("TrainingTests", "tensorboard")

    func eventsIn(_ file: URL) throws -> [TensorBoardEvent] {
        try TFRecord.records(in: Array(try Data(contentsOf: file))).map { try TensorBoardEvent(decoding: $0) }
    }

    // MARK: - CRC32C and framing

    func testCRC32CMatchesPublishedCheckValues() {
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)  // the CRC catalogue's check value
        XCTAssertEqual(CRC32C.checksum([]), 0)
        // RFC 3720 (iSCSI), appendix B.4.
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
        XCTAssertEqual(CRC32C.checksum((0..<32).map { UInt8($0) }), 0x46DD_794E)
        XCTAssertEqual(CRC32C.checksum((0..<32).reversed().map { UInt8($0) }), 0x113F_DB5C)
    }

    func testMaskRotatesRightBy15AndAddsTheTensorFlowConstant() {
        XCTAssertEqual(CRC32C.masked(0), 0xA282_EAD8)
        XCTAssertEqual(CRC32C.masked(0x0000_8000), 0xA282_EAD9)              // bit 15 rotates to bit 0
        XCTAssertEqual(CRC32C.masked(0x0000_0001), 0xA282_EAD8 &+ 0x0002_0000) // bit 0 rotates to bit 17
    }

    func testRecordFrameIsLengthChecksumDataChecksum() throws {
        let data: [UInt8] = Array("event".utf8)
        let frame = TFRecord.frame(data)
        XCTAssertEqual(frame.count, 8 + 4 + data.count + 4)
        XCTAssertEqual(Array(frame[0..<8]), [5, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(Array(frame[12..<17]), data)
        XCTAssertEqual(try TFRecord.records(in: frame + frame), [data, data])
    }

    func testCorruptedRecordIsRejected() {
        var frame = TFRecord.frame(Array("event".utf8))
        frame[13] ^= 1
        XCTAssertThrowsError(try TFRecord.records(in: frame))
        XCTAssertThrowsError(try TFRecord.records(in: Array(TFRecord.frame([1, 2, 3]).dropLast())))
    }

    // MARK: - Event encoding

    func testScalarEventHasTheProtobufBytesOfTensorFlow() {
        let event = TensorBoardEvent(wallTime: 1, step: 3, payload: .scalars([.init(tag: "a", value: 1)]))
        XCTAssertEqual(event.encoded(), [
            0x09, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F,  // wall_time = 1.0 (field 1, fixed64)
            0x10, 0x03,                          // step = 3 (field 2, varint)
            0x2A, 0x0A,                          // summary (field 5, 10 bytes)
            0x0A, 0x08,                          //   value (field 1, 8 bytes)
            0x0A, 0x01, 0x61,                    //     tag = "a"
            0x15, 0, 0, 0x80, 0x3F,              //     simple_value = 1.0f (field 2, fixed32)
        ])
    }

    func testEventsRoundTripThroughTheDecoder() throws {
        let events = [
            TensorBoardEvent(wallTime: 1.7e9 + 0.125, step: 0, payload: .fileVersion("brain.Event:2")),
            TensorBoardEvent(wallTime: 1.7e9, step: 123_456_789_012, payload: .scalars([
                .init(tag: "train/loss", value: 3.25), .init(tag: "val/loss/wiki", value: -.infinity)])),
            TensorBoardEvent(wallTime: 1.7e9, step: 200, payload: .sessionStart),
        ]
        for event in events { XCTAssertEqual(try TensorBoardEvent(decoding: event.encoded()), event) }
    }

    // MARK: - Writer

    func testFileIsNamedByTimeAndHostAndStartsWithTheFileVersion() throws {
        let directory = try makeTemporaryDirectory()
        let writer = try TensorBoardWriter(directory: directory, hostname: "node-1", clock: { 1_700_000_123.75 })
        writer.addScalar("train/loss", 2.5, step: 7)
        writer.flush()
        XCTAssertEqual(writer.fileURL.lastPathComponent, "events.out.tfevents.1700000123.node-1")
        XCTAssertEqual(try eventsIn(writer.fileURL), [
            TensorBoardEvent(wallTime: 1_700_000_123.75, step: 0, payload: .fileVersion("brain.Event:2")),
            TensorBoardEvent(wallTime: 1_700_000_123.75, step: 7, payload: .scalars([.init(tag: "train/loss", value: 2.5)])),
        ])
        XCTAssertNil(writer.writeError)
    }

    func testEachScalarIsInTheFileBeforeFlush() throws {
        let writer = try TensorBoardWriter(directory: try makeTemporaryDirectory())
        writer.addScalar("train/loss", 1, step: 1)
        XCTAssertEqual(try eventsIn(writer.fileURL).count, 2)  // read by another handle, no flush yet
    }

    func testWritersStartedInTheSameSecondGetDistinctFiles() throws {
        let directory = try makeTemporaryDirectory()
        let first = try TensorBoardWriter(directory: directory, hostname: "h", clock: { 5 })
        let second = try TensorBoardWriter(directory: directory, hostname: "h", clock: { 5 })
        XCTAssertEqual(first.fileURL.lastPathComponent, "events.out.tfevents.5.h")
        XCTAssertEqual(second.fileURL.lastPathComponent, "events.out.tfevents.5.h.1")
    }

    func testRestartWritesASessionStartAtTheResumedStep() throws {
        let writer = try TensorBoardWriter(directory: try makeTemporaryDirectory(), restartStep: 201, clock: { 9 })
        XCTAssertEqual(try eventsIn(writer.fileURL).last, TensorBoardEvent(wallTime: 9, step: 201, payload: .sessionStart))
    }

    func testMetricsRecordsAreGroupedUnderTrainAndValTags() throws {
        let writer = try TensorBoardWriter(directory: try makeTemporaryDirectory(), clock: { 0 })
        writer.add(MetricsRecord(step: 50, loss: .nan, lr: 3e-4, gradNorm: 0.5, tokensPerSecond: 1000, tokensSeen: 4096,
                                 skippedUpdates: 1, valLoss: 4, valPerplexity: 54.6, valBitsPerByte: 1.5,
                                 namedValidationLosses: ["wiki": 4.5]))
        guard case .scalars(let scalars) = try eventsIn(writer.fileURL).last?.payload else { return XCTFail("no scalars") }
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: scalars.map { ($0.tag, $0.value) }), [
            "train/lr": 3e-4, "train/grad_norm": 0.5, "train/tokens_per_s": 1000, "train/tokens_seen": 4096,
            "train/skipped_updates": 1, "val/loss": 4, "val/ppl": 54.6, "val/bpb": 1.5, "val/loss/wiki": 4.5,
        ])  // the non-finite loss is left out, as metrics.jsonl writes it as null
    }

    // MARK: - Fixture read by TensorBoard

    /// What the fixture holds: a run logged to step 9, then a resumed run that restarts at step 6 (TensorBoard
    /// must drop the first run's steps 6–9) and logs to step 11. Wall times advance by a quarter second per event.
    static func writeFixtureRun(to directory: URL) throws {
        var now = 1_700_000_000.0
        func clock() -> Double { defer { now += 0.25 }; return now }
        let first = try TensorBoardWriter(directory: directory, hostname: "fixture", clock: clock)
        for step in 0...9 {
            first.addScalars([("train/loss", 5 - 0.25 * Float(step)), ("train/lr", 1e-3 * Float(step + 1) / 10)], step: step)
            if step % 4 == 3 { first.addScalar("val/loss", 6 - 0.5 * Float(step), step: step) }
        }
        first.close()
        now = 1_700_000_100
        let second = try TensorBoardWriter(directory: directory, restartStep: 6, hostname: "fixture", clock: clock)
        for step in 6...11 {
            second.addScalars([("train/loss", 4 - 0.125 * Float(step)), ("train/lr", 1e-3)], step: step)
            if step % 4 == 3 { second.addScalar("val/loss", 5 - 0.25 * Float(step), step: step) }
        }
        second.close()
    }

    static let fixtureFiles = ["events.out.tfevents.1700000000.fixture", "events.out.tfevents.1700000100.fixture"]

    /// Regenerate with `WRITE_TENSORBOARD_FIXTURE=1 swift test --filter TensorBoardTests/testWriterOutputIsByteIdenticalToTheFixture`
    /// and then `python3 scripts/check_tensorboard.py` (see its header).
    func testWriterOutputIsByteIdenticalToTheFixture() throws {
        if ProcessInfo.processInfo.environment["WRITE_TENSORBOARD_FIXTURE"] != nil {
            for name in Self.fixtureFiles {
                try? FileManager.default.removeItem(at: Self.fixtureDirectory.appendingPathComponent(name))
            }
            try Self.writeFixtureRun(to: Self.fixtureDirectory)
        }
        let directory = try makeTemporaryDirectory()
        try Self.writeFixtureRun(to: directory)
        for name in Self.fixtureFiles {
            let ours = try Data(contentsOf: directory.appendingPathComponent(name))
            let committed = try Data(contentsOf: Self.fixtureDirectory.appendingPathComponent(name))
            XCTAssertEqual(ours, committed, name)
        }
    }

    /// scripts/check_tensorboard.py's record: what TensorBoard read, and events serialised by protobuf itself.
    struct TensorBoardRead: Decodable {
        let scalars: [String: [[Double]]]  // tag → [step, wall_time, value]
        let protobuf_encodings: [String: String]  // name → hex
    }

    static func tensorBoardRead() throws -> TensorBoardRead {
        try JSONDecoder().decode(TensorBoardRead.self, from: Data(contentsOf: fixtureDirectory
            .appendingPathComponent("tensorboard_read.json")))
    }

    func testEventEncodingMatchesProtobuf() throws {
        let protobuf = try Self.tensorBoardRead().protobuf_encodings
        let events: [String: TensorBoardEvent] = [
            "file_version": TensorBoardEvent(wallTime: 1_700_000_000.125, step: 0, payload: .fileVersion("brain.Event:2")),
            "scalars": TensorBoardEvent(wallTime: 1_700_000_000.5, step: 123_456_789_012, payload: .scalars([
                .init(tag: "train/loss", value: 3.25), .init(tag: "val/loss/wiki", value: -0.5)])),
            "session_start": TensorBoardEvent(wallTime: 1_700_000_001, step: 201, payload: .sessionStart),
        ]
        XCTAssertEqual(Set(protobuf.keys), Set(events.keys))
        for (name, event) in events {
            XCTAssertEqual(event.encoded().map { String(format: "%02x", $0) }.joined(), protobuf[name], name)
        }
    }

    func testTensorBoardReadTheFixtureAsWritten() throws {
        let read = try Self.tensorBoardRead()
        // Steps 0–5 of the first run, then the resumed run from step 6: the restart purged the first run's 6–9.
        var expected: [String: [[Double]]] = [:]
        var now = 1_700_000_000.25  // the file_version event took the first tick
        for step in 0...9 {
            if step <= 5 { expected["train/loss", default: []].append([Double(step), now, Double(5 - 0.25 * Float(step))]) }
            if step <= 5 { expected["train/lr", default: []].append([Double(step), now, Double(1e-3 * Float(step + 1) / 10)]) }
            now += 0.25
            if step % 4 == 3 {
                if step <= 5 { expected["val/loss", default: []].append([Double(step), now, Double(6 - 0.5 * Float(step))]) }
                now += 0.25
            }
        }
        now = 1_700_000_100.5  // file_version and session start
        for step in 6...11 {
            expected["train/loss", default: []].append([Double(step), now, Double(4 - 0.125 * Float(step))])
            expected["train/lr", default: []].append([Double(step), now, Double(Float(1e-3))])
            now += 0.25
            if step % 4 == 3 {
                expected["val/loss", default: []].append([Double(step), now, Double(5 - 0.25 * Float(step))])
                now += 0.25
            }
        }
        XCTAssertEqual(read.scalars, expected)
    }
}
