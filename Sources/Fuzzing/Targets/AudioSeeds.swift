import Foundation

/// Small valid audio files written byte by byte, so that the seeds need no encoder: RIFF/WAVE in the common
/// sample formats, and FLAC with verbatim subframes (RFC 9639: STREAMINFO, then frames with CRC-8 and CRC-16).
enum AudioSeeds {
    /// A 440 Hz tone with a little noise-like detail, in [-1, 1].
    static func tone(_ count: Int, rate: Int) -> [Double] {
        (0..<count).map { index -> Double in
            let phase = 2 * Double.pi * 440 * Double(index) / Double(rate)
            let detail = Double((index * 7919) % 13 - 6) / 600
            return 0.5 * sin(phase) + detail
        }
    }

    static func littleEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        (0..<T.bitWidth / 8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }

    /// A WAV file: `format` 1 (PCM integers) or 3 (IEEE float), samples interleaved from `channels` copies of a
    /// tone, optionally a JUNK chunk before the data (readers must skip chunks they do not know).
    static func wav(format: UInt16, channels: Int, rate: Int, bits: Int, frames: Int, junkChunk: Bool = false) -> [UInt8] {
        var samples: [UInt8] = []
        for value in tone(frames, rate: rate) {
            for channel in 0..<channels {
                let v = value * (channel == 0 ? 1 : -0.5)
                switch (format, bits) {
                case (3, 32): samples += littleEndian(Float(v).bitPattern)
                case (3, 64): samples += littleEndian(v.bitPattern)
                case (_, 8): samples.append(UInt8(clamping: Int(v * 127) + 128))
                case (_, 24): samples += Array(littleEndian(Int32(v * 8_388_607)).prefix(3))
                case (_, 32): samples += littleEndian(Int32(v * 2_147_483_000))
                default: samples += littleEndian(Int16(v * 32_767))
                }
            }
        }
        let blockAlign = channels * bits / 8
        var fmt = Array("fmt ".utf8) + littleEndian(UInt32(16)) + littleEndian(format) + littleEndian(UInt16(channels))
        fmt += littleEndian(UInt32(rate)) + littleEndian(UInt32(rate * blockAlign)) + littleEndian(UInt16(blockAlign))
            + littleEndian(UInt16(bits))
        let junk = junkChunk ? Array("JUNK".utf8) + littleEndian(UInt32(6)) + [UInt8](repeating: 0, count: 6) : []
        let data = Array("data".utf8) + littleEndian(UInt32(samples.count)) + samples
        let body = Array("WAVE".utf8) + fmt + junk + data
        return Array("RIFF".utf8) + littleEndian(UInt32(body.count)) + body
    }

    static let wavSeeds: [[UInt8]] = [
        wav(format: 1, channels: 1, rate: 16_000, bits: 16, frames: 800),
        wav(format: 1, channels: 2, rate: 44_100, bits: 16, frames: 600, junkChunk: true),
        wav(format: 1, channels: 1, rate: 8_000, bits: 8, frames: 400),
        wav(format: 1, channels: 1, rate: 22_050, bits: 24, frames: 500),
        wav(format: 3, channels: 1, rate: 16_000, bits: 32, frames: 600),
    ]

    /// Byte offset of the fmt chunk's sample rate in the seeds (RIFF header, "WAVE", "fmt " and its size, format,
    /// channels).
    static let wavSampleRateOffset = 24

    /// Bits, most significant first, packed into bytes.
    struct BitWriter {
        var bytes: [UInt8] = []
        private var used = 0
        mutating func write(_ value: UInt64, bits: Int) {
            for bit in stride(from: bits - 1, through: 0, by: -1) {
                if used == 0 { bytes.append(0) }
                bytes[bytes.count - 1] |= UInt8((value >> UInt64(bit)) & 1) << UInt8(7 - used)
                used = (used + 1) % 8
            }
        }
    }

    static func crc8(_ bytes: [UInt8]) -> UInt8 {
        var crc: UInt8 = 0
        for byte in bytes {
            crc ^= byte
            for _ in 0..<8 { crc = crc & 0x80 != 0 ? (crc << 1) ^ 0x07 : crc << 1 }
        }
        return crc
    }

    static func crc16(_ bytes: [UInt8]) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc ^= UInt16(byte) << 8
            for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x8005 : crc << 1 }
        }
        return crc
    }

    /// 16-bit FLAC, frames of `blockSize` samples per channel, each channel a verbatim subframe.
    static func flac(channels: Int, rate: Int, frames: Int, blockSize: Int = 256) -> [UInt8] {
        var info = BitWriter()
        info.write(UInt64(blockSize), bits: 16); info.write(UInt64(blockSize), bits: 16)
        info.write(0, bits: 24); info.write(0, bits: 24)                // frame sizes unknown
        info.write(UInt64(rate), bits: 20); info.write(UInt64(channels - 1), bits: 3); info.write(15, bits: 5)
        info.write(UInt64(frames), bits: 36); info.write(0, bits: 64); info.write(0, bits: 64)   // no MD5
        var file = Array("fLaC".utf8) + [0x80, 0, 0, 34] + info.bytes   // last metadata block, STREAMINFO, 34 bytes
        let samples = tone(frames, rate: rate).map { Int16($0 * 32_767) }
        for (index, start) in stride(from: 0, to: frames, by: blockSize).enumerated() {
            let count = min(blockSize, frames - start)
            var header = BitWriter()
            header.write(0b11111111111110, bits: 14); header.write(0, bits: 2)   // sync, reserved, fixed block size
            header.write(0b0111, bits: 4); header.write(0, bits: 4)             // 16-bit size at the end; rate from STREAMINFO
            header.write(UInt64(channels - 1), bits: 4); header.write(0b100, bits: 3); header.write(0, bits: 1)
            precondition(index < 128, "frame numbers past 127 need longer UTF-8")
            header.write(UInt64(index), bits: 8)
            header.write(UInt64(count - 1), bits: 16)
            var frame = header.bytes + [crc8(header.bytes)]
            for channel in 0..<channels {
                var subframe = BitWriter()
                subframe.write(0b0000_0010, bits: 8)                          // verbatim, no wasted bits
                for sample in samples[start..<start + count] {
                    subframe.write(UInt64(UInt16(bitPattern: channel == 0 ? sample : sample / -2)), bits: 16)
                }
                frame += subframe.bytes
            }
            file += frame + littleEndian(crc16(frame)).reversed()
        }
        return file
    }

    static let flacSeeds: [[UInt8]] = [flac(channels: 1, rate: 16_000, frames: 700),
                                       flac(channels: 2, rate: 44_100, frames: 600, blockSize: 192)]

    /// Byte offset of STREAMINFO's 20-bit sample rate ("fLaC", block header, block sizes, frame sizes).
    static let flacSampleRateOffset = 18
}
