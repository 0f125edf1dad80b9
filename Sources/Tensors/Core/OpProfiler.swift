import Dispatch

/// Where a step's time goes, by kind of op (`pretrain bench --profile`). Off by default; while on, every op that
/// records itself on the tape is charged, in the forward pass, the time since the previous one recorded (or since
/// `mark()`), and in the backward pass the time of its backward closure; callers charge what runs outside the tape
/// (the optimiser, clipping) with `charge(_:_:)`. An op's kind comes from the file that defines it (Ops/Matmul.swift:
/// "gemm"), so no op has to name itself. Time between ops that record nothing (reshapes without a gradient, glue in
/// the layers) goes to the next op that records.
public enum OpProfiler {
    nonisolated(unsafe) public private(set) static var isOn = false
    nonisolated(unsafe) static var last: UInt64 = 0
    /// Nanoseconds by kind since `start()`.
    nonisolated(unsafe) public private(set) static var forward: [String: UInt64] = [:]
    nonisolated(unsafe) public private(set) static var backward: [String: UInt64] = [:]
    nonisolated(unsafe) public private(set) static var other: [String: UInt64] = [:]

    @inline(__always) static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Clears the totals and starts charging.
    public static func start() {
        (forward, backward, other) = ([:], [:], [:])
        isOn = true
        last = now()
    }

    public static func stop() { isOn = false }

    /// Forward time starts counting from here (the start of a step's forward pass).
    public static func mark() { last = now() }

    /// Runs `body` and charges its time to `kind` (outside the tape: "optimizer", "clip", "zero_grad").
    public static func charge<T>(_ kind: String, _ body: () throws -> T) rethrows -> T {
        guard isOn else { return try body() }
        let start = now()
        defer { other[kind, default: 0] += now() - start }
        return try body()
    }

    static func chargeForward(_ file: StaticString) {
        let time = now()
        forward[kind(of: file), default: 0] += time - last
        last = time
    }

    static func chargeBackward(_ file: StaticString, _ body: () -> Void) {
        let start = now()
        body()
        backward[kind(of: file), default: 0] += now() - start
        last = now()
    }

    /// The kind of the ops of a source file ("Tensors/Ops/Matmul.swift" → "gemm").
    static func kind(of file: StaticString) -> String {
        let path = file.description
        let name = path.split(separator: "/").last.map { String($0.dropLast(".swift".count)) } ?? path
        return kinds[name] ?? name.lowercased()
    }

    static let kinds: [String: String] = [
        "Matmul": "gemm", "ActivationLinear": "activation + gemm", "Convolution": "gemm", "Attention": "attention", "AttentionReference": "attention",
        "Normalization": "norm", "ResidualNormalization": "norm", "GroupNormalization": "norm",
        "Binary": "elementwise", "Unary": "elementwise", "Dropout": "elementwise", "Rotary": "elementwise",
        "Broadcast": "elementwise", "Embedding": "embedding", "Losses": "loss", "LinearCrossEntropy": "output projection + loss",
        "CTC": "loss",
        "Softmax": "softmax", "Shape": "shape", "Heads": "shape", "Reduce": "reduce",
    ]
}
