/// Cholesky factorisation and solves of symmetric positive-definite systems in Double: the mel filters' least-squares
/// inverse, and least-squares fits elsewhere (the unit-to-mel decoder).
public enum Cholesky {
    /// The lower-triangular factor L (row-major) of a symmetric positive-definite (size, size) matrix A = L Lᵀ; nil
    /// when A is not positive definite.
    public static func factor(_ a: [Double], size n: Int) -> [Double]? {
        precondition(a.count == n * n, "a (\(n), \(n)) matrix has \(n * n) entries, got \(a.count)")
        var l = [Double](repeating: 0, count: n * n)
        let positive = l.withUnsafeMutableBufferPointer { l -> Bool in
            for i in 0..<n {
                for j in 0...i {
                    var sum = a[i * n + j]
                    for k in 0..<j { sum -= l[i * n + k] * l[j * n + k] }
                    if i == j {
                        guard sum > 0 else { return false }
                        l[i * n + i] = sum.squareRoot()
                    } else {
                        l[i * n + j] = sum / l[j * n + j]
                    }
                }
            }
            return true
        }
        return positive ? l : nil
    }

    /// X with L Lᵀ X = B, for B (size, columns) row-major: forward then backward substitution.
    public static func solve(factor l: [Double], size n: Int, _ b: [Double], columns: Int) -> [Double] {
        precondition(b.count == n * columns, "the right-hand side must be (\(n), \(columns))")
        var x = b
        x.withUnsafeMutableBufferPointer { x in
            for c in 0..<columns {
                for i in 0..<n {                         // L y = b
                    var sum = x[i * columns + c]
                    for k in 0..<i { sum -= l[i * n + k] * x[k * columns + c] }
                    x[i * columns + c] = sum / l[i * n + i]
                }
                for i in stride(from: n - 1, through: 0, by: -1) {   // Lᵀ x = y
                    var sum = x[i * columns + c]
                    for k in (i + 1)..<n { sum -= l[k * n + i] * x[k * columns + c] }
                    x[i * columns + c] = sum / l[i * n + i]
                }
            }
        }
        return x
    }
}
