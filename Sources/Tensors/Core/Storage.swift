import Foundation

/// A 64-byte aligned Float32 buffer. Buffers come from and return to `BufferPool.shared`, so a training
/// step that repeats the same shapes allocates nothing after the first step.
public final class Storage {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>

    /// Uninitialised storage of `count` floats.
    public init(count: Int) {
        precondition(count >= 0, "negative storage size")
        self.count = count
        self.pointer = BufferPool.shared.take(count)
    }

    /// Zero-filled storage of `count` floats.
    public convenience init(zeros count: Int) {
        self.init(count: count)
        let start = pointer
        parallelFor(count, grain: 1 << 16) { range in (start + range.lowerBound).update(repeating: 0, count: range.count) }
    }

    deinit { BufferPool.shared.give(pointer, count: count) }
}

/// Recycles buffers by size class: exact up to 16,384 floats, above that rounded up to one of eight sizes per
/// doubling (at most 12.5 % more than asked), so that shapes which vary a little from batch to batch (texts padded to
/// each batch's longest) reuse each other's buffers instead of each caching its own. Bounded by `capacityBytes`;
/// beyond it buffers are freed.
public final class BufferPool: @unchecked Sendable {
    public static let shared = BufferPool()

    public var capacityBytes: Int = 8 << 30
    private var free: [Int: [UnsafeMutablePointer<Float>]] = [:]
    private var cachedBytes = 0
    private let lock = NSLock()

    public private(set) var allocations = 0

    /// The floats a buffer for `count` floats holds.
    public static func slots(_ count: Int) -> Int {
        guard count > 16_384 else { return max(count, 1) }
        let step = 1 << ((Int.bitWidth - 1 - count.leadingZeroBitCount) - 3)   // an eighth of the power of two below
        return (count + step - 1) / step * step
    }

    func take(_ count: Int) -> UnsafeMutablePointer<Float> {
        let slots = Self.slots(count)
        lock.lock()
        if var list = free[slots], let buffer = list.popLast() {
            free[slots] = list
            cachedBytes -= slots * 4
            lock.unlock()
            return buffer
        }
        allocations += 1
        lock.unlock()
        var raw: UnsafeMutableRawPointer?
        let status = OpProfiler.charge("allocation (inside the ops above)") { posix_memalign(&raw, 64, slots * MemoryLayout<Float>.stride) }
        guard status == 0, let raw else { fatalError("out of memory allocating \(slots) floats") }
        return raw.bindMemory(to: Float.self, capacity: slots)
    }

    func give(_ buffer: UnsafeMutablePointer<Float>, count: Int) {
        let slots = Self.slots(count)
        lock.lock()
        if cachedBytes + slots * 4 <= capacityBytes {
            free[slots, default: []].append(buffer)
            cachedBytes += slots * 4
            lock.unlock()
            return
        }
        lock.unlock()
        Foundation.free(buffer)
    }

    /// Frees every cached buffer (e.g. after evaluation with unusual shapes).
    public func trim() {
        lock.lock()
        let lists = free
        free = [:]
        cachedBytes = 0
        lock.unlock()
        for list in lists.values { for buffer in list { Foundation.free(buffer) } }
    }
}
