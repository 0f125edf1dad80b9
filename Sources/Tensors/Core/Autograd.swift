/// Tape-based reverse-mode autodiff.
///
/// Every op whose inputs require gradients appends one entry: its output and a closure that reads the
/// output's gradient and accumulates into the inputs' gradients. `backward(_:)` walks the tape in reverse
/// (creation order is a valid topological order), then clears it, which frees the saved activations.
public enum Autograd {
    struct Entry {
        let output: Tensor
        let backward: () -> Void
    }

    nonisolated(unsafe) static var tape: [Entry] = []
    nonisolated(unsafe) static var gradientEnabled = true

    public static var isRecording: Bool { gradientEnabled }

    /// True when an op with these inputs must record itself.
    @inline(__always) public static func needsGradient(_ inputs: Tensor...) -> Bool {
        guard gradientEnabled else { return false }
        for input in inputs where input.requiresGrad { return true }
        return false
    }

    @inline(__always) public static func needsGradient(_ inputs: [Tensor]) -> Bool {
        guard gradientEnabled else { return false }
        for input in inputs where input.requiresGrad { return true }
        return false
    }

    /// Records an op. `backward` runs only when `output` received a gradient.
    public static func record(_ output: Tensor, backward: @escaping () -> Void) {
        output.requiresGrad = true
        tape.append(Entry(output: output, backward: backward))
    }

    /// Number of ops waiting for a backward pass.
    public static var pendingOps: Int { tape.count }

    /// Drops the recorded graph without computing gradients (e.g. after an evaluation forward in grad mode).
    public static func discardTape() { tape.removeAll(keepingCapacity: true) }

    /// Backpropagates from `root`, seeding its gradient with `seed` (default: ones, for a scalar loss).
    public static func backward(_ root: Tensor, seed: Tensor? = nil) {
        precondition(root.requiresGrad, "backward from a tensor that does not require gradients")
        let gradient = root.gradData()
        if let seed {
            precondition(seed.shape == root.shape, "seed shape \(seed.shape) does not match \(root.shape)")
            for i in 0..<root.count { gradient[i] += seed.data[i] }
        } else {
            for i in 0..<root.count { gradient[i] += 1 }
        }
        var entries = tape
        tape.removeAll(keepingCapacity: true)
        // Each entry is dropped as soon as it has run, and with it the activations it saved and its output's
        // gradient (only its own backward reads it): peak memory is the activations, not activations plus every
        // intermediate gradient. Parameters keep their gradients; `retainsGrad` keeps an intermediate's.
        while let entry = entries.popLast() {
            guard entry.output.grad != nil else { continue }
            entry.backward()
            if !entry.output.retainsGrad { entry.output.grad = nil }
        }
    }
}

extension Tensor {
    /// Backpropagates from this scalar.
    public func backward() { Autograd.backward(self) }
}

/// Runs `body` without recording ops for autodiff (evaluation, optimiser updates, initialisation).
public func noGrad<T>(_ body: () throws -> T) rethrows -> T {
    let previous = Autograd.gradientEnabled
    Autograd.gradientEnabled = false
    defer { Autograd.gradientEnabled = previous }
    return try body()
}
