import Foundation

/// The saturating shapes a loss curve is fitted with, L as a function of the step t.
public enum LearningCurveModel: String, CaseIterable, Codable {
    /// L(t) = a + b·t^(−c): a power law with an offset (a: the loss it saturates at).
    case powerLaw = "power_law"
    /// L(t) = a + b·exp(−c·t).
    case exponential
    /// L(t) = a + b·S1(t)^(−c): a power law in the learning-rate area S1 (the sum of the rates so far) instead of
    /// the step, so that a decaying rate slows the descent; the annealing law without its bonus term.
    case areaPowerLaw = "area_power_law"
    /// L(t) = a + b·S1(t)^(−c) − d·S2(t), the scaling law with learning-rate annealing (Tissue et al., 2024, eq. 1):
    /// a power law in the learning-rate area S1 instead of the step, minus a bonus for the annealing area S2
    /// (`LearningRateAreas`). Needs the schedule, which the recipe fixes in advance.
    case annealing

    /// Coefficients fitted: a, b, c (and d).
    var parameterCount: Int { self == .annealing ? 4 : 3 }

    /// True for the models of the learning-rate areas, which need the schedule.
    public var readsSchedule: Bool { self == .areaPowerLaw || self == .annealing }
}

/// One model fitted to a curve. t (or S1) is divided by `scale` (its value at the last fitted step) before the
/// power or the exponential, so that c reads the same whatever the run length.
public struct LearningCurveFit {
    public let model: LearningCurveModel
    public let a: Double, b: Double, c: Double
    /// The annealing bonus (annealing model only; 0 otherwise).
    public let d: Double
    public let scale: Double
    /// Root mean square of the residuals on the fitted points.
    public let rmsResidual: Double
    public let pointCount: Int
    let areas: LearningRateAreas?

    /// The model's loss after `step` updates. Annealing fits reach only as far as their areas (the schedule).
    public func loss(atStep step: Int) -> Double {
        let terms = CurveTerms(model: model, areas: areas, c: c, scale: scale)
        return a + b * terms.decay(step) - d * terms.bonus(step)
    }

    /// True when the fitted curve still comes down (b > 0 or an annealing bonus).
    public var isDecreasing: Bool { b > 0 || d > 0 }
}

/// The shape of the annealing law measured on a finished run of the same model: the exponent c (of S1 scaled to 1
/// at the last fitted step, so it carries across run lengths) and the loss bought per unit of annealing area S2.
/// From 30 % of a cosine run neither is identified (the rate has hardly come down); the level a, b is fitted anew.
public struct LearningCurvePrior: Equatable {
    public let exponent: Double
    public let bonusPerArea: Double

    public init(exponent: Double, bonusPerArea: Double) {
        self.exponent = exponent
        self.bonusPerArea = bonusPerArea
    }
}

/// The step-dependent columns of a model for a given c: L = a + b·decay(t) − d·bonus(t).
struct CurveTerms {
    let model: LearningCurveModel
    let areas: LearningRateAreas?
    let c: Double
    let scale: Double

    func decay(_ step: Int) -> Double {
        switch model {
        case .powerLaw: return pow(max(Double(step), 1) / scale, -c)
        case .exponential: return exp(-c * Double(step) / scale)
        case .areaPowerLaw, .annealing: return pow(max(area(\.forward, step), 1e-12) / scale, -c)
        }
    }

    func bonus(_ step: Int) -> Double {
        model == .annealing ? area(\.annealing, step) / scale : 0
    }

    /// The area at `step`, held at its last value past the schedule's end.
    private func area(_ path: KeyPath<LearningRateAreas, [Double]>, _ step: Int) -> Double {
        guard let values = areas?[keyPath: path], !values.isEmpty else { return 0 }
        return values[min(max(step, 0), values.count - 1)]
    }
}

/// Non-linear least squares by variable projection: for a fixed c the model is linear in a, b (and d), solved in
/// closed form with b, d ≥ 0; c is found by a log-spaced grid over its plausible range, then golden-section search
/// between the best grid point's neighbours. One-dimensional, so it cannot get lost the way a joint Gauss–Newton
/// on (a, b, c) can from a poor start.
enum LearningCurveFitter {
    /// The range c is searched in (t scaled to 1 at the last point): exponents for the power laws, rates for the
    /// exponential.
    static func cRange(_ model: LearningCurveModel) -> ClosedRange<Double> {
        model == .exponential ? 0.05...80 : 0.005...6
    }

    /// `prior` (annealing model only): the law's shape, c and the bonus per unit of annealing area, carried from a
    /// finished run (`RunLearningCurve.annealingPrior`); only the level, a and b, is fitted then.
    static func fit(_ model: LearningCurveModel, steps: [Int], losses: [Double], areas: LearningRateAreas?,
                    prior: LearningCurvePrior? = nil) -> LearningCurveFit? {
        let prior = model == .annealing ? prior : nil
        let fittedCount = prior == nil ? model.parameterCount : 2
        guard let last = steps.max(), last > 0, steps.count >= fittedCount + 1 else { return nil }
        if model.readsSchedule {
            guard let areas, areas.steps >= last, areas.forward[last] > 0 else { return nil }
        }
        let scale = model.readsSchedule ? areas!.forward[last] : Double(last)
        func solve(_ c: Double) -> (coefficients: [Double], sse: Double)? {
            let terms = CurveTerms(model: model, areas: areas, c: c, scale: scale)
            var columns = [steps.map { _ in 1.0 }, steps.map(terms.decay)]
            if let prior {   // L + D·S2 = a + b·S1^(−c): the known bonus moved to the left-hand side
                let target = zip(steps, losses).map { $1 + prior.bonusPerArea * scale * terms.bonus($0) }
                return nonNegativeLeastSquares(columns: columns, target: target)
                    .map { ($0.coefficients + [prior.bonusPerArea * scale], $0.sse) }
            }
            if model == .annealing { columns.append(steps.map { -terms.bonus($0) }) }
            return nonNegativeLeastSquares(columns: columns, target: losses)
        }
        func fitted(_ c: Double) -> LearningCurveFit? {
            guard let solution = solve(c) else { return nil }
            let k = solution.coefficients
            return LearningCurveFit(model: model, a: k[0], b: k[1], c: c, d: k.count > 2 ? k[2] : 0, scale: scale,
                                    rmsResidual: sqrt(solution.sse / Double(steps.count)), pointCount: steps.count,
                                    areas: model.readsSchedule ? areas : nil)
        }
        if let prior { return fitted(prior.exponent) }
        let range = cRange(model)
        let logLow = log(range.lowerBound), logHigh = log(range.upperBound)
        let gridCount = 48
        let grid = (0..<gridCount).map { logLow + (logHigh - logLow) * Double($0) / Double(gridCount - 1) }
        let scores = grid.map { solve(exp($0))?.sse ?? .infinity }
        guard let best = scores.indices.min(by: { scores[$0] < scores[$1] }), scores[best].isFinite else { return nil }
        var low = grid[max(0, best - 1)], high = grid[min(gridCount - 1, best + 1)]
        let ratio = (sqrt(5.0) - 1) / 2
        for _ in 0..<40 {
            let x1 = high - ratio * (high - low), x2 = low + ratio * (high - low)
            if (solve(exp(x1))?.sse ?? .infinity) < (solve(exp(x2))?.sse ?? .infinity) { high = x2 } else { low = x1 }
        }
        return fitted(exp((low + high) / 2))
    }

    /// Least squares of `target` on `columns`, the first (the intercept) free and the others ≥ 0: the best of every
    /// subset of columns whose unconstrained solution is feasible (few columns, so enumerating is exact and cheap).
    static func nonNegativeLeastSquares(columns: [[Double]], target: [Double]) -> (coefficients: [Double], sse: Double)? {
        var best: (coefficients: [Double], sse: Double)?
        for mask in 0..<(1 << (columns.count - 1)) {
            let chosen = [0] + (1..<columns.count).filter { mask & (1 << ($0 - 1)) != 0 }
            guard let solution = leastSquares(chosen.map { columns[$0] }, target),
                  solution.dropFirst().allSatisfy({ $0 >= 0 }) else { continue }
            var coefficients = [Double](repeating: 0, count: columns.count)
            for (index, column) in chosen.enumerated() { coefficients[column] = solution[index] }
            var sse = 0.0
            for row in target.indices {
                let fitted = columns.indices.reduce(0.0) { $0 + coefficients[$1] * columns[$1][row] }
                sse += (target[row] - fitted) * (target[row] - fitted)
            }
            if sse < best?.sse ?? .infinity { best = (coefficients, sse) }
        }
        return best
    }

    /// Ordinary least squares through the normal equations (at most three columns), nil when they are singular.
    static func leastSquares(_ columns: [[Double]], _ target: [Double]) -> [Double]? {
        let n = columns.count
        var matrix = (0..<n).map { i in (0..<n).map { j in zip(columns[i], columns[j]).reduce(0) { $0 + $1.0 * $1.1 } } }
        var rhs = (0..<n).map { i in zip(columns[i], target).reduce(0) { $0 + $1.0 * $1.1 } }
        let size = matrix.map { $0.map(abs).max() ?? 0 }.max() ?? 0
        for pivot in 0..<n {   // Gaussian elimination with partial pivoting
            guard let row = (pivot..<n).max(by: { abs(matrix[$0][pivot]) < abs(matrix[$1][pivot]) }),
                  abs(matrix[row][pivot]) > 1e-12 * max(size, 1e-300) else { return nil }
            matrix.swapAt(pivot, row)
            rhs.swapAt(pivot, row)
            for other in (pivot + 1)..<n {
                let factor = matrix[other][pivot] / matrix[pivot][pivot]
                for column in pivot..<n { matrix[other][column] -= factor * matrix[pivot][column] }
                rhs[other] -= factor * rhs[pivot]
            }
        }
        var solution = [Double](repeating: 0, count: n)
        for row in stride(from: n - 1, through: 0, by: -1) {
            let known = ((row + 1)..<n).reduce(0.0) { $0 + matrix[row][$1] * solution[$1] }
            solution[row] = (rhs[row] - known) / matrix[row][row]
        }
        return solution
    }
}
