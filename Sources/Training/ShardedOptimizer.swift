import Distributed
import Foundation
import Optimizers
import Tensors

/// ZeRO stage 1 (Rajbhandari et al., 2020) over the ranks of a data-parallel job: the trainable parameters, in the
/// optimiser's order, are split into N contiguous shares of about equal size; rank r keeps AdamW moments for share r
/// only. After backward the gradients are reduce-scattered (rank r receives the sum of its share), averaged and
/// clipped by the global norm; each rank updates its share; the parameters are all-gathered. The traffic is an
/// all-reduce's, the optimiser's memory 1/N of it. A checkpoint holds the whole state, gathered to rank 0.
final class ShardedOptimizer {
    let communicator: Communicator
    /// Every trainable parameter in the optimiser's order (all groups), with its name.
    let parameters: [(name: String, tensor: Tensor)]
    /// The rank that updates each parameter.
    let owners: [Int]
    /// Elements per rank's share.
    let counts: [Int]
    /// This rank's AdamW over its share.
    let optimizer: AdamW
    /// Gradients (then parameters) of every share, in order.
    private let flat: UnsafeMutableBufferPointer<Float>
    /// This rank's share of `flat`.
    private let share: UnsafeMutableBufferPointer<Float>
    private var present: UnsafeMutableBufferPointer<Float>
    /// Seconds of the last reduce-scatter and all-gather together.
    private(set) var lastSeconds = 0.0

    init(groups: [ParameterGroup], communicator: Communicator, learningRate: Float, betas: [Float], epsilon: Float) {
        self.communicator = communicator
        let parameters = groups.flatMap(\.parameters)
        let sizes = parameters.map { $0.tensor.count }
        let owners = Self.owners(sizes: sizes, ranks: communicator.size)
        let rank = communicator.rank
        (self.parameters, self.owners) = (parameters, owners)
        counts = (0..<communicator.size).map { rank in zip(sizes, owners).filter { $0.1 == rank }.reduce(0) { $0 + $1.0 } }
        let mine = Set(parameters.indices.filter { owners[$0] == rank }.map { ObjectIdentifier(parameters[$0].tensor) })
        let owned = groups.map { group in
            ParameterGroup(parameters: group.parameters.filter { mine.contains(ObjectIdentifier($0.tensor)) },
                           weightDecay: group.weightDecay, learningRateScale: group.learningRateScale)
        }
        optimizer = AdamW(groups: owned, learningRate: learningRate, beta1: betas[0], beta2: betas[1], epsilon: epsilon)
        flat = .allocate(capacity: max(1, sizes.reduce(0, +)))
        flat.initialize(repeating: 0)
        share = .allocate(capacity: max(1, counts[rank]))
        share.initialize(repeating: 0)
        present = .allocate(capacity: parameters.count)
        present.initialize(repeating: 0)
    }

    deinit {
        flat.deallocate()
        share.deallocate()
        present.deallocate()
    }

    /// Contiguous shares in order: parameter i goes to the rank whose part of the total holds its middle element.
    static func owners(sizes: [Int], ranks: Int) -> [Int] {
        let total = max(1, sizes.reduce(0, +))
        var start = 0
        return sizes.map { size in
            defer { start += size }
            return min(ranks - 1, (2 * start + size) * ranks / (2 * total))
        }
    }

    /// Reduce-scatters the gradients (a parameter without a gradient on any rank keeps none) and leaves the mean
    /// in this rank's parameters; returns the global gradient norm (before clipping) and clips this share by it.
    func reduceScatterAndClip(maxNorm: Float) throws -> Float {
        let start = DispatchTime.now().uptimeNanoseconds
        defer { lastSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        let tensors = parameters.map(\.tensor)
        for (index, tensor) in tensors.enumerated() { present[index] = tensor.grad == nil ? 0 : 1 }
        packGradients(tensors, into: flat.baseAddress!)
        try communicator.allReduceSum(present)
        try communicator.reduceScatterSum(UnsafeBufferPointer(start: flat.baseAddress, count: counts.reduce(0, +)),
                                          into: UnsafeMutableBufferPointer(start: share.baseAddress, count: counts[communicator.rank]),
                                          counts: counts)
        // The mean into this share's gradients; the global norm from every share's sum of squares.
        let scale = 1 / Float(communicator.size)
        var offset = 0
        let owned = tensors.indices.filter { owners[$0] == communicator.rank }
        for index in owned {
            let tensor = tensors[index]
            defer { offset += tensor.count }
            guard present[index] > 0 else { tensor.grad = nil; continue }
            let grad = tensor.gradData()
            for i in 0..<tensor.count { grad[i] = share[offset + i] * scale }
        }
        let mine = owned.map { tensors[$0] }
        let norm = Float(try communicator.allReduceSum([gradientSquaredNorm(mine)])[0].squareRoot())
        if maxNorm > 0 { clipGradients(mine, maxNorm: maxNorm, norm: norm) }
        return norm
    }

    /// Every rank's updated share to every rank.
    func allGatherParameters() throws {
        let start = DispatchTime.now().uptimeNanoseconds
        defer { lastSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        var offset = 0
        for (index, (_, tensor)) in parameters.enumerated() where owners[index] == communicator.rank {
            (share.baseAddress! + offset).update(from: tensor.data, count: tensor.count)
            offset += tensor.count
        }
        try communicator.allGather(UnsafeBufferPointer(start: share.baseAddress, count: counts[communicator.rank]),
                                   into: UnsafeMutableBufferPointer(start: flat.baseAddress, count: counts.reduce(0, +)),
                                   counts: counts)
        offset = 0
        for (_, tensor) in parameters {
            tensor.data.update(from: flat.baseAddress! + offset, count: tensor.count)
            offset += tensor.count
        }
    }

    /// The whole optimiser state (`AdamW.stateTensors` of an unsharded optimiser) on rank 0, nil elsewhere: each
    /// owner sends its moments.
    func gatherState() throws -> [String: Tensor]? {
        let own = optimizer.stateTensors()
        var result: [String: Tensor] = [:]
        for (index, (name, tensor)) in parameters.enumerated() {
            for kind in ["exp_avg", "exp_avg_sq"] {
                let key = "\(kind).\(name)"
                let buffer = own[key] ?? Tensor(zeros: tensor.shape)
                try communicator.broadcast(UnsafeMutableBufferPointer(start: buffer.data, count: buffer.count), root: owners[index])
                if communicator.rank == 0 { result[key] = buffer }
            }
        }
        return communicator.rank == 0 ? result : nil
    }

    /// Loads rank 0's whole state (`full`, from a checkpoint; nil on the other ranks) into every rank's share.
    func scatterState(_ full: [String: Tensor]?, stepCount: Int) throws {
        var mine: [String: Tensor] = [:]
        for (index, (name, tensor)) in parameters.enumerated() {
            for kind in ["exp_avg", "exp_avg_sq"] {
                let key = "\(kind).\(name)"
                let buffer = communicator.rank == 0 ? (full?[key] ?? Tensor(zeros: tensor.shape)) : Tensor(zeros: tensor.shape)
                try communicator.broadcast(UnsafeMutableBufferPointer(start: buffer.data, count: buffer.count), root: 0)
                if owners[index] == communicator.rank { mine[key] = buffer }
            }
        }
        try optimizer.loadState(mine, stepCount: stepCount)
    }
}
