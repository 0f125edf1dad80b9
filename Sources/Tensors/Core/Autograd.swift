/// Tape-based reverse-mode autodiff.
///
/// Every op whose inputs require gradients appends one entry: its output and a closure that reads the
/// output's gradient and accumulates into the inputs' gradients. `backward(_:)` walks the tape in reverse
/// (creation order is a valid topological order), then clears it, which frees the saved activations.
public enum Autograd {
    struct Entry {
        let output: Tensor
        let backward: () -> Void
        /// The file of the op that recorded it (its kind for `OpProfiler`).
        let file: StaticString
    }

    nonisolated(unsafe) static var tape: [Entry] = []
    nonisolated(unsafe) static var gradientEnabled = true
    /// Per watched parameter: the tape index of the first op that read it in this forward (Int.max: none yet).
    nonisolated(unsafe) static var firstUses: [Int] = []
    nonisolated(unsafe) static var watching = false

    public static var isRecording: Bool { gradientEnabled }

    /// True when an op with these inputs must record itself.
    @inline(__always) public static func needsGradient(_ inputs: Tensor...) -> Bool {
        guard gradientEnabled else { return false }
        if watching { noteUses(inputs) }
        for input in inputs where input.requiresGrad { return true }
        return false
    }

    @inline(__always) public static func needsGradient(_ inputs: [Tensor]) -> Bool {
        guard gradientEnabled else { return false }
        if watching { noteUses(inputs) }
        for input in inputs where input.requiresGrad { return true }
        return false
    }

    // MARK: - Gradient readiness (data-parallel training)

    /// Until the next backward, records for each of `parameters` the tape index of the first op that reads it: its
    /// gradient is complete once backward has run that entry, so a data-parallel trainer can start all-reducing it
    /// while backward goes on (`backward(_:seed:afterEntry:)` reports each entry run). Ops report their inputs
    /// through `needsGradient`; the trainer checks afterwards that no gradient changed after it was sent.
    public static func watchFirstUses(_ parameters: [Tensor]) {
        for (slot, parameter) in parameters.enumerated() { parameter.watchSlot = slot }
        firstUses = [Int](repeating: .max, count: parameters.count)
        watching = true
    }

    /// The first-use index `watchFirstUses` recorded for slot `slot` (Int.max: not read in this forward).
    public static func firstUse(slot: Int) -> Int { slot < firstUses.count ? firstUses[slot] : .max }

    @inline(never) static func noteUses(_ inputs: [Tensor]) {
        let index = tape.count
        for input in inputs where input.watchSlot >= 0 && input.watchSlot < firstUses.count {
            if index < firstUses[input.watchSlot] { firstUses[input.watchSlot] = index }
        }
    }

    /// Records an op. `backward` runs only when `output` received a gradient.
    public static func record(_ output: Tensor, file: StaticString = #fileID, backward: @escaping () -> Void) {
        output.requiresGrad = true
        tape.append(Entry(output: output, backward: backward, file: file))
        if OpProfiler.isOn { OpProfiler.chargeForward(file) }
    }

    /// Number of ops waiting for a backward pass.
    public static var pendingOps: Int { tape.count }

    /// Drops the recorded graph without computing gradients (e.g. after an evaluation forward in grad mode).
    public static func discardTape() {
        tape.removeAll(keepingCapacity: true)
        watching = false
    }

    /// Backpropagates from `root`, seeding its gradient with `seed` (default: ones, for a scalar loss). `afterEntry`
    /// is called with each tape index once that entry has run (in decreasing order) and with -1 at the end.
    public static func backward(_ root: Tensor, seed: Tensor? = nil, afterEntry: ((Int) -> Void)? = nil) {
        watching = false
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
            defer { afterEntry?(entries.count) }
            guard entry.output.grad != nil else { continue }
            if OpProfiler.isOn { OpProfiler.chargeBackward(entry.file, entry.backward) } else { entry.backward() }
            if !entry.output.retainsGrad { entry.output.grad = nil }
        }
        afterEntry?(-1)
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
