import Foundation
import Optimizers

/// The two areas under a learning-rate schedule that the annealing scaling law reads (Tissue et al., 2024,
/// "Scaling law with learning rate annealing", eq. 1):
///
/// - S1(s) = Σ_{i≤s} η_i, the forward area: how far the weights have travelled;
/// - S2(s) = Σ_{i≤s} m_i with m_i = λ·m_{i−1} + (η_{i−1} − η_i), the annealing area: how much the rate has come
///   down, with a momentum λ so that the loss reacts to a decay with a delay.
///
/// Only decreases count in m (a warmup or a rewarm adds nothing), so S2 is 0 until the schedule first decays.
public struct LearningRateAreas {
    /// forward[s], annealing[s]: after s updates (s = 0 … steps).
    public let forward: [Double]
    public let annealing: [Double]
    public static let defaultMomentum = 0.999

    /// `learningRates[i]`: the rate of update i (0-based), i.e. of the update that ends at step i + 1.
    public init(learningRates: [Double], momentum: Double = defaultMomentum) {
        var forward = [0.0], annealing = [0.0]
        var m = 0.0
        for (i, rate) in learningRates.enumerated() {
            let decrease = i > 0 ? max(0, learningRates[i - 1] - rate) : 0
            m = momentum * m + decrease
            forward.append(forward[i] + rate)
            annealing.append(annealing[i] + m)
        }
        self.forward = forward
        self.annealing = annealing
    }

    /// The areas of `schedule` over its first `steps` updates.
    public init(schedule: LearningRateSchedule, steps: Int, momentum: Double = defaultMomentum) {
        self.init(learningRates: (0..<max(0, steps)).map { Double(schedule.learningRate(at: $0)) }, momentum: momentum)
    }

    /// The last step the areas reach.
    public var steps: Int { forward.count - 1 }
}
