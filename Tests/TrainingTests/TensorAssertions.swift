import Tensors
import XCTest

/// |actual − expected| ≤ atol + rtol·|expected| elementwise (a NaN on either side fails), with the worst element in
/// the failure message. The fixture tests of this target share it.
func assertClose(_ actual: Tensor, _ expected: Tensor, atol: Float, rtol: Float, _ what: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.shape, expected.shape, "\(what): shape", file: file, line: line)
    guard actual.shape == expected.shape else { return }
    var worst: Float = 0, worstIndex = 0
    for i in 0..<actual.count {
        let excess = abs(actual.data[i] - expected.data[i]) - (atol + rtol * abs(expected.data[i]))
        if excess > worst { worst = excess; worstIndex = i }
    }
    XCTAssertFalse(worst > 0 || actual.scalars.contains { $0.isNaN } || expected.scalars.contains { $0.isNaN },
                   "\(what): element \(worstIndex) is \(actual.data[worstIndex]), expected \(expected.data[worstIndex])",
                   file: file, line: line)
}
