import XCTest
import SafeTensors

/// Mutates valid files with a fixed seed. Each result must either parse, with every tensor readable
/// and of the size its shape says, or throw SafeTensorsError; any crash or other error fails the test.
final class FuzzTests: XCTestCase {
    private let iterations = 3000
    private let dtypeSpellings = ["F32", "F16", "BF16", "I64", "I32", "U8", "BOOL", "F64", "F8_E5M2", "F12", "", "f32"]
    private let numberReplacements = ["0", "1", "3", "7", "8", "-1", "1.5", "1e3", "01", "4294967296",
                                      "9223372036854775807", "9223372036854775808", "18446744073709551616", "[]", ""]
    private let garbage = [" ", "\n", "{", "}", "[", "]", ",", ":", "\"", "\\", "\\u", "\\ud800", "\u{0}", "\u{FF}", "null",
                           String(repeating: "[", count: 200), #""__metadata__":{}"#, "\"x\":1", "\u{1F600}"]

    func testMutatedFilesParseOrThrow() throws {
        var rng = SplitMix64(state: 0x5AFE_7E45)
        let seeds = try seedFiles()
        var (parsed, rejected) = (0, 0)
        for _ in 0..<iterations {
            var data = seeds[Int.random(in: 0..<seeds.count, using: &rng)]
            let mutations = Int.random(in: 0..<4, using: &rng) == 0 ? 2 : 1
            for _ in 0..<mutations { data = mutate(data, using: &rng) }
            if try check(data) { parsed += 1 } else { rejected += 1 }
        }
        // Both outcomes must be common, or the mutations are not exercising the validator.
        XCTAssertGreaterThan(parsed, iterations / 20)
        XCTAssertGreaterThan(rejected, iterations / 4)
    }

    /// True if `data` parsed; false if it threw SafeTensorsError. Other errors escape and fail the test.
    private func check(_ data: Data) throws -> Bool {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(data: data) } catch is SafeTensorsError { return false }
        for name in file.names {
            let info = try file.info(name)
            XCTAssertLessThanOrEqual(info.dataOffsets.upperBound, data.count)
            XCTAssertEqual(info.shape.reduce(1, *), info.elementCount)
            if info.dtype.convertsToFloat {
                XCTAssertEqual(try file.floats(name).values.count, info.elementCount)
            }
            if info.dtype.convertsToInt && info.dtype != .u64 {
                XCTAssertEqual(try file.ints(name).values.count, info.elementCount)
            }
            XCTAssertEqual(try file.bytes(name).count, info.dataOffsets.count)
        }
        return true
    }

    private func seedFiles() throws -> [Data] {
        var mixed = SafeTensorsWriter(metadata: ["format": "pt", "epoch": "3"])
        try mixed.add("embed.weight", shape: [3, 4], floats: (0..<12).map { Float($0) * 0.5 - 2 })
        try mixed.add("norm.weight", shape: [4], floats: [1, 2, 3, 4], as: .bf16)
        try mixed.add("head.weight", shape: [2, 2], floats: [1, -1, 0x1p-24, 65504], as: .f16)
        try mixed.add("token_ids", shape: [5], ints: [0, 1, 2, 50256, -100])
        try mixed.add("lengths", shape: [2], ints: [7, 9], as: .i32)
        try mixed.add("scalar", shape: [], floats: [3])
        try mixed.add("empty", shape: [0, 4], floats: [])
        var single = SafeTensorsWriter()
        try single.add("w", shape: [8], floats: [Float](repeating: 1, count: 8))
        let handBuilt = safetensorsBytes(
            header: #"{"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6],"x":[1,{"y":null}]},"#
                + #""a":{"dtype":"I8","shape":[1,1],"data_offsets":[0,1]}}  "#, buffer: [1, 2, 3, 4, 5, 6])
        return [mixed.data(), single.data(), handBuilt]
    }

    private func mutate(_ data: Data, using rng: inout SplitMix64) -> Data {
        var bytes = [UInt8](data)
        switch Int.random(in: 0..<7, using: &rng) {
        case 0:  // truncate
            bytes.removeLast(Int.random(in: 0...bytes.count, using: &rng))
        case 1:  // flip bits anywhere
            guard !bytes.isEmpty else { break }
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] ^= 1 << UInt8.random(in: 0..<8, using: &rng)
            }
        case 2:  // overwrite header bytes
            let headerEnd = min(bytes.count, 8 + headerLength(bytes))
            guard headerEnd > 8 else { break }
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                bytes[Int.random(in: 8..<headerEnd, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
        case 3:  // overwrite data-buffer bytes: stays valid, decodes arbitrary bit patterns
            let bufferStart = 8 + headerLength(bytes)
            guard bufferStart < bytes.count else { break }
            for _ in 0..<Int.random(in: 1...16, using: &rng) {
                bytes[Int.random(in: bufferStart..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
        case 4:  // edit the length prefix
            guard bytes.count >= 8 else { break }
            let current = UInt64(headerLength(bytes))
            let choices: [UInt64] = [0, 1, 7, .max, UInt64(Int64.max), UInt64(Int64.max) + 1, 100_000_000, 100_000_001,
                                     UInt64(bytes.count), UInt64(bytes.count - 7), current &+ 1, current &- 1,
                                     rng.next(), UInt64.random(in: 0...UInt64(bytes.count), using: &rng)]
            let length = choices[Int.random(in: 0..<choices.count, using: &rng)]
            withUnsafeBytes(of: length.littleEndian) { bytes.replaceSubrange(0..<8, with: $0) }
        default:  // edit the header text and re-encode with a matching length prefix
            return editHeader(bytes, using: &rng)
        }
        return Data(bytes)
    }

    private func editHeader(_ bytes: [UInt8], using rng: inout SplitMix64) -> Data {
        let length = headerLength(bytes)
        guard bytes.count >= 8, 8 + length <= bytes.count else { return Data(bytes) }
        var header = Array(bytes[8..<8 + length])
        switch Int.random(in: 0..<4, using: &rng) {
        case 0:  // swap a dtype
            let quoted = dtypeSpellings.dropLast(3).map { Array("\"\($0)\"".utf8) }
            let matches = quoted.flatMap { needle in ranges(of: needle, in: header) }
            guard let range = matches.randomElement(using: &rng) else { break }
            header.replaceSubrange(range, with: Array("\"\(dtypeSpellings.randomElement(using: &rng)!)\"".utf8))
        case 1:  // change a number in a shape or in data_offsets
            guard let range = digitRuns(in: header).randomElement(using: &rng) else { break }
            header.replaceSubrange(range, with: Array(numberReplacements.randomElement(using: &rng)!.utf8))
        case 2:  // duplicate a top-level entry: copy `"name":{...}` after the opening brace
            guard let open = header.firstIndex(of: UInt8(ascii: "{")),
                  let close = header.firstIndex(of: UInt8(ascii: "}")), open < close else { break }
            header.insert(contentsOf: header[(open + 1)...close] + [UInt8(ascii: ",")], at: open + 1)
        default:  // inject garbage
            let position = Int.random(in: 0...header.count, using: &rng)
            header.insert(contentsOf: Array(garbage.randomElement(using: &rng)!.utf8), at: position)
        }
        var edited = Data()
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { edited.append(contentsOf: $0) }
        return edited + header + bytes[(8 + length)...]
    }

    private func headerLength(_ bytes: [UInt8]) -> Int {
        guard bytes.count >= 8 else { return 0 }
        let value = bytes[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return Int(min(value, UInt64(bytes.count)))
    }

    private func ranges(of needle: [UInt8], in haystack: [UInt8]) -> [Range<Int>] {
        guard haystack.count >= needle.count else { return [] }
        return (0...(haystack.count - needle.count)).filter { haystack[$0..<$0 + needle.count].elementsEqual(needle) }
            .map { $0..<$0 + needle.count }
    }

    private func digitRuns(in bytes: [UInt8]) -> [Range<Int>] {
        var runs: [Range<Int>] = []
        var index = 0
        while index < bytes.count {
            let start = index
            while index < bytes.count, (0x30...0x39).contains(bytes[index]) { index += 1 }
            if index > start { runs.append(start..<index) } else { index += 1 }
        }
        return runs
    }
}
