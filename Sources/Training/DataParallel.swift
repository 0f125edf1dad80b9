import Distributed
import Foundation
import Layers
import Optimizers
import Tensors

/// Averages the trainable parameters' gradients over the ranks of a data-parallel job after the last micro-batch
/// (earlier micro-batches only accumulate: DDP's `no_sync`). The parameters are grouped into buckets of about
/// `bucketBytes` in reverse order of definition (about the order backward completes them, as DDP). With
/// `backwardAndAverage` each bucket's all-reduce starts as soon as backward has run the first op that read its
/// parameters (`Autograd.watchFirstUses`), so communication overlaps the rest of backward; a bucket whose gradients
/// changed after it was sent (an op that did not report an input) is reduced again, and the step stays exact.
/// A parameter without a gradient on every rank keeps none (as one process would leave it).
public final class GradientAverager {
    let communicator: Communicator
    let parameters: [Tensor]
    /// Parameter indices per bucket, in launch order.
    let buckets: [[Int]]
    private let buffers: [UnsafeMutableBufferPointer<Float>]
    /// Per parameter: 1 where this rank has a gradient; then per bucket: 1 where its gradients changed after it
    /// was sent; summed over the ranks in one small all-reduce, so that every rank takes the same decisions.
    private var control: UnsafeMutableBufferPointer<Float>
    /// What the last step's communication cost: seconds the step waited for it after backward (the exposed part),
    /// seconds from the first bucket sent to the last one reduced, and the fraction of gradient bytes sent before
    /// backward ended.
    public private(set) var lastExposedSeconds = 0.0
    public private(set) var lastCommunicationSeconds = 0.0
    public private(set) var lastOverlappedFraction = 0.0
    /// Buckets reduced again because a gradient changed after it was sent (0 when readiness is right).
    public private(set) var repairedBuckets = 0

    public init(parameters: [Tensor], communicator: Communicator, bucketBytes: Int = 25 << 20) {
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
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, bucket.reduce(0) { $0 + parameters[$1].count }))
            buffer.initialize(repeating: 0)
            return buffer
        }
        control = .allocate(capacity: parameters.count + buckets.count)
        control.initialize(repeating: 0)
    }

    deinit {
        buffers.forEach { $0.deallocate() }
        control.deallocate()
    }

    /// Called before the last micro-batch's forward pass: records where each parameter is first read.
    public func watch() { Autograd.watchFirstUses(parameters) }

    /// Every trainable parameter's gradient becomes the mean over the ranks (after backward: no overlap).
    public func average() throws {
        try reduce(backward: nil)
    }

    /// The last micro-batch's backward with each bucket sent when complete, then the mean (`watch()` came first).
    public func backwardAndAverage(_ loss: Tensor, seed: Tensor?) throws {
        try reduce(backward: (loss, seed))
    }

    private func reduce(backward: (loss: Tensor, seed: Tensor?)?) throws {
        let start = DispatchTime.now().uptimeNanoseconds
        let slots = parameters.map(\.watchSlot)
        // Bucket b is complete once backward has run entry complete[b] (Int.max: at once; -1: at the end).
        let complete = buckets.map { bucket in
            backward == nil ? -1 : bucket.map { slots[$0] >= 0 ? Autograd.firstUse(slot: slots[$0]) : -1 }.min() ?? .max
        }
        var pending: [PendingReduction] = [], signatures: [UInt64] = [], next = 0, failure: Error?
        var sentDuringBackward = 0, firstSent: UInt64?
        func send(through index: Int) {
            while failure == nil && next < buckets.count && complete[next] >= index {
                signatures.append(pack(next))
                do { pending.append(try communicator.startAllReduceSum(buffers[next])) } catch { failure = error }
                firstSent = firstSent ?? DispatchTime.now().uptimeNanoseconds
                if index > 0 { sentDuringBackward += buffers[next].count }   // entries still to run
                next += 1
            }
            for reduction in pending { _ = try? reduction.test() }   // progress for the ones in flight
        }
        if let backward {
            send(through: Autograd.pendingOps)
            Autograd.backward(backward.loss, seed: backward.seed) { send(through: $0) }
        } else {
            send(through: -1)
        }
        let backwardEnd = DispatchTime.now().uptimeNanoseconds
        if let failure { throw failure }
        for reduction in pending { try reduction.wait() }
        for (index, parameter) in parameters.enumerated() { control[index] = parameter.grad == nil ? 0 : 1 }
        for bucket in buckets.indices {
            control[parameters.count + bucket] = backward != nil && signature(of: bucket) != signatures[bucket] ? 1 : 0
        }
        try communicator.allReduceSum(control)
        let scale = 1 / Float(communicator.size)
        for bucket in buckets.indices {
            if control[parameters.count + bucket] > 0 {   // on some rank a gradient changed after it was sent
                repairedBuckets += 1
                _ = pack(bucket)
                try communicator.allReduceSum(buffers[bucket])
            }
            unpack(bucket, scale: scale)
        }
        let end = DispatchTime.now().uptimeNanoseconds
        lastExposedSeconds = Double(end - (backward == nil ? start : backwardEnd)) / 1e9
        lastCommunicationSeconds = Double(end - (firstSent ?? end)) / 1e9
        let total = buffers.reduce(0) { $0 + $1.count }
        lastOverlappedFraction = total > 0 ? Double(sentDuringBackward) / Double(total) : 0
    }

    /// Copies bucket `bucket`'s gradients (zeros where none) into its buffer; returns their signature.
    private func pack(_ bucket: Int) -> UInt64 {
        packGradients(buckets[bucket].map { parameters[$0] }, into: buffers[bucket].baseAddress!)
        return Self.signature(UnsafeBufferPointer(buffers[bucket]))
    }

    /// The signature the bucket's gradients have now (compared with the one packed).
    private func signature(of bucket: Int) -> UInt64 {
        var total: UInt64 = 0
        for index in buckets[bucket] {
            let parameter = parameters[index]
            guard let grad = parameter.grad else { continue }   // zeros add nothing
            total &+= Self.signature(UnsafeBufferPointer(start: grad.data, count: parameter.count))
        }
        return total
    }

    /// The wrapping sum of the values' bit patterns (changes when any value does, but for a vanishing chance).
    private static func signature(_ values: UnsafeBufferPointer<Float>) -> UInt64 {
        var total: UInt64 = 0
        values.withMemoryRebound(to: UInt32.self) { bits in
            for value in bits { total &+= UInt64(value) }
        }
        return total
    }

    private func unpack(_ bucket: Int, scale: Float) {
        let buffer = buffers[bucket]
        var offset = 0
        for index in buckets[bucket] {
            let parameter = parameters[index]
            defer { offset += parameter.count }
            guard control[index] > 0 else { continue }
            let grad = parameter.gradData()
            let source = buffer.baseAddress! + offset
            for i in 0..<parameter.count { grad[i] = source[i] * scale }
        }
    }
}

/// Copies the tensors' gradients one after another to `destination` (zeros for a tensor without one): the flat
/// buffer a collective sends.
func packGradients(_ tensors: [Tensor], into destination: UnsafeMutablePointer<Float>) {
    var offset = 0
    for tensor in tensors {
        if let grad = tensor.grad {
            (destination + offset).update(from: grad.data, count: tensor.count)
        } else {
            (destination + offset).update(repeating: 0, count: tensor.count)
        }
        offset += tensor.count
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
