import FileErrors
import Foundation

/// 16-bit PCM mono WAV files: the corpus's output format, and the reader for checking files already written.
public enum WAVFile {
    public static let sampleRate = 16_000

    /// Writes to a temporary name beside `url`, then renames: a file at `url` is always complete, which is what
    /// makes an interrupted run resumable.
    public static func write(_ samples: [Int16], sampleRate: Int = sampleRate, to url: URL) throws {
        var data = Data(capacity: 44 + 2 * samples.count)
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
        data.append(contentsOf: Array("RIFF".utf8)); append(UInt32(36 + 2 * samples.count))
        data.append(contentsOf: Array("WAVEfmt ".utf8)); append(UInt32(16))
        append(UInt16(1)); append(UInt16(1))                            // PCM, mono
        append(UInt32(sampleRate)); append(UInt32(2 * sampleRate))      // byte rate
        append(UInt16(2)); append(UInt16(16))                           // block align, bits
        data.append(contentsOf: Array("data".utf8)); append(UInt32(2 * samples.count))
        samples.withUnsafeBytes { raw in
            if Int16(littleEndian: 1) == 1 { data.append(contentsOf: raw) }
            else { for s in samples { append(s) } }
        }
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).partial")
        do {
            try data.write(to: temporary)
            if FileManager.default.fileExists(atPath: url.path) { try FileManager.default.removeItem(at: url) }
            try FileManager.default.moveItem(at: temporary, to: url)
        } catch {
            throw SynthesisError.unwritableOutput("cannot write \(url.path): \(FileError.reason(error, path: url.path))")
        }
    }

    /// The samples of a 16-bit PCM mono file (as this module writes them); throws naming the file otherwise.
    public static func read(_ url: URL) throws -> (samples: [Int16], sampleRate: Int) {
        guard let data = try? Data(contentsOf: url) else { throw SynthesisError.badAudio("cannot read \(url.path)") }
        let (rate, range) = try layout(data, path: url.path)
        let samples = data[range].withUnsafeBytes { raw in
            (0..<(range.count / 2)).map { Int16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: Int16.self)) }
        }
        return (samples, rate)
    }

    /// Sample count of a complete file, or nil if the file is missing, truncated or not 16-bit mono PCM.
    public static func sampleCount(_ url: URL) -> Int? {
        guard let data = try? Data(contentsOf: url), let (_, range) = try? layout(data, path: url.path) else { return nil }
        return range.count / 2
    }

    /// Sample rate and the byte range of the samples; checks the header and that the data chunk is all there.
    static func layout(_ data: Data, path: String) throws -> (Int, Range<Int>) {
        func u32(_ at: Int) -> Int { data.withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt32.self))) } }
        func u16(_ at: Int) -> Int { data.withUnsafeBytes { Int(UInt16(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt16.self))) } }
        func tag(_ at: Int) -> String { String(decoding: data[data.startIndex + at ..< data.startIndex + at + 4], as: UTF8.self) }
        guard data.count >= 12, tag(0) == "RIFF", tag(8) == "WAVE" else { throw SynthesisError.badAudio("\(path) is not a RIFF/WAVE file") }
        var offset = 12, rate: Int?
        while offset + 8 <= data.count {
            let size = u32(offset + 4)
            switch tag(offset) {
            case "fmt ":
                guard size >= 16, offset + 24 <= data.count, u16(offset + 8) == 1, u16(offset + 10) == 1,
                      u16(offset + 22) == 16 else {
                    throw SynthesisError.badAudio("\(path) is not 16-bit mono PCM")
                }
                rate = u32(offset + 12)
            case "data":
                guard let rate else { throw SynthesisError.badAudio("\(path): data chunk before fmt chunk") }
                guard offset + 8 + size <= data.count, size % 2 == 0 else {
                    throw SynthesisError.badAudio("\(path) is truncated (data chunk of \(size) bytes, file of \(data.count))")
                }
                return (rate, (offset + 8)..<(offset + 8 + size))
            default: break
            }
            offset += 8 + size + size % 2
        }
        throw SynthesisError.badAudio("\(path) has no data chunk")
    }
}
