/// The part of `tensorflow.Event` (tensorflow/core/util/event.proto) that scalar logging needs, encoded and
/// decoded by hand so that the trainer does not depend on a protobuf library:
///
///     Event      { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5;
///                  SessionLog session_log = 7; }
///     Summary    { repeated Value value = 1; }
///     Value      { string tag = 1; float simple_value = 2; }
///     SessionLog { SessionStatus status = 1; }   // START = 1
///
/// Fields holding their proto3 default (step 0) are omitted, as protobuf serialisers do.
public struct TensorBoardEvent: Equatable {
    public enum Payload: Equatable {
        /// The first record of every file: "brain.Event:2".
        case fileVersion(String)
        case scalars([Scalar])
        /// SessionLog.START: TensorBoard discards earlier events with step ≥ this event's step (a restart).
        case sessionStart
    }

    public struct Scalar: Equatable {
        public var tag: String
        public var value: Float
        public init(tag: String, value: Float) { self.tag = tag; self.value = value }
    }

    public var wallTime: Double
    public var step: Int
    public var payload: Payload

    public init(wallTime: Double, step: Int, payload: Payload) {
        self.wallTime = wallTime
        self.step = step
        self.payload = payload
    }

    public func encoded() -> [UInt8] {
        var event = ProtobufEncoder()
        event.fixed64(field: 1, wallTime.bitPattern)
        if step != 0 { event.varint(field: 2, UInt64(bitPattern: Int64(step))) }
        switch payload {
        case .fileVersion(let version):
            event.bytes(field: 3, Array(version.utf8))
        case .scalars(let scalars):
            var summary = ProtobufEncoder()
            for scalar in scalars {
                var value = ProtobufEncoder()
                value.bytes(field: 1, Array(scalar.tag.utf8))
                value.fixed32(field: 2, scalar.value.bitPattern)
                summary.bytes(field: 1, value.buffer)
            }
            event.bytes(field: 5, summary.buffer)
        case .sessionStart:
            var sessionLog = ProtobufEncoder()
            sessionLog.varint(field: 1, 1)
            event.bytes(field: 7, sessionLog.buffer)
        }
        return event.buffer
    }

    public enum DecodingError: Error {
        case malformed(String)
    }

    /// Reads the fields written by `encoded()`; other fields are skipped, other payloads are errors.
    public init(decoding bytes: [UInt8]) throws {
        var wallTime = 0.0, step = 0
        var payload: Payload?
        var reader = ProtobufDecoder(bytes)
        while let (field, value) = try reader.next() {
            switch (field, value) {
            case (1, .fixed64(let bits)): wallTime = Double(bitPattern: bits)
            case (2, .varint(let raw)): step = Int(Int64(bitPattern: raw))
            case (3, .bytes(let text)): payload = .fileVersion(String(decoding: text, as: UTF8.self))
            case (5, .bytes(let summaryBytes)):
                var scalars: [Scalar] = []
                var summary = ProtobufDecoder(summaryBytes)
                while let (summaryField, entry) = try summary.next() {
                    guard summaryField == 1, case .bytes(let valueBytes) = entry else { continue }
                    var tag = "", simpleValue: Float?
                    var value = ProtobufDecoder(valueBytes)
                    while let (valueField, content) = try value.next() {
                        switch (valueField, content) {
                        case (1, .bytes(let text)): tag = String(decoding: text, as: UTF8.self)
                        case (2, .fixed32(let bits)): simpleValue = Float(bitPattern: bits)
                        default: break
                        }
                    }
                    guard let simpleValue else { throw DecodingError.malformed("summary value '\(tag)' has no simple_value") }
                    scalars.append(Scalar(tag: tag, value: simpleValue))
                }
                payload = .scalars(scalars)
            case (7, .bytes(let logBytes)):
                var log = ProtobufDecoder(logBytes)
                var status: UInt64 = 0
                while let (logField, content) = try log.next() {
                    if logField == 1, case .varint(let raw) = content { status = raw }
                }
                guard status == 1 else { throw DecodingError.malformed("session_log status \(status) is not START") }
                payload = .sessionStart
            default: break
            }
        }
        guard let payload else { throw DecodingError.malformed("event has no file_version, summary or session_log") }
        self.init(wallTime: wallTime, step: step, payload: payload)
    }
}

/// Protocol-buffer wire format, the four encodings the event messages use.
struct ProtobufEncoder {
    private(set) var buffer: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            buffer.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        buffer.append(UInt8(value))
    }

    mutating func key(field: Int, wireType: UInt64) { varint(UInt64(field) << 3 | wireType) }

    mutating func varint(field: Int, _ value: UInt64) {
        key(field: field, wireType: 0)
        varint(value)
    }

    mutating func fixed64(field: Int, _ bits: UInt64) {
        key(field: field, wireType: 1)
        buffer += TFRecord.littleEndianBytes(bits)
    }

    mutating func bytes(field: Int, _ bytes: [UInt8]) {
        key(field: field, wireType: 2)
        varint(UInt64(bytes.count))
        buffer += bytes
    }

    mutating func fixed32(field: Int, _ bits: UInt32) {
        key(field: field, wireType: 5)
        buffer += TFRecord.littleEndianBytes(bits)
    }
}

struct ProtobufDecoder {
    enum Value {
        case varint(UInt64), fixed64(UInt64), bytes([UInt8]), fixed32(UInt32)
    }

    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    private mutating func readVarint() throws -> UInt64 {
        var value: UInt64 = 0
        for shift in stride(from: 0, to: 64, by: 7) {
            guard offset < bytes.count else { throw TensorBoardEvent.DecodingError.malformed("truncated varint") }
            let byte = bytes[offset]
            offset += 1
            value |= UInt64(byte & 0x7F) << UInt64(shift)
            if byte < 0x80 { return value }
        }
        throw TensorBoardEvent.DecodingError.malformed("varint longer than 10 bytes")
    }

    private mutating func take(_ count: Int) throws -> ArraySlice<UInt8> {
        guard count >= 0, count <= bytes.count - offset else {
            throw TensorBoardEvent.DecodingError.malformed("field runs past the end of the message")
        }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    /// The next (field number, value), or nil at the end of the message.
    mutating func next() throws -> (Int, Value)? {
        guard offset < bytes.count else { return nil }
        let key = try readVarint()
        let field = Int(key >> 3)
        switch key & 7 {
        case 0: return (field, .varint(try readVarint()))
        case 1: return (field, .fixed64(try take(8).reversed().reduce(0) { $0 << 8 | UInt64($1) }))
        case 2: return (field, .bytes(Array(try take(Int(exactly: try readVarint()) ?? -1))))
        case 5: return (field, .fixed32(try take(4).reversed().reduce(0) { $0 << 8 | UInt32($1) }))
        case let wireType: throw TensorBoardEvent.DecodingError.malformed("unsupported wire type \(wireType)")
        }
    }
}
