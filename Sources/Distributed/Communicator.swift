import Foundation

/// The processes of a data-parallel job and the collectives the trainer needs, independent of the engine that moves
/// the bytes: `SingleProcess` (no communication: every collective is the identity) or Open MPI (`MPICommunicator`).
/// Every rank calls the same collectives in the same order with the same sizes; an error is a `CommunicationError`
/// naming the operation (a peer that died, a mismatch), never a hang the caller cannot see.
public protocol Communicator: AnyObject {
    /// This process' index, 0..<size.
    var rank: Int { get }
    /// The number of processes.
    var size: Int { get }
    /// Processes of this job on this machine (threads per rank default to cores ÷ this).
    var localSize: Int { get }
    /// The engine, for `pretrain sysinfo` and the run's first line ("Open MPI v4.1.4", "single process").
    var engine: String { get }

    /// Sums `buffer` element-wise over every rank, in place, on every rank.
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws
    /// The same for doubles (losses, counts, norms: small vectors where float rounding would differ by rank count).
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws
    /// Starts summing `buffer` over every rank, in place; the buffer must stay alive and untouched until the
    /// returned reduction's `wait()` returns. Progress is made by `test()`, `wait()` and other collectives.
    func startAllReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> PendingReduction
    /// Copies `root`'s `buffer` into every rank's.
    func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws
    /// Copies `root`'s bytes to every rank (the other ranks' `bytes` are replaced, whatever their length).
    func broadcast(bytes: inout [UInt8], root: Int) throws
    /// Every rank's bytes, in rank order, on every rank.
    func allGather(bytes: [UInt8]) throws -> [[UInt8]]
    /// Sums `send` (the whole vector, `counts.reduce(0, +)` elements) over every rank and leaves part `rank` of
    /// the sum (`counts[rank]` elements, after the parts of lower ranks) in `receive`.
    func reduceScatterSum(_ send: UnsafeBufferPointer<Float>, into receive: UnsafeMutableBufferPointer<Float>,
                          counts: [Int]) throws
    /// Concatenates every rank's part (`counts[r]` elements each) in rank order into `receive` on every rank.
    func allGather(_ part: UnsafeBufferPointer<Float>, into receive: UnsafeMutableBufferPointer<Float>, counts: [Int]) throws
    /// Returns when every rank has called it.
    func barrier() throws
    /// Ends every rank of the job with `message` (printed once, by this rank) and a non-zero exit status.
    func abort(_ message: String) -> Never
}

/// A reduction started by `startAllReduceSum`.
public protocol PendingReduction: AnyObject {
    /// Advances it; true once it is complete (then `wait()` returns at once).
    func test() throws -> Bool
    /// Blocks until it is complete.
    func wait() throws
}

/// A collective that failed: the operation and the engine's words.
public struct CommunicationError: Error, CustomStringConvertible {
    public let operation: String
    public let reason: String
    public init(_ operation: String, _ reason: String) {
        self.operation = operation
        self.reason = reason
    }
    public var description: String { "\(operation) failed: \(reason)" }
}

extension Communicator {
    public var isDistributed: Bool { size > 1 }
    public var isRoot: Bool { rank == 0 }

    /// Sums `values` over every rank (a convenience for a few scalars).
    public func allReduceSum(_ values: [Double]) throws -> [Double] {
        var values = values
        try values.withUnsafeMutableBufferPointer { try allReduceSum($0) }
        return values
    }

    /// Part `rank` of `total` elements split as evenly as possible in rank order (the first `total % size` parts
    /// one larger): the counts of `reduceScatterSum` and `allGather` for an even split.
    public func evenCounts(_ total: Int) -> [Int] { evenParts(total, parts: size) }
}

/// `total` split into `parts` counts as evenly as possible, the first `total % parts` one larger (`evenCounts`).
public func evenParts(_ total: Int, parts: Int) -> [Int] {
    (0..<parts).map { total / parts + ($0 < total % parts ? 1 : 0) }
}

/// One process: rank 0 of 1; every collective leaves its data as it is.
public final class SingleProcess: Communicator {
    public init() {}
    public let rank = 0
    public let size = 1
    public let localSize = 1
    public let engine = "single process"

    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {}
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws {}
    public func startAllReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> PendingReduction { Done() }
    public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws {}
    public func broadcast(bytes: inout [UInt8], root: Int) throws {}
    public func allGather(bytes: [UInt8]) throws -> [[UInt8]] { [bytes] }
    public func reduceScatterSum(_ send: UnsafeBufferPointer<Float>, into receive: UnsafeMutableBufferPointer<Float>,
                                 counts: [Int]) throws {
        precondition(counts == [receive.count] && send.count == receive.count, "reduceScatterSum: counts \(counts) do not fit")
        _ = receive.initialize(from: send)
    }
    public func allGather(_ part: UnsafeBufferPointer<Float>, into receive: UnsafeMutableBufferPointer<Float>,
                          counts: [Int]) throws {
        precondition(counts == [part.count] && receive.count == part.count, "allGather: counts \(counts) do not fit")
        _ = receive.initialize(from: part)
    }
    public func barrier() throws {}
    public func abort(_ message: String) -> Never {
        FileHandleOutput.standardError(message)
        exit(1)
    }

    private final class Done: PendingReduction {
        func test() throws -> Bool { true }
        func wait() throws {}
    }
}
