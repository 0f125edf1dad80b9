import Foundation
import Objectives
import Tensors

/// How `measureFlatness` estimates: Hutchinson draws, power iterations and the finite-difference step.
public struct FlatnessOptions: Equatable {
    /// Rademacher vectors of Hutchinson's trace estimate (at least 2: the interval needs a standard deviation).
    public var samples = 16
    /// Most Hessian-vector products of the power iteration.
    public var iterations = 20
    /// The power iteration stops once its estimate changes by less than this, relative.
    public var tolerance = 1e-3
    /// Seeds the Rademacher vectors (Hutchinson's from `seed`, the power iteration's start from `seed + 1`).
    public var seed: UInt64 = 0
    /// ‖εv‖ / max(‖θ‖, 1) of the central differences (`HessianVectorProduct`).
    public var relativeStep = 1e-3
    /// Seeds the masks of a masking objective, the same at every θ.
    public var maskSeed: UInt64 = 0x5eed

    public init() {}
}

/// Flatness of the pre-training loss at a checkpoint ("Same Pre-training Loss, Better Downstream", Liu et al. 2023:
/// among models of the same minimal pre-training loss, the trace of the loss' Hessian correlates with transfer):
/// the Hessian's trace by Hutchinson's estimator and its dominant eigenvalue by power iteration, both from
/// Hessian-vector products by central differences of gradients, on fixed batches.
public struct FlatnessReport {
    /// L(θ) on the batches: the mean loss per predicted position.
    public let loss: Double
    public let predictedPositions: Int
    public let batches: Int
    /// Scalars in θ (the trainable parameters).
    public let parameters: Int
    public let parameterNorm: Double
    public let options: FlatnessOptions
    public let trace: HutchinsonTrace
    public let topEigenvalue: TopEigenvalue
    public let gradientEvaluations: Int

    public static var method: String { HessianVectorProduct.method }

    /// The report as JSON values (non-finite numbers as null), for `pretrain flatness --json`.
    public var jsonObject: [String: Any] {
        func number(_ value: Double?) -> Any { value.flatMap { $0.isFinite ? $0 : nil } ?? NSNull() }
        return [
            "loss": number(loss), "predicted_tokens": predictedPositions, "batches": batches, "parameters": parameters,
            "parameter_norm": number(parameterNorm), "gradient_evaluations": gradientEvaluations,
            "hessian_vector_product": ["method": Self.method, "relative_step": options.relativeStep,
                                       "epsilon_rademacher": number(options.relativeStep * max(parameterNorm, 1) / Double(parameters).squareRoot())],
            "trace": ["estimator": "Hutchinson, Rademacher vectors", "mean": number(trace.mean),
                      "standard_deviation": number(trace.standardDeviation), "half_width_95": number(trace.halfWidth),
                      "interval_95": [number(trace.lower), number(trace.upper)], "samples": trace.samples.map(number),
                      "seed": options.seed],
            "top_eigenvalue": ["estimator": "power iteration (largest magnitude, sign kept)",
                               "eigenvalue": number(topEigenvalue.eigenvalue),
                               "relative_change": number(topEigenvalue.relativeChange),
                               "iterations": topEigenvalue.iterations, "converged": topEigenvalue.converged,
                               "tolerance": options.tolerance, "seed": options.seed &+ 1],
            "mask_seed": options.maskSeed,
        ]
    }
}

/// Measures the flatness of `objective`'s loss on `batches` (see `FlatnessReport`): `options.samples` Hutchinson draws,
/// then at most `options.iterations` power iterations, two gradient evaluations over every batch each. The
/// parameters are bitwise what they were afterwards; `progress` gets the products done of the most there can be
/// (and, when the power iteration converges early, the products done of themselves).
public func measureFlatness(_ objective: PretrainingObjective, batches: [IntTensor], options: FlatnessOptions,
                            progress: ((_ done: Int, _ total: Int) -> Void)? = nil) -> FlatnessReport {
    precondition(options.samples >= 2 && options.iterations >= 1 && options.tolerance > 0 && options.relativeStep > 0,
                 "invalid flatness options \(options)")
    let loss = FixedBatchLoss(objective: objective, batches: batches, maskSeed: options.maskSeed)
    let hessian = HessianVectorProduct(loss: loss, relativeStep: options.relativeStep)
    let total = options.samples + options.iterations
    let trace = HutchinsonTrace.estimate(dimension: loss.dimension, samples: options.samples, seed: options.seed,
                                         product: hessian.apply) { progress?($0, total) }
    let top = TopEigenvalue.estimate(dimension: loss.dimension, iterations: options.iterations, tolerance: options.tolerance,
                                     seed: options.seed &+ 1, product: hessian.apply) { progress?(options.samples + $0, total) }
    if top.iterations < options.iterations { progress?(options.samples + top.iterations, options.samples + top.iterations) }
    return FlatnessReport(loss: loss.initialValue, predictedPositions: loss.predictedPositions, batches: batches.count,
                          parameters: loss.dimension, parameterNorm: hessian.parameterNorm, options: options, trace: trace,
                          topEigenvalue: top, gradientEvaluations: hessian.gradientEvaluations)
}
