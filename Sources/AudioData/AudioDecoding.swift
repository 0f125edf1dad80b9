import CSndFile
import Foundation

/// Samples as a file stores them, decoded to Float: integer formats scaled to [-1, 1) (int16 divided by 32768),
/// float formats as stored.
public struct DecodedAudio {
    /// Interleaved: frame t, channel c at `samples[t * channels + c]`.
    public var samples: [Float]
    public var channels: Int
    public var sampleRate: Int
    public var frameCount: Int { channels > 0 ? samples.count / channels : 0 }

    public init(samples: [Float], channels: Int, sampleRate: Int) {
        self.samples = samples
        self.channels = channels
        self.sampleRate = sampleRate
    }

    /// The average of the channels, one sample per frame.
    public func monoMixdown() -> [Float] {
        if channels == 1 { return samples }
        let frames = frameCount
        var mono = [Float](repeating: 0, count: frames)
        let scale = 1 / Float(channels)
        samples.withUnsafeBufferPointer { interleaved in
            for t in 0..<frames {
                var sum: Float = 0
                for c in 0..<channels { sum += interleaved[t * channels + c] }
                mono[t] = sum * scale
            }
        }
        return mono
    }
}

/// Decodes any format libsndfile reads (WAV, FLAC, OGG/Vorbis, AIFF, ...; 8/16/24/32-bit integer, float, double).
public enum AudioDecoder {
    /// Throws an `AudioError` naming the path and libsndfile's reason when the file cannot be opened or read.
    public static func decode(_ url: URL) throws -> DecodedAudio {
        let path = url.path
        var info = SF_INFO()
        guard let file = sf_open(path, Int32(SFM_READ), &info) else {
            let reason = String(cString: sf_strerror(nil))
            throw AudioError("\(path): cannot decode audio: \(reason)")
        }
        defer { sf_close(file) }
        guard info.channels > 0, info.samplerate > 0 else {
            throw AudioError("\(path): cannot decode audio: \(info.channels) channels at \(info.samplerate) Hz")
        }
        let channels = Int(info.channels), rate = Int(info.samplerate)
        // The rate before reading anything; the length as blocks arrive (a truncated file's header overstates it).
        try AudioBounds.check(sampleRate: rate, frames: 0, path: path)
        // frames may be unknown or overstated (truncated files): read in blocks until libsndfile stops.
        guard channels <= AudioBounds.maxChannels else {
            throw AudioError(badAudio: "\(path): \(channels) channels, more than the \(AudioBounds.maxChannels) a recording has (a corrupt header?)")
        }
        var samples: [Float] = []
        // The header's length only sizes the first allocation, and no further than the file's bytes can hold (a
        // compressed file states what it likes: 10⁹ frames in a 1 KB FLAC once asked for 30 GB up front).
        let fileBytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        if info.frames > 0 && info.frames < Int64(Int32.max) && Double(info.frames) <= AudioBounds.maxDuration * Double(rate) {
            samples.reserveCapacity(min(Int(info.frames) * channels, 8 * max(fileBytes, 1 << 16)))
        }
        let blockFrames = 65_536
        var block = [Float](repeating: 0, count: blockFrames * channels)
        while true {
            let read = block.withUnsafeMutableBufferPointer { sf_readf_float(file, $0.baseAddress, sf_count_t(blockFrames)) }
            if read <= 0 { break }
            samples.append(contentsOf: block[0..<Int(read) * channels])
            try AudioBounds.check(sampleRate: rate, frames: samples.count / channels, path: path)
        }
        if sf_error(file) != SF_ERR_NO_ERROR {
            throw AudioError("\(path): cannot decode audio: \(String(cString: sf_strerror(file)))")
        }
        try AudioBounds.checkFinite(samples, path: path)
        return DecodedAudio(samples: samples, channels: channels, sampleRate: rate)
    }
}
