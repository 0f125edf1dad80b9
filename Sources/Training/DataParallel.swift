import Distributed
import Foundation
import Layers
import Optimizers
import Tensors

/// Averages the trainable parameters' gradients over the ranks of a data-parallel job after the last micro-batch's
/// backward (earlier micro-batches only accumulate: DDP's `no_sync`). The parameters are grouped into buckets of
/// about `bucketBytes` in reverse order of definition (the order backward finishes them, as DDP); each bucket is
/// packed into one flat buffer, every bucket's all-reduce is started, then each is waited for, scaled by 1/N and
/// unpacked. A parameter without a gradient on every rank keeps none (as one process would leave it).
final class GradientAverager {
    let communicator: Communicator
    let parameters: [Tensor]
    /// Parameter indices per bucket.
    let buckets: [[Int]]
    private let buffers: [UnsafeMutableBufferPointer<Float>]
    /// 1 where a rank has a gradient for the parameter, summed over ranks.
    private var present: UnsafeMutableBufferPointer<Float>
    /// Seconds the last `average()` took (packing, communication, unpacking).
    private(set) var lastSeconds = 0.0

    init(parameters: [Tensor], communicator: Communicator, bucketBytes: Int = 25 << 20) {
        self.parameters = parameters
        self.communicator = communicator
        var buckets: [[Int]] = [], current: [Int] = [], bytes = 0
        for index in parameters.indices.reversed() {
            current.append(index)
            bytes += 4 * parameters[index].count
            if bytes >= bucketBytes { (buckets, current, bytes) = (buckets + [current], [], 0) }
        }
        if !current.isEmpty { buckets.append(current) }
        self.buckets = buckets
        buffers = buckets.map { bucket in
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: bucket.reduce(0) { $0 + parameters[$1].count })
            buffer.initialize(repeating: 0)
            return buffer
        }
        present = .allocate(capacity: parameters.count)
        present.initialize(repeating: 0)
    }

    deinit {
        buffers.forEach { $0.deallocate() }
        present.deallocate()
    }

    /// Every trainable parameter's gradient becomes the mean over the ranks.
    func average() throws {
        let start = DispatchTime.now().uptimeNanoseconds
        defer { lastSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        for (index, parameter) in parameters.enumerated() { present[index] = parameter.grad == nil ? 0 : 1 }
        var pending: [PendingReduction] = []
        for (bucket, buffer) in zip(buckets, buffers) {
            var offset = 0
            for index in bucket {
                let parameter = parameters[index]
                if let grad = parameter.grad {
                    (buffer.baseAddress! + offset).update(from: grad.data, count: parameter.count)
                } else {
                    (buffer.baseAddress! + offset).update(repeating: 0, count: parameter.count)
                }
                offset += parameter.count
            }
            pending.append(try communicator.startAllReduceSum(buffer))
        }
        try communicator.allReduceSum(present)
        let scale = 1 / Float(communicator.size)
        for ((bucket, buffer), reduction) in zip(zip(buckets, buffers), pending) {
            try reduction.wait()
            var offset = 0
            for index in bucket {
                let parameter = parameters[index]
                defer { offset += parameter.count }
                guard present[index] > 0 else { continue }
                let grad = parameter.gradData()
                let source = buffer.baseAddress! + offset
                for i in 0..<parameter.count { grad[i] = source[i] * scale }
            }
        }
    }
}

/// What rank 0 hands the other ranks when a data-parallel run starts (after it restored a checkpoint or loaded
/// `--init-from` weights): every tensor of the model's state, the optimiser's moments, the trainer state. The
/// other ranks read no checkpoint, so resuming needs the run directory on rank 0's machine only.
enum StartSynchronization {
    /// `optimizer`: the unsharded optimiser whose moments every rank gets (nil: a `ShardedOptimizer` scatters them).
    static func run(communicator: Communicator, model: Module, optimizer: AdamW?, state: inout TrainerState) throws {
        guard communicator.size > 1 else { return }
        for (_, tensor) in model.stateDict().sorted(by: { $0.key < $1.key }) {
            try communicator.broadcast(UnsafeMutableBufferPointer(start: tensor.data, count: tensor.count), root: 0)
        }
        let moments = optimizer?.stateTensors() ?? [:]
        for (_, tensor) in moments.sorted(by: { $0.key < $1.key }) {
            try communicator.broadcast(UnsafeMutableBufferPointer(start: tensor.data, count: tensor.count), root: 0)
        }
        var bytes = communicator.rank == 0 ? [UInt8](try JSONEncoder().encode(state)) : []
        try communicator.broadcast(bytes: &bytes, root: 0)
        if communicator.rank != 0 { state = try JSONDecoder().decode(TrainerState.self, from: Data(bytes)) }
        try optimizer?.loadState(moments, stepCount: state.optimizerSteps)
    }

    /// A CRC-32C over the bytes of every tensor of the model's state, in name order: equal on every rank while
    /// the ranks agree.
    static func checksum(_ model: Module) -> UInt32 {
        var crc: UInt32 = 0
        for (_, tensor) in model.stateDict().sorted(by: { $0.key < $1.key }) {
            crc = CRC32C.update(crc, UnsafeRawBufferPointer(start: tensor.data, count: 4 * tensor.count))
        }
        return crc
    }

    /// Throws when some rank's parameters differ from rank 0's (silent divergence: a nondeterministic kernel, a
    /// rank that skipped an update).
    static func checkAgreement(communicator: Communicator, model: Module, step: Int) throws {
        guard communicator.size > 1 else { return }
        var crc = checksum(model)
        let all = try communicator.allGather(bytes: withUnsafeBytes(of: &crc) { Array($0) })
        let values = all.map { $0.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) } }
        let differing = values.indices.filter { values[$0] != values[0] }
        guard differing.isEmpty else {
            throw TrainingError("the ranks' parameters disagree at step \(step): rank\(differing.count == 1 ? "" : "s") "
                + "\(differing.map(String.init).joined(separator: ", ")) differ from rank 0 (checksums "
                + values.map { String($0, radix: 16) }.joined(separator: ", ") + "); the job stops so that it does not "
                + "train diverged copies")
        }
    }
}

/// The random streams that differ by rank (the objective's masks, dropout), saved by rank 0 for every rank.
public struct RankStreams: Codable, Equatable {
    public var objectiveRandom: RandomState
    public var dropoutRandom: RandomState

    enum CodingKeys: String, CodingKey {
        case objectiveRandom = "objective_random", dropoutRandom = "dropout_random"
    }
}

extension Trainer {
    /// Seeds of rank `rank`'s own streams: rank 0's are the single process' (so one rank trains as before); the
    /// others' are offset by rank, and by `step` when a run resumes with another world size (so that no rank
    /// replays the masks of the run's start).
    static func rankSeed(_ base: UInt64, _ stream: Stream, rank: Int, step: Int = 0) -> UInt64 {
        guard rank > 0 || step > 0 else { return seed(base, stream) }
        return seed(base &+ UInt64(rank) &* 0xD1B5_4A32_D192_ED03 &+ UInt64(step) &* 0x8CB9_2BA7_2F3D_8DD7, stream)
    }
}
