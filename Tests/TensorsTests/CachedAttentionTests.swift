import Tensors
import TestSupport
import XCTest

/// `cachedCausalAttention`: a few queries over the first positions of key and value buffers with room to spare give
/// what the fused causal kernel gives over a contiguous copy of those positions, and never read past them.
final class CachedAttentionTests: XCTestCase {
    /// (B, H, Tq, keys held, capacity, D, Dv): one query over one key, widths off the vector width, Dv ≠ D, several
    /// queries (the last of the held positions), and a head width of 64 over more keys than a fused tile.
    static let shapes: [(Int, Int, Int, Int, Int, Int, Int)] = [
        (1, 1, 1, 1, 4, 8, 8), (2, 3, 1, 9, 16, 12, 20), (1, 2, 3, 70, 128, 16, 16), (2, 2, 8, 130, 131, 64, 64),
        (1, 1, 2, 2, 2, 5, 3),
    ]

    func testCachedAttentionEqualsTheFusedKernelOverTheHeldPositions() {
        var generator = RandomGenerator(seed: 41)
        for (b, h, tq, held, capacity, d, dv) in Self.shapes {
            let q = Tensor.normal([b, h, tq, d], generator: &generator)
            let keys = Tensor.normal([b, h, capacity, d], generator: &generator)
            let values = Tensor.normal([b, h, capacity, dv], generator: &generator)
            // Positions past those held are NaN: reading any of them would poison the output.
            for pair in 0..<b * h {
                (keys.data + (pair * capacity + held) * d).update(repeating: .nan, count: (capacity - held) * d)
                (values.data + (pair * capacity + held) * dv).update(repeating: .nan, count: (capacity - held) * dv)
            }
            let expected = scaledDotProductAttention(query: q, key: slice(keys, axis: 2, range: 0..<held),
                                                     value: slice(values, axis: 2, range: 0..<held), causal: true)
            let cached = cachedCausalAttention(query: q, keys: keys, values: values, keyLength: held)
            XCTAssertEqual(cached.shape, [b, h, tq, dv])
            assertClose(cached, expected, atol: 1e-5, rtol: 1e-4, "B \(b) H \(h) Tq \(tq) held \(held) of \(capacity)")
            let scaled = cachedCausalAttention(query: q, keys: keys, values: values, keyLength: held, scale: 0.3)
            let scaledExpected = scaledDotProductAttention(query: q, key: slice(keys, axis: 2, range: 0..<held),
                                                           value: slice(values, axis: 2, range: 0..<held), causal: true,
                                                           scale: 0.3)
            assertClose(scaled, scaledExpected, atol: 1e-5, rtol: 1e-4, "scale 0.3, held \(held)")
        }
    }
}
