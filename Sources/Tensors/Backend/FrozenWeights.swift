/// Operand copies of weights that do not change for a while (inference), made once and reused.
///
/// A product in native bf16 converts its weight to bf16, and fp32 `linear` copies a weight transposed when the
/// backend multiplies faster that way (`prefersTransposedWeight`). In training each product must make its copy,
/// because the optimiser changes the weights between steps; in generation the same weights are read once per token,
/// and converting them every time costs more than the product at batch 1. Inside `FrozenWeights.during(_:)` the
/// copies of the weights named there are made the first time a product reads them and reused by every later product
/// until the outermost scope ends. The caller promises that those weights do not change inside the scope.
/// Other tensors (activations) never hit the cache, whatever their address.
public enum FrozenWeights {
    private struct Key: Hashable {
        let address: Int
        let shape: [Int]
    }

    nonisolated(unsafe) private static var depth = 0
    /// The frozen weights' storage, held so that no other tensor can take its address inside the scope.
    nonisolated(unsafe) private static var frozen: [ObjectIdentifier: Storage] = [:]
    nonisolated(unsafe) private static var bfloat16: [Key: BFloat16Copy] = [:]
    nonisolated(unsafe) private static var transposed: [Key: Tensor] = [:]
    nonisolated(unsafe) private static var transposedBytes = 0

    /// Bytes of transposed fp32 copies a scope keeps at most. Past it a product makes its copy for itself, as in
    /// training: the transposition pays off within one product of many rows (the backend asks for it at ≥ 512), so
    /// evaluating a large fp32 model need not hold a second copy of most of its weights. bf16 copies are always kept
    /// (half the weights' size; generation reads them for one row at a time, where converting per product is slow).
    nonisolated(unsafe) public static var transposedBudget = 256 << 20

    /// Runs `body` with the copies of `weights` cached; nested scopes add their weights to the outer one's.
    public static func during<R>(_ weights: [Tensor], _ body: () throws -> R) rethrows -> R {
        depth += 1
        for weight in weights { frozen[ObjectIdentifier(weight.storage)] = weight.storage }
        defer {
            depth -= 1
            if depth == 0 { (frozen, bfloat16, transposed, transposedBytes) = ([:], [:], [:], 0) }
        }
        return try body()
    }

    /// Copies made in the scopes open now.
    public static var cachedCopies: Int { bfloat16.count + transposed.count }

    private static func key(_ weight: Tensor) -> Key? {
        guard depth > 0, frozen[ObjectIdentifier(weight.storage)] != nil else { return nil }
        return Key(address: Int(bitPattern: weight.data), shape: weight.shape)
    }

    /// weight (any shape) → its values in bf16, from the cache inside a scope that froze it.
    static func bfloat16Copy(of weight: Tensor) -> BFloat16Copy {
        guard let key = key(weight) else { return BFloat16Copy(weight.data, count: weight.count) }
        if let copy = bfloat16[key] { return copy }
        let copy = BFloat16Copy(weight.data, count: weight.count)
        bfloat16[key] = copy
        return copy
    }

    /// weight (Out, In) → Wᵀ (In, Out), contiguous, from the cache inside a scope that froze it.
    static func transposedCopy(of weight: Tensor) -> Tensor {
        let (outputs, inputs) = (weight.size(0), weight.size(1))
        let key = key(weight)
        if let key, let copy = transposed[key] { return copy }
        let copy = Tensor(uninitialized: [inputs, outputs])
        gatherStrided(weight.data, strides: [1, inputs], shape: [inputs, outputs], into: copy.data, accumulate: false)
        let bytes = copy.count * MemoryLayout<Float>.stride
        if let key, transposedBytes + bytes <= transposedBudget {
            transposed[key] = copy
            transposedBytes += bytes
        }
        return copy
    }
}
