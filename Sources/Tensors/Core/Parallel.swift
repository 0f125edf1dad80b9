import CSupport
import Foundation

/// Thread settings of the engine: one place decides how many threads kernels and oneDNN use.
public enum Runtime {
    nonisolated(unsafe) public private(set) static var threads: Int = defaultThreads()
    nonisolated(unsafe) private static var configured = false

    static func defaultThreads() -> Int {
        if let text = getenvString("PRETRAIN_THREADS"), let value = Int(text), value > 0 { return value }
        return max(1, System.activeProcessorCount)
    }

    /// Sets the thread count and flushes denormals in every compute thread (ours and oneDNN's).
    public static func configure(threads: Int? = nil) {
        if let threads { self.threads = max(1, threads) }
        sp_openmp_set_threads(Int32(self.threads))
        sp_flush_denormals_in_openmp_pool(Int32(self.threads))
        configured = true
    }

    @inline(__always) static func ensureConfigured() { if !configured { configure() } }

    /// True when the calling thread flushes denormals to zero.
    public static var flushesDenormals: Bool { sp_flush_denormals_enabled() != 0 }
}

enum System {
    /// Cores this process may run on (its affinity mask), not all cores of the machine.
    static var activeProcessorCount: Int { Int(sp_available_cpus()) }
}

func getenvString(_ name: String) -> String? {
    guard let value = getenv(name) else { return nil }
    return String(cString: value)
}

/// Splits `0..<count` into at most `Runtime.threads` contiguous chunks of at least `grain` items and runs
/// them concurrently on the OpenMP pool that oneDNN uses (one pool for GEMMs and kernels: two pools on
/// two cores would spin against each other). Each worker flushes denormals first (MXCSR is per thread).
/// Called from inside a chunk, it runs serially.
@inline(__always)
public func parallelFor(_ count: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
    guard count > 0 else { return }
    let chunks = min(Runtime.threads, max(1, count / max(grain, 1)))
    if chunks <= 1 {
        body(0..<count)
        return
    }
    Runtime.ensureConfigured()
    withoutActuallyEscaping(body) { body in
        var task = ChunkedTask(count: count, chunks: chunks, body: body)
        withUnsafeMutablePointer(to: &task) { pointer in
            sp_parallel_for(chunks, Int32(chunks), { context, chunk in
                let task = context!.assumingMemoryBound(to: ChunkedTask.self).pointee
                let chunk = Int(chunk)
                task.body(task.count * chunk / task.chunks..<task.count * (chunk + 1) / task.chunks)
            }, pointer)
        }
    }
}

private struct ChunkedTask {
    let count: Int
    let chunks: Int
    let body: (Range<Int>) -> Void
}

/// destination[i] += scale · source[i] (or = with `overwrite`) for i < count, in vector lanes, split over the cores
/// for large counts. The accumulation every backward pass does into a gradient buffer.
public func accumulate(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>, count: Int,
                       scale: Float = 1, overwrite: Bool = false) {
    parallelFor(count, grain: 1 << 15) { range in
        forEachVector(range.count) { offset, lanes in
            let at = range.lowerBound + offset
            let term = scale * (source + at).loadVector(lanes)
            (destination + at).storeVector(overwrite ? term : (destination + at).loadVector(lanes) + term, lanes)
        }
    }
}

/// `accumulate` into `tensor`'s gradient: stored into a fresh buffer (no zeroing pass) when it has none yet.
public func accumulateGradient(_ source: UnsafePointer<Float>, into tensor: Tensor, scale: Float = 1) {
    let (destination, overwrite) = tensor.gradDataForWriting()
    accumulate(source, into: destination, count: tensor.count, scale: scale, overwrite: overwrite)
}
