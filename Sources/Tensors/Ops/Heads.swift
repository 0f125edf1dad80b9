/// Attention's layout changes in one pass each way: packed projections into heads, heads back into channels.
/// Composed from split, reshape and permute they cost two copies forward and three passes backward per part.

/// (B, T, parts·H·D) → `parts` tensors (B, H, T, D): part p, head h reads channels [p·H·D + h·D, … + D). GPT-2's
/// c_attn output (q, k, v) or any fused q/k/v product split into heads. Each part's backward adds its gradient
/// into its own channels of x's, so the parts together write x's gradient once.
public func splitHeads(_ x: Tensor, parts: Int, heads: Int) -> [Tensor] {
    precondition(x.rank == 3 && parts > 0 && heads > 0 && x.size(2) % (parts * heads) == 0,
                 "splitHeads: (B, T, \(parts)·H·D) with H = \(heads) expected, got \(x.shape)")
    let (batch, length) = (x.size(0), x.size(1))
    let width = x.size(2), channels = width / parts, d = channels / heads
    let recording = Autograd.needsGradient(x)
    return (0..<parts).map { part in
        let out = Tensor(uninitialized: [batch, heads, length, d])
        // out[b, h, t, :] = x[b, t, part·C + h·D ..< +D]
        headRows(batch: batch, heads: heads, length: length, d: d) { b, h, t in
            let source = x.data + (b * length + t) * width + part * channels + h * d
            (out.data + ((b * heads + h) * length + t) * d).update(from: source, count: d)
        }
        guard recording else { return out }
        Autograd.record(out) {
            let g = out.grad!.data, dx = x.gradData()
            headRows(batch: batch, heads: heads, length: length, d: d) { b, h, t in
                let target = dx + (b * length + t) * width + part * channels + h * d
                let source = g + ((b * heads + h) * length + t) * d
                for e in 0..<d { target[e] += source[e] }
            }
        }
        return out
    }
}

/// (B, H, T, D) → (B, T, H·D): the heads' outputs side by side, as attention's output projection reads them.
public func mergeHeads(_ x: Tensor) -> Tensor {
    precondition(x.rank == 4, "mergeHeads: (B, H, T, D) expected, got \(x.shape)")
    let (batch, heads, length, d) = (x.size(0), x.size(1), x.size(2), x.size(3))
    let width = heads * d
    let out = Tensor(uninitialized: [batch, length, width])
    // out[b, t, h·D ..< +D] = x[b, h, t, :]
    headRows(batch: batch, heads: heads, length: length, d: d) { b, h, t in
        (out.data + (b * length + t) * width + h * d).update(from: x.data + ((b * heads + h) * length + t) * d, count: d)
    }
    guard Autograd.needsGradient(x) else { return out }
    Autograd.record(out) {
        let g = out.grad!.data, (dx, overwrite) = x.gradDataForWriting()
        headRows(batch: batch, heads: heads, length: length, d: d) { b, h, t in
            let target = dx + ((b * heads + h) * length + t) * d, source = g + (b * length + t) * width + h * d
            if overwrite { target.update(from: source, count: d) } else { for e in 0..<d { target[e] += source[e] } }
        }
    }
    return out
}

/// Calls `body(b, h, t)` for every row of D values, split over the threads by (b, t) so that each thread writes
/// whole packed rows.
@inline(__always)
private func headRows(batch: Int, heads: Int, length: Int, d: Int, _ body: (Int, Int, Int) -> Void) {
    parallelFor(batch * length, grain: max(1, (1 << 14) / max(heads * d, 1))) { rows in
        for row in rows {
            let (b, t) = row.quotientAndRemainder(dividingBy: length)
            for h in 0..<heads { body(b, h, t) }
        }
    }
}
