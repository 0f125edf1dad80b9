import CSoxr

/// Sample-rate conversion with libsoxr (band-limited, linear phase; "HQ" = 20-bit quality, 91 % bandwidth).
public enum Resampler {
    /// Mono samples at `inputRate` → at `outputRate`; the output has round(count · outputRate / inputRate) samples.
    public static func resample(_ samples: [Float], from inputRate: Int, to outputRate: Int) throws -> [Float] {
        guard inputRate > 0, outputRate > 0 else {
            throw AudioError("cannot resample from \(inputRate) Hz to \(outputRate) Hz: rates must be positive")
        }
        if inputRate == outputRate || samples.isEmpty { return samples }
        let outputCount = Int((Double(samples.count) * Double(outputRate) / Double(inputRate)).rounded())
        var output = [Float](repeating: 0, count: outputCount)
        var ioSpec = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I)
        var qualitySpec = soxr_quality_spec(UInt(SOXR_HQ), 0)
        // One thread: callers parallelise over files.
        var runtimeSpec = soxr_runtime_spec(1)
        var done = 0
        let failure: soxr_error_t? = samples.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                soxr_oneshot(Double(inputRate), Double(outputRate), 1, input.baseAddress, samples.count, nil,
                             out.baseAddress, outputCount, &done, &ioSpec, &qualitySpec, &runtimeSpec)
            }
        }
        if let failure {
            throw AudioError("cannot resample from \(inputRate) Hz to \(outputRate) Hz: \(String(cString: failure))")
        }
        if done < outputCount { output.removeLast(outputCount - done) }
        return output
    }
}
