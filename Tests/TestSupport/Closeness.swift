import Tensors
import XCTest

// One elementwise comparison for every test target. The rule is numpy's allclose,
// |actual − expected| ≤ atol + rtol·|expected|, made strict about non-finite values: a NaN on either side never
// matches (a NaN in a result or a fixture is a bug), and an infinity matches only the same infinity. Without that
// rule `abs(a − e)` is NaN for these elements and every `>` comparison with it is false, so they would pass.

/// Why `actual` is not close to `expected` elementwise, or nil when it is (see the file comment for the rule).
/// The message names the worst element (or the first non-finite mismatch), how many elements fail, and the
/// tolerances.
public func closeness(_ actual: [Float], _ expected: [Float], atol: Float, rtol: Float) -> String? {
    guard actual.count == expected.count else { return "\(actual.count) values, expected \(expected.count)" }
    var failing = 0
    var firstNonFinite: Int?
    var worst: Float = 0, worstIndex = 0
    for i in actual.indices {
        let a = actual[i], e = expected[i]
        if !a.isFinite || !e.isFinite {
            // Only the same infinity on both sides matches; NaN == NaN is false, so any NaN fails here.
            if a != e {
                failing += 1
                if firstNonFinite == nil { firstNonFinite = i }
            }
            continue
        }
        let excess = abs(a - e) - (atol + rtol * abs(e))
        if excess > 0 {
            failing += 1
            if excess > worst { worst = excess; worstIndex = i }
        }
    }
    guard failing > 0 else { return nil }
    let index = firstNonFinite ?? worstIndex
    return "element \(index) is \(actual[index]), expected \(expected[index]) "
        + "(\(failing) of \(actual.count) elements out of tolerance; atol \(atol), rtol \(rtol))"
}

/// Why `actual` is not close to `expected`: a shape mismatch, or the elementwise failure of
/// `closeness(_:_:atol:rtol:)` on their scalars. Nil when they are close.
public func closeness(_ actual: Tensor, _ expected: Tensor, atol: Float, rtol: Float) -> String? {
    guard actual.shape == expected.shape else { return "shape \(actual.shape), expected \(expected.shape)" }
    return closeness(actual.scalars, expected.scalars, atol: atol, rtol: rtol)
}

/// Fails the test unless the shapes match and |actual − expected| ≤ atol + rtol·|expected| elementwise, with
/// NaN never matching and an infinity matching only itself. `what` names the comparison in the failure message.
public func assertClose(_ actual: Tensor, _ expected: Tensor, atol: Float, rtol: Float, _ what: String,
                        file: StaticString = #filePath, line: UInt = #line) {
    if let failure = closeness(actual, expected, atol: atol, rtol: rtol) {
        XCTFail("\(what): \(failure)", file: file, line: line)
    }
}

/// `assertClose` for plain arrays: the counts must match, then the same elementwise rule.
public func assertClose(_ actual: [Float], _ expected: [Float], atol: Float, rtol: Float, _ what: String,
                        file: StaticString = #filePath, line: UInt = #line) {
    if let failure = closeness(actual, expected, atol: atol, rtol: rtol) {
        XCTFail("\(what): \(failure)", file: file, line: line)
    }
}
