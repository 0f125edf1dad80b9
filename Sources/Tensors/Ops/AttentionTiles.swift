import Foundation

// The tile kernels of the fused attention (Attention.swift): transposition, the tile product and the masked exp.

/// x: (rows, cols), contiguous → xT: (cols, rows), row stride ld ≥ rows.
/// Eight source rows at a time, so that every store runs along a row of xT rather than striding down a column.
func attentionTranspose(_ x: UnsafePointer<Float>, rows: Int, cols: Int, into xT: UnsafeMutablePointer<Float>, ld: Int) {
    for r0 in stride(from: 0, to: rows, by: 8) {
        let r1 = min(r0 + 8, rows)
        for c in 0..<cols {
            let destination = xT + c * ld
            var source = x + r0 * cols + c
            for r in r0..<r1 { destination[r] = source.pointee; source += cols }
        }
    }
}

/// c (m × n, row stride ldc) = alpha · A B, plus c itself when `accumulate`.
/// A (m × k) is read as a[i · aRow + l · aDepth], so a transposed operand costs nothing (aRow = 1, aDepth = its row
/// stride); B (k × n) is row-major with row stride ldb.
///
/// A 4 × 16 block of C stays in eight SIMD8 registers while l runs over k, one fused multiply-add per register a
/// step. For these small tiles (32 or 64 rows by D) it is 3–8% faster than oneDNN's sgemm called per tile (measured
/// at B=16, H=4, T=128 and B=8, H=8, T=256, D=64) and does not depend on which matrix backend is loaded.
func attentionTileProduct(m: Int, n: Int, k: Int, alpha: Float,
                          a: UnsafePointer<Float>, aRow: Int, aDepth: Int,
                          b: UnsafePointer<Float>, ldb: Int,
                          c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
    typealias V = SIMD8<Float>
    let scale = V(repeating: alpha)
    @inline(__always) func load(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
    @inline(__always) func store(_ value: V, _ p: UnsafeMutablePointer<Float>) {
        let raw = UnsafeMutableRawPointer(p)
        raw.storeBytes(of: accumulate ? raw.loadUnaligned(as: V.self).addingProduct(scale, value) : scale * value,
                       as: V.self)
    }
    @inline(__always) func store(_ value: Float, _ p: UnsafeMutablePointer<Float>) {
        p.pointee = accumulate ? p.pointee + alpha * value : alpha * value
    }
    var i = 0
    while i + 4 <= m {
        let a0 = a + i * aRow, c0 = c + i * ldc
        var j = 0
        #if WIDE_SIMD
        // AVX-512: a 4 × 32 block in eight 16-lane registers, twice the work per instruction; every element is the
        // same chain of fused multiply-adds over l as in the 8-lane blocks below, so results are identical. Written
        // out rather than shared with them through a function generic over the vector type: that version ran the
        // bidirectional T 256 kernel 9 % slower (13.5 against 12.3 ms).
        typealias W = SIMD16<Float>
        let wideScale = W(repeating: alpha)
        @inline(__always) func loadWide(_ p: UnsafePointer<Float>) -> W { UnsafeRawPointer(p).loadUnaligned(as: W.self) }
        @inline(__always) func storeWide(_ value: W, _ p: UnsafeMutablePointer<Float>) {
            let raw = UnsafeMutableRawPointer(p)
            raw.storeBytes(of: accumulate ? raw.loadUnaligned(as: W.self).addingProduct(wideScale, value) : wideScale * value,
                           as: W.self)
        }
        while j + 32 <= n {
            var c00 = W(), c01 = W(), c10 = W(), c11 = W(), c20 = W(), c21 = W(), c30 = W(), c31 = W()
            var ap = a0, bp = b + j
            for _ in 0..<k {
                let b0 = loadWide(bp), b1 = loadWide(bp + 16)
                let x0 = W(repeating: ap[0]), x1 = W(repeating: ap[aRow])
                let x2 = W(repeating: ap[2 * aRow]), x3 = W(repeating: ap[3 * aRow])
                c00 = c00.addingProduct(x0, b0); c01 = c01.addingProduct(x0, b1)
                c10 = c10.addingProduct(x1, b0); c11 = c11.addingProduct(x1, b1)
                c20 = c20.addingProduct(x2, b0); c21 = c21.addingProduct(x2, b1)
                c30 = c30.addingProduct(x3, b0); c31 = c31.addingProduct(x3, b1)
                ap += aDepth; bp += ldb
            }
            let cp = c0 + j
            storeWide(c00, cp); storeWide(c01, cp + 16)
            storeWide(c10, cp + ldc); storeWide(c11, cp + ldc + 16)
            storeWide(c20, cp + 2 * ldc); storeWide(c21, cp + 2 * ldc + 16)
            storeWide(c30, cp + 3 * ldc); storeWide(c31, cp + 3 * ldc + 16)
            j += 32
        }
        #endif
        while j + 16 <= n {
            var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V(), c30 = V(), c31 = V()
            var ap = a0, bp = b + j
            for _ in 0..<k {
                let b0 = load(bp), b1 = load(bp + 8)
                let x0 = V(repeating: ap[0]), x1 = V(repeating: ap[aRow])
                let x2 = V(repeating: ap[2 * aRow]), x3 = V(repeating: ap[3 * aRow])
                c00 = c00.addingProduct(x0, b0); c01 = c01.addingProduct(x0, b1)
                c10 = c10.addingProduct(x1, b0); c11 = c11.addingProduct(x1, b1)
                c20 = c20.addingProduct(x2, b0); c21 = c21.addingProduct(x2, b1)
                c30 = c30.addingProduct(x3, b0); c31 = c31.addingProduct(x3, b1)
                ap += aDepth; bp += ldb
            }
            let cp = c0 + j
            store(c00, cp); store(c01, cp + 8)
            store(c10, cp + ldc); store(c11, cp + ldc + 8)
            store(c20, cp + 2 * ldc); store(c21, cp + 2 * ldc + 8)
            store(c30, cp + 3 * ldc); store(c31, cp + 3 * ldc + 8)
            j += 16
        }
        while j + 8 <= n {
            var c00 = V(), c10 = V(), c20 = V(), c30 = V()
            var ap = a0, bp = b + j
            for _ in 0..<k {
                let b0 = load(bp)
                c00 = c00.addingProduct(V(repeating: ap[0]), b0)
                c10 = c10.addingProduct(V(repeating: ap[aRow]), b0)
                c20 = c20.addingProduct(V(repeating: ap[2 * aRow]), b0)
                c30 = c30.addingProduct(V(repeating: ap[3 * aRow]), b0)
                ap += aDepth; bp += ldb
            }
            let cp = c0 + j
            store(c00, cp); store(c10, cp + ldc); store(c20, cp + 2 * ldc); store(c30, cp + 3 * ldc)
            j += 8
        }
        while j < n {
            var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
            var ap = a0, bp = b + j
            for _ in 0..<k {
                let y = bp[0]
                s0 += ap[0] * y; s1 += ap[aRow] * y; s2 += ap[2 * aRow] * y; s3 += ap[3 * aRow] * y
                ap += aDepth; bp += ldb
            }
            let cp = c0 + j
            store(s0, cp); store(s1, cp + ldc); store(s2, cp + 2 * ldc); store(s3, cp + 3 * ldc)
            j += 1
        }
        i += 4
    }
    while i < m {
        let a0 = a + i * aRow, c0 = c + i * ldc
        var j = 0
        while j + 8 <= n {
            var c00 = V()
            var ap = a0, bp = b + j
            for _ in 0..<k {
                c00 = c00.addingProduct(V(repeating: ap[0]), load(bp))
                ap += aDepth; bp += ldb
            }
            store(c00, c0 + j)
            j += 8
        }
        while j < n {
            var s0: Float = 0
            var ap = a0, bp = b + j
            for _ in 0..<k {
                s0 += ap[0] * bp[0]
                ap += aDepth; bp += ldb
            }
            store(s0, c0 + j)
            j += 1
        }
        i += 1
    }
}

/// eˣ for the softmax tiles: `fastExp`, but exactly 0 for −∞ (masked keys, padding lanes, rows that see no key),
/// where `fastExp` saturates at 1e-38 — so that masked entries add nothing at all to outputs and gradients.
/// `@_transparent` because `@inline(__always)` was not honoured inside the kernels' large closures, and a call
/// passes the vector in two halves through memory.
@_transparent
func attentionExp(_ x: FloatVector) -> FloatVector {
    fastExp(x).replacing(with: 0, where: x .== -.infinity)
}
