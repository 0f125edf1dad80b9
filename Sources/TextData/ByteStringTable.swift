/// An open-addressing hash set of byte strings that numbers its keys 0, 1, 2, ... in insertion order; the keys
/// live in one byte arena. The encoder's word cache and the trainer's word counts use it so that looking up a
/// piece of text costs a hash and a memcmp, with no String or Array built per lookup.
struct ByteStringTable {
    private(set) var count = 0
    private var slots: [Int32]                // key index, or -1 for an empty slot
    private var hashes: [UInt64] = []        // per key
    private var keyEnds: [Int] = []          // key i is arena[keyEnds[i-1] ..< keyEnds[i]] (keyEnds[-1] = 0)
    private var arena: [UInt8] = []

    init(capacity: Int = 1024) {
        var size = 16
        while size < capacity * 2 { size *= 2 }
        slots = [Int32](repeating: -1, count: size)
    }

    /// 64-bit FNV-1a.
    @inline(__always)
    static func hash(_ key: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return h ^ (h >> 32)  // the table indexes by the low bits
    }

    /// The index of `key`, or nil.
    @inline(__always)
    func find(_ key: UnsafeBufferPointer<UInt8>, hash: UInt64) -> Int? {
        slots.withUnsafeBufferPointer { slots in
            hashes.withUnsafeBufferPointer { hashes in
                keyEnds.withUnsafeBufferPointer { keyEnds in
                    arena.withUnsafeBufferPointer { arena in
                        let mask = slots.count - 1
                        var slot = Int(truncatingIfNeeded: hash) & mask
                        while true {
                            let index = Int(slots[slot])
                            if index < 0 { return nil }
                            if hashes[index] == hash {
                                let start = index == 0 ? 0 : keyEnds[index - 1]
                                if keyEnds[index] - start == key.count
                                    && (key.count == 0
                                        || memcmpBytes(arena.baseAddress! + start, key.baseAddress!, key.count)) {
                                    return index
                                }
                            }
                            slot = (slot + 1) & mask
                        }
                    }
                }
            }
        }
    }

    /// Adds `key`, which must not be present, and returns its index.
    @discardableResult
    mutating func insert(_ key: UnsafeBufferPointer<UInt8>, hash: UInt64) -> Int {
        if (count + 1) * 2 > slots.count { grow() }
        let index = count
        arena.append(contentsOf: key)
        keyEnds.append(arena.count)
        hashes.append(hash)
        place(index, hash: hash)
        count += 1
        return index
    }

    /// The bytes of key `index`.
    func key(_ index: Int) -> ArraySlice<UInt8> {
        arena[(index == 0 ? 0 : keyEnds[index - 1]) ..< keyEnds[index]]
    }

    /// Bytes held by the arena (to bound a cache).
    var arenaBytes: Int { arena.count }

    mutating func removeAll() {
        count = 0
        hashes.removeAll(keepingCapacity: true)
        keyEnds.removeAll(keepingCapacity: true)
        arena.removeAll(keepingCapacity: true)
        for i in slots.indices { slots[i] = -1 }
    }

    private mutating func place(_ index: Int, hash: UInt64) {
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while slots[slot] >= 0 { slot = (slot + 1) & mask }
        slots[slot] = Int32(index)
    }

    private mutating func grow() {
        slots = [Int32](repeating: -1, count: slots.count * 2)
        for index in 0..<count { place(index, hash: hashes[index]) }
    }
}

@inline(__always)
private func memcmpBytes(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ count: Int) -> Bool {
    var i = 0
    while i + 8 <= count {
        if UnsafeRawPointer(a + i).loadUnaligned(as: UInt64.self) != UnsafeRawPointer(b + i).loadUnaligned(as: UInt64.self) {
            return false
        }
        i += 8
    }
    while i < count {
        if a[i] != b[i] { return false }
        i += 1
    }
    return true
}
