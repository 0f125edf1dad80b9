import Distributed
import XCTest

/// A single process: every collective leaves the data as it is, and the even split gives it everything.
final class SingleProcessTests: XCTestCase {
    func testReduceScatterAndAllGatherWithTheWholeCountAreCopies() throws {
        let world = SingleProcess()
        let send: [Float] = [1, -2, 3.5, 0, 7]
        var part = [Float](repeating: .nan, count: send.count), whole = [Float](repeating: .nan, count: send.count)
        let counts = world.evenCounts(send.count)
        XCTAssertEqual(counts, [5])
        try send.withUnsafeBufferPointer { send in
            try part.withUnsafeMutableBufferPointer { try world.reduceScatterSum(send, into: $0, counts: counts) }
        }
        XCTAssertEqual(part, send)
        try part.withUnsafeBufferPointer { part in
            try whole.withUnsafeMutableBufferPointer { try world.allGather(part, into: $0, counts: counts) }
        }
        XCTAssertEqual(whole, send)
    }

    func testAllReduceBroadcastAndGatherLeaveTheDataAsItIs() throws {
        let world = SingleProcess()
        var floats: [Float] = [0.25, -1, 3]
        try floats.withUnsafeMutableBufferPointer { try world.allReduceSum($0) }
        XCTAssertEqual(floats, [0.25, -1, 3])
        try floats.withUnsafeMutableBufferPointer { buffer in
            let pending = try world.startAllReduceSum(buffer)
            XCTAssertTrue(try pending.test())
            try pending.wait()
        }
        XCTAssertEqual(floats, [0.25, -1, 3])
        try floats.withUnsafeMutableBufferPointer { try world.broadcast($0, root: 0) }
        XCTAssertEqual(floats, [0.25, -1, 3])
        XCTAssertEqual(try world.allReduceSum([1.5, 2]), [1.5, 2])
        var bytes: [UInt8] = [9, 8, 7]
        try world.broadcast(bytes: &bytes, root: 0)
        XCTAssertEqual(bytes, [9, 8, 7])
        XCTAssertEqual(try world.allGather(bytes: bytes), [[9, 8, 7]])
        XCTAssertEqual(world.rank, 0)
        XCTAssertEqual(world.size, 1)
        XCTAssertFalse(world.isDistributed)
        XCTAssertTrue(world.isRoot)
    }

    /// The first total % parts parts are one larger; the parts add up to the total, in rank order.
    func testEvenPartsSplitTheRemainderOverTheFirstParts() {
        XCTAssertEqual(evenParts(10, parts: 3), [4, 3, 3])
        XCTAssertEqual(evenParts(12, parts: 4), [3, 3, 3, 3])
        XCTAssertEqual(evenParts(2, parts: 4), [1, 1, 0, 0])
        XCTAssertEqual(evenParts(0, parts: 2), [0, 0])
        for total in [1, 7, 1023, 1 << 20] {
            for parts in [1, 2, 3, 8] {
                let counts = evenParts(total, parts: parts)
                XCTAssertEqual(counts.reduce(0, +), total, "\(total) in \(parts)")
                XCTAssertLessThanOrEqual(counts.max()! - counts.min()!, 1, "\(total) in \(parts)")
            }
        }
        XCTAssertEqual(SingleProcess().evenCounts(7), [7])
    }
}
