import CMPI
import Foundation

/// Every rank of an `mpirun` job over Open MPI. Errors return (MPI_ERRORS_RETURN) and become `CommunicationError`s
/// naming the operation; a count past Int32 is split into several calls. All calls come from one thread at a time
/// (MPI_THREAD_SERIALIZED).
public final class MPICommunicator: Communicator {
    public let rank: Int
    public let size: Int
    public let localSize: Int
    public let engine: String
    private let world: MPI_Comm
    private var finished = false

    /// MPI_Init_thread, the world's rank and size, the ranks on this machine, the library's name.
    static func start() throws -> MPICommunicator {
        var provided: Int32 = 0
        let status = MPI_Init_thread(nil, nil, pretrain_mpi_thread_serialized(), &provided)
        guard status == MPI_SUCCESS else { throw CommunicationError("MPI_Init_thread", "error \(status)") }
        return try MPICommunicator()
    }

    private init() throws {
        world = pretrain_mpi_comm_world()
        MPI_Comm_set_errhandler(world, pretrain_mpi_errors_return())
        var value: Int32 = 0
        MPI_Comm_rank(world, &value)
        rank = Int(value)
        MPI_Comm_size(world, &value)
        size = Int(value)
        var local = pretrain_mpi_comm_null()
        if MPI_Comm_split_type(world, pretrain_mpi_comm_type_shared(), Int32(rank), pretrain_mpi_info_null(), &local) == MPI_SUCCESS {
            MPI_Comm_size(local, &value)
            localSize = Int(value)
            MPI_Comm_free(&local)
        } else {
            localSize = 1
        }
        engine = Self.libraryName
    }

    /// The linked MPI library's name and version ("Open MPI v4.1.4"), the first part of MPI_Get_library_version,
    /// which MPI 3 allows before MPI_Init (`pretrain sysinfo` names it in a single process too).
    static var libraryName: String {
        var text = [CChar](repeating: 0, count: Int(pretrain_mpi_max_library_version_string()) + 1)
        var length: Int32 = 0
        MPI_Get_library_version(&text, &length)
        let version = String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return version.split(separator: ",").first.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? "MPI"
    }

    func finish() {
        guard !finished else { return }
        finished = true
        MPI_Finalize()
    }

    // MARK: - Collectives

    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {
        try chunks(buffer.count) { offset, count in
            try check("MPI_Allreduce of \(count) floats", MPI_Allreduce(pretrain_mpi_in_place(), buffer.baseAddress! + offset,
                                                                      count, pretrain_mpi_float(), pretrain_mpi_sum(), world))
        }
    }

    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws {
        try chunks(buffer.count) { offset, count in
            try check("MPI_Allreduce of \(count) doubles", MPI_Allreduce(pretrain_mpi_in_place(), buffer.baseAddress! + offset,
                                                                       count, pretrain_mpi_double(), pretrain_mpi_sum(), world))
        }
    }

    public func startAllReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> PendingReduction {
        var requests: [MPI_Request?] = []
        try chunks(buffer.count) { offset, count in
            var request: MPI_Request? = pretrain_mpi_request_null()
            try check("MPI_Iallreduce of \(count) floats", MPI_Iallreduce(pretrain_mpi_in_place(), buffer.baseAddress! + offset,
                                                                        count, pretrain_mpi_float(), pretrain_mpi_sum(),
                                                                        world, &request))
            requests.append(request)
        }
        return Pending(requests: requests, count: buffer.count)
    }

    public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws {
        try chunks(buffer.count) { offset, count in
            try check("MPI_Bcast of \(count) floats from rank \(root)",
                      MPI_Bcast(buffer.baseAddress! + offset, count, pretrain_mpi_float(), Int32(root), world))
        }
    }

    public func broadcast(bytes: inout [UInt8], root: Int) throws {
        var count = [Int64(bytes.count)]
        try count.withUnsafeMutableBytes {
            try check("MPI_Bcast of a length from rank \(root)", MPI_Bcast($0.baseAddress, 8, pretrain_mpi_byte(), Int32(root), world))
        }
        if rank != root { bytes = [UInt8](repeating: 0, count: Int(count[0])) }
        try bytes.withUnsafeMutableBytes { raw in
            try chunks(raw.count) { offset, length in
                try check("MPI_Bcast of \(length) bytes from rank \(root)",
                          MPI_Bcast(raw.baseAddress! + offset, length, pretrain_mpi_byte(), Int32(root), world))
            }
        }
    }

    public func allGather(bytes: [UInt8]) throws -> [[UInt8]] {
        var counts = [Int32](repeating: 0, count: size)
        guard bytes.count <= Int(Int32.max) else { throw CommunicationError("allGather", "\(bytes.count) bytes do not fit an MPI count") }
        var mine = Int32(bytes.count)
        try check("MPI_Allgather of lengths", MPI_Allgather(&mine, 1, pretrain_mpi_int(), &counts, 1, pretrain_mpi_int(), world))
        let displacements = try Self.displacements(counts.map(Int.init))
        var all = [UInt8](repeating: 0, count: counts.reduce(0) { $0 + Int($1) })
        try bytes.withUnsafeBytes { send in
            try all.withUnsafeMutableBytes { receive in
                try check("MPI_Allgatherv of \(bytes.count) bytes",
                          MPI_Allgatherv(send.baseAddress, mine, pretrain_mpi_byte(), receive.baseAddress, counts,
                                         displacements, pretrain_mpi_byte(), world))
            }
        }
        return (0..<size).map { Array(all[Int(displacements[$0])..<Int(displacements[$0]) + Int(counts[$0])]) }
    }

    public func reduceScatterSum(_ send: UnsafeBufferPointer<Float>, into receive: UnsafeMutableBufferPointer<Float>,
                                 counts: [Int]) throws {
        try checkCounts(counts, total: send.count, mine: receive.count, operation: "reduceScatterSum")
        let counts32 = counts.map { Int32($0) }
        try check("MPI_Reduce_scatter of \(send.count) floats",
                  MPI_Reduce_scatter(send.baseAddress, receive.baseAddress, counts32, pretrain_mpi_float(), pretrain_mpi_sum(), world))
    }

    public func allGather(_ part: UnsafeBufferPointer<Float>, into receive: UnsafeMutableBufferPointer<Float>,
                          counts: [Int]) throws {
        try checkCounts(counts, total: receive.count, mine: part.count, operation: "allGather")
        let displacements = try Self.displacements(counts)
        try check("MPI_Allgatherv of \(receive.count) floats",
                  MPI_Allgatherv(part.baseAddress, Int32(part.count), pretrain_mpi_float(), receive.baseAddress,
                                 counts.map { Int32($0) }, displacements, pretrain_mpi_float(), world))
    }

    public func barrier() throws {
        try check("MPI_Barrier", MPI_Barrier(world))
    }

    public func abort(_ message: String) -> Never {
        FileHandleOutput.standardError(message)
        MPI_Abort(world, 1)
        exit(1)
    }

    // MARK: - Helpers

    /// The largest count one MPI call takes here (an `int`, kept well below its limit).
    static let largestCount = 1 << 30

    private func chunks(_ total: Int, _ body: (Int, Int32) throws -> Void) throws {
        var offset = 0
        repeat {
            let count = min(Self.largestCount, total - offset)
            try body(offset, Int32(count))
            offset += count
        } while offset < total
    }

    private func checkCounts(_ counts: [Int], total: Int, mine: Int, operation: String) throws {
        guard counts.count == size, counts.reduce(0, +) == total, counts[rank] == mine else {
            throw CommunicationError(operation, "counts \(counts) do not split \(total) elements with \(mine) on rank \(rank)")
        }
        guard total <= Int(Int32.max) else {
            throw CommunicationError(operation, "\(total) elements do not fit an MPI count")
        }
    }

    private static func displacements(_ counts: [Int]) throws -> [Int32] {
        var offsets = [Int32](), offset = 0
        for count in counts {
            guard offset <= Int(Int32.max) else { throw CommunicationError("MPI displacements", "offset \(offset) past Int32") }
            offsets.append(Int32(offset))
            offset += count
        }
        return offsets
    }

    fileprivate func check(_ operation: String, _ status: Int32) throws {
        guard status != MPI_SUCCESS else { return }
        throw CommunicationError("\(operation) on rank \(rank) of \(size)", Self.describe(status))
    }

    static func describe(_ status: Int32) -> String {
        var text = [CChar](repeating: 0, count: Int(pretrain_mpi_max_error_string()) + 1)
        var length: Int32 = 0
        MPI_Error_string(status, &text, &length)
        return String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private final class Pending: PendingReduction {
        var requests: [MPI_Request?]
        let count: Int
        init(requests: [MPI_Request?], count: Int) { (self.requests, self.count) = (requests, count) }

        func test() throws -> Bool {
            var flag: Int32 = 0
            let status = MPI_Testall(Int32(requests.count), &requests, &flag, nil)
            guard status == MPI_SUCCESS else {
                throw CommunicationError("MPI_Testall of an all-reduce of \(count) floats", MPICommunicator.describe(status))
            }
            return flag != 0
        }

        func wait() throws {
            let status = MPI_Waitall(Int32(requests.count), &requests, nil)
            guard status == MPI_SUCCESS else {
                throw CommunicationError("MPI_Waitall of an all-reduce of \(count) floats", MPICommunicator.describe(status))
            }
        }
    }
}
