import Tensors
import TestSupport
import XCTest

/// How far a result is from a PyTorch reference: the largest elementwise |actual − expected|, and that divided by
/// the reference's largest magnitude (a relative error on the tensor's own scale; an elementwise relative error is
/// meaningless for gradients that happen to be near zero).
struct ReferenceDifference {
    var absolute: Float
    var relative: Float

    /// `scaleFloor`: the least scale the relative difference is taken against.
    init(_ actual: [Float], _ expected: [Float], scaleFloor: Float = 0) {
        precondition(actual.count == expected.count, "\(actual.count) values, expected \(expected.count)")
        var worst: Float = 0, scale = scaleFloor
        for (a, e) in zip(actual, expected) {
            worst = max(worst, a.isFinite ? abs(a - e) : .infinity)
            scale = max(scale, abs(e))
        }
        absolute = worst
        relative = scale > 0 ? worst / scale : worst
    }
}

/// Asserts max|actual − expected| ≤ relative · max|expected| (and equal shapes), prints the measured difference with
/// `what` so a run's log records it, and returns it.
@discardableResult
func assertMatchesReference(_ actual: Tensor, _ expected: Tensor, relative: Float, _ what: String,
                            file: StaticString = #filePath, line: UInt = #line) -> ReferenceDifference {
    // A scalar loss is stored as a (1) tensor.
    let sameShape = actual.shape == expected.shape || (actual.count == 1 && expected.count == 1)
    XCTAssertTrue(sameShape, "\(what): shape \(actual.shape), expected \(expected.shape)", file: file, line: line)
    guard sameShape else { return ReferenceDifference(absolute: .infinity, relative: .infinity) }
    let difference = ReferenceDifference(actual.scalars, expected.scalars)
    print(String(format: "reference %@: max abs %.3g, rel %.3g", what, difference.absolute, difference.relative))
    XCTAssertLessThanOrEqual(difference.relative, relative, "\(what): max abs difference \(difference.absolute)",
                             file: file, line: line)
    return difference
}

extension ReferenceDifference {
    init(absolute: Float, relative: Float) {
        self.absolute = absolute
        self.relative = relative
    }

    /// The worse of two differences (for a summary over many tensors).
    func merged(_ other: ReferenceDifference) -> ReferenceDifference {
        ReferenceDifference(absolute: max(absolute, other.absolute), relative: max(relative, other.relative))
    }
}

/// Compares every trainable parameter's gradient with the fixture's `grad.<name>` tensors (the reference trains
/// exactly these) on each tensor's own scale, and returns the worst difference. A gradient that is zero in exact
/// arithmetic (an attention key's bias: softmax ignores a constant added to every score), which the float64
/// reference holds as values below 1e-9 of the model's largest gradient, is rounding noise on both sides; it is
/// checked on the scale of the model's largest gradient instead, and left out of the returned worst difference.
@discardableResult
func assertGradientsMatchReference(_ parameters: [(name: String, tensor: Tensor)], expected: [String: Tensor],
                                   relative: Float, _ what: String,
                                   file: StaticString = #filePath, line: UInt = #line) -> ReferenceDifference {
    let trained = parameters.filter { $0.tensor.requiresGrad }
    XCTAssertEqual(Set(trained.map(\.name)), Set(expected.keys), "\(what): the trained parameters", file: file, line: line)
    let largest = expected.values.map { $0.scalars.map(abs).max() ?? 0 }.max() ?? 0
    var worst = ReferenceDifference(absolute: 0, relative: 0)
    var zero: [String] = []
    for (name, parameter) in trained {
        guard let reference = expected[name] else { continue }
        let actual = (parameter.grad ?? Tensor(zeros: parameter.shape)).scalars
        let isZero = (reference.scalars.map(abs).max() ?? 0) < 1e-9 * largest
        let difference = ReferenceDifference(actual, reference.scalars, scaleFloor: isZero ? largest : 0)
        XCTAssertLessThanOrEqual(difference.relative, relative, "\(what): grad of \(name), max abs \(difference.absolute)",
                                 file: file, line: line)
        if isZero { zero.append(name) } else { worst = worst.merged(difference) }
    }
    print(String(format: "reference %@ gradients (%d tensors): max abs %.3g, rel %.3g; zero in exact arithmetic: %@", what,
                 trained.count, worst.absolute, worst.relative, zero.joined(separator: ", ")))
    return worst
}
