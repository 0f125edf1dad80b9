import Tensors
import TestSupport
import XCTest

/// `FrozenWeights`: inside a scope, a frozen weight's transposed fp32 copy and its bf16 operand are made once and
/// reused, give the same products as fresh copies, and are dropped when the scope ends; other tensors are never
/// cached.
final class FrozenWeightsTests: XCTestCase {
    /// The machine's backend, asking `linear` for a transposed weight at every size.
    private final class TransposingBackend: MatmulBackend {
        let base: MatmulBackend
        init(_ base: MatmulBackend) { self.base = base }
        var name: String { base.name }
        var isa: String { base.isa }
        func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
                  b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
            base.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                      beta: beta, c: c, ldc: ldc)
        }
        func batchedGemm(transA: Bool, transB: Bool, batch: Int, m: Int, n: Int, k: Int, alpha: Float,
                         a: UnsafePointer<Float>, lda: Int, strideA: Int, b: UnsafePointer<Float>, ldb: Int,
                         strideB: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, strideC: Int) {
            base.batchedGemm(transA: transA, transB: transB, batch: batch, m: m, n: n, k: k, alpha: alpha, a: a,
                             lda: lda, strideA: strideA, b: b, ldb: ldb, strideB: strideB, beta: beta, c: c, ldc: ldc,
                             strideC: strideC)
        }
        func prefersTransposedWeight(rows: Int, inputs: Int, outputs: Int) -> Bool { true }
    }

    override func tearDown() { Matmul.setPrecision(.fp32) }

    func testFrozenTransposedWeightIsCopiedOnceAndGivesTheSameProducts() {
        let machine = Matmul.backend
        Matmul.use(TransposingBackend(machine))
        defer { Matmul.use(machine) }
        var generator = RandomGenerator(seed: 21)
        let weight = Tensor.normal([40, 24], generator: &generator, requiresGrad: true)
        let other = Tensor.normal([40, 24], generator: &generator, requiresGrad: true)
        let bias = Tensor.normal([40], generator: &generator, requiresGrad: true)
        let (x1, x2) = (Tensor.normal([3, 7, 24], generator: &generator), Tensor.normal([5, 24], generator: &generator))
        let fresh = noGrad { [linear(x1, weight: weight, bias: bias), linear(x2, weight: weight), linear(x2, weight: other)] }
        let frozen = FrozenWeights.during([weight, bias]) {
            noGrad {
                let products = [linear(x1, weight: weight, bias: bias), linear(x2, weight: weight)]
                XCTAssertEqual(FrozenWeights.cachedCopies, 1, "one transposed copy of the frozen weight for both products")
                let unfrozen = linear(x2, weight: other)
                XCTAssertEqual(FrozenWeights.cachedCopies, 1, "a weight not frozen is copied per product, not cached")
                return products + [unfrozen]
            }
        }
        XCTAssertEqual(FrozenWeights.cachedCopies, 0, "the copies are dropped with the scope")
        for (a, b) in zip(frozen, fresh) { XCTAssertEqual(a.scalars, b.scalars) }
    }

    /// Nested scopes share the outer one's copies and keep them until the outer one ends.
    func testNestedScopesKeepCopiesUntilTheOuterScopeEnds() {
        let machine = Matmul.backend
        Matmul.use(TransposingBackend(machine))
        defer { Matmul.use(machine) }
        var generator = RandomGenerator(seed: 22)
        let weight = Tensor.normal([8, 8], generator: &generator)
        let x = Tensor.normal([2, 8], generator: &generator)
        FrozenWeights.during([weight]) {
            FrozenWeights.during([weight]) { _ = linear(x, weight: weight) }
            XCTAssertEqual(FrozenWeights.cachedCopies, 1)
            _ = linear(x, weight: weight)
            XCTAssertEqual(FrozenWeights.cachedCopies, 1)
        }
        XCTAssertEqual(FrozenWeights.cachedCopies, 0)
    }

    /// Transposed copies past `transposedBudget` are made per product and not kept; the products stay the same.
    func testTransposedCopiesPastTheBudgetAreNotKept() {
        let machine = Matmul.backend, budget = FrozenWeights.transposedBudget
        Matmul.use(TransposingBackend(machine))
        defer { Matmul.use(machine); FrozenWeights.transposedBudget = budget }
        var generator = RandomGenerator(seed: 24)
        let first = Tensor.normal([16, 8], generator: &generator), second = Tensor.normal([16, 8], generator: &generator)
        let x = Tensor.normal([3, 8], generator: &generator)
        let fresh = [linear(x, weight: first), linear(x, weight: second)]
        FrozenWeights.transposedBudget = 16 * 8 * 4 + 4                          // room for one copy, not two
        let frozen = FrozenWeights.during([first, second]) {
            let products = [linear(x, weight: first), linear(x, weight: second), linear(x, weight: second)]
            XCTAssertEqual(FrozenWeights.cachedCopies, 1, "the first weight's copy fits the budget, the second's does not")
            return products
        }
        XCTAssertEqual(FrozenWeights.cachedCopies, 0)
        for (a, b) in zip(frozen, fresh + [fresh[1]]) { XCTAssertEqual(a.scalars, b.scalars) }
        // The budget is counted per scope: a new scope keeps a copy again.
        FrozenWeights.during([second]) {
            _ = linear(x, weight: second)
            XCTAssertEqual(FrozenWeights.cachedCopies, 1)
        }
    }

    /// Native bf16: the weight is converted once for linear, the fused activation + linear and the output projection
    /// + cross-entropy, and each gives bit for bit what it gives with a fresh conversion.
    func testFrozenBFloat16OperandIsConvertedOnceAndGivesTheSameProducts() throws {
        guard Matmul.setPrecision(.bf16).precision == .bf16 else { throw XCTSkip("no AVX512-BF16 or AMX on this CPU") }
        var generator = RandomGenerator(seed: 23)
        let weight = Tensor.normal([32, 16], generator: &generator, requiresGrad: true)
        let square = Tensor.normal([16, 16], generator: &generator, requiresGrad: true)
        let x = Tensor.normal([2, 9, 16], generator: &generator)
        let targets = IntTensor((0..<18).map { Int32($0 % 32) }, shape: [2, 9])
        func products() -> [Tensor] {
            noGrad {
                [linear(x, weight: weight), activationLinear(.geluErf, x, weight: square),
                 linearCrossEntropy(x, weight: weight, targets: targets)]
            }
        }
        let fresh = products()
        let frozen = FrozenWeights.during([weight, square]) {
            let result = products()
            XCTAssertEqual(FrozenWeights.cachedCopies, 2, "one bf16 copy per frozen weight")
            return result
        }
        XCTAssertEqual(FrozenWeights.cachedCopies, 0)
        for (a, b) in zip(frozen, fresh) { XCTAssertEqual(a.scalars, b.scalars) }
    }
}
