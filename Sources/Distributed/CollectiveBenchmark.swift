import Foundation

/// An OSU-style benchmark of the collectives data-parallel training uses: a blocking all-reduce of floats, and a
/// reduce-scatter followed by an all-gather (ZeRO-1's pair, which moves the same bytes), over message sizes. Every
/// rank runs it together. For each size and collective: warm-up calls, then `iterations` timed calls between barriers;
/// the size's time is the slowest rank's mean per call (a training step waits for the slowest rank). Bandwidths
/// follow NCCL-tests' convention (its doc/PERFORMANCE.md): algbw = bytes / time, busbw = algbw · 2(n−1)/n for both
/// collectives, so a busbw near the link's bandwidth means the algorithm is bandwidth-optimal. Every result is checked exactly: rank r
/// sends `pattern(r, i)`, small integers whose sum is exact in fp32 in any order.
public enum CollectiveBenchmark {
    /// What one measurement times.
    public enum Collective: String, CaseIterable, Codable, Sendable {
        /// `allReduceSum`: one blocking MPI_Allreduce of the whole buffer, in place.
        case allReduce = "allreduce"
        /// `reduceScatterSum` into this rank's part (`evenCounts`), then `allGather` of the parts into the whole.
        case reduceScatterAllGather = "reduce_scatter+all_gather"
    }

    /// Message sizes and call counts.
    public struct Settings: Sendable {
        /// Message sizes in bytes (multiples of 4: whole floats).
        public var sizes: [Int]
        /// Timed calls per size; nil: by size (`defaultIterations`).
        public var iterations: Int?
        /// Untimed calls before the timed ones; nil: a tenth of the timed ones, at least 2.
        public var warmup: Int?

        public init(sizes: [Int] = Settings.defaultSizes, iterations: Int? = nil, warmup: Int? = nil) {
            (self.sizes, self.iterations, self.warmup) = (sizes, iterations, warmup)
        }

        /// 4 KiB to 64 MiB in powers of 4: from latency-bound messages to the gradients of small models (tiny's: 17 MB).
        public static let defaultSizes = (0..<8).map { 4096 << (2 * $0) }
        /// For CI: three sizes, 20 calls each; enough to exercise both collectives and the fit, in well under a second.
        public static let quick = Settings(sizes: [4096, 65536, 1 << 20], iterations: 20, warmup: 2)

        /// 1000 calls for small messages (as OSU), fewer for large ones so that each size moves about 256 MiB, at least 10.
        public static func defaultIterations(bytes: Int) -> Int { min(1000, max(10, (256 << 20) / bytes)) }

        func iterations(bytes: Int) -> Int { iterations ?? Self.defaultIterations(bytes: bytes) }
        func warmup(bytes: Int) -> Int { warmup ?? max(2, iterations(bytes: bytes) / 10) }
    }

    /// One collective at one size: the slowest rank's mean time per call and the bandwidths it implies.
    public struct Measurement: Codable, Sendable {
        public let collective: Collective
        public let bytes: Int
        public let iterations: Int
        /// Microseconds per call: the largest over ranks of each rank's mean.
        public let latencyMicroseconds: Double
        /// Microseconds per call of the fastest rank (a large gap to `latencyMicroseconds` means a rank was descheduled).
        public let fastestRankMicroseconds: Double
        /// bytes / time, in GB/s (10⁹ bytes).
        public let algorithmBandwidth: Double
        /// algbw · 2(n−1)/n, in GB/s.
        public let busBandwidth: Double

        /// The measurement of `bytes` on `ranks` ranks whose slowest rank took `latencyMicroseconds` per call.
        public init(collective: Collective, bytes: Int, iterations: Int, latencyMicroseconds: Double,
                    fastestRankMicroseconds: Double, ranks: Int) {
            (self.collective, self.bytes, self.iterations) = (collective, bytes, iterations)
            (self.latencyMicroseconds, self.fastestRankMicroseconds) = (latencyMicroseconds, fastestRankMicroseconds)
            algorithmBandwidth = Double(bytes) / latencyMicroseconds / 1e3
            busBandwidth = algorithmBandwidth * CollectiveBenchmark.busFactor(ranks: ranks)
        }

        enum CodingKeys: String, CodingKey {
            case collective, bytes, iterations
            case latencyMicroseconds = "latency_us", fastestRankMicroseconds = "fastest_rank_us"
            case algorithmBandwidth = "algbw_gbps", busBandwidth = "busbw_gbps"
        }
    }

    /// The α–β model of one collective fitted to its measurements: time = α + bytes · β.
    public struct CostFit: Codable, Sendable {
        public let collective: Collective
        /// α: the line's time per call at zero bytes, in microseconds.
        public let alphaMicroseconds: Double
        /// 1/β: the asymptotic algorithm bandwidth, in GB/s.
        public let bandwidth: Double
        /// 1/β · 2(n−1)/n: the asymptotic bus bandwidth, in GB/s.
        public let busBandwidth: Double
        /// The sizes the fit used.
        public let sizes: Int

        enum CodingKeys: String, CodingKey {
            case collective, sizes
            case alphaMicroseconds = "alpha_us", bandwidth = "bandwidth_gbps", busBandwidth = "bus_bandwidth_gbps"
        }
    }

    /// Everything one run measured, for the table and the JSON file.
    public struct Report: Codable, Sendable {
        public let engine: String
        public let ranks: Int
        public let localRanks: Int
        public let measurements: [Measurement]
        public let fits: [CostFit]

        enum CodingKeys: String, CodingKey {
            case engine, ranks, measurements, fits
            case localRanks = "local_ranks"
        }
    }

    /// A sum that was not exact, or settings that cannot run: one line naming the collective, the size and the rank.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    /// The largest world whose sums of `pattern` stay exact in fp32: n·8190 + n(n+1)/2 < 2²⁴.
    public static let largestExactWorld = 1800

    /// Runs every collective at every size on all ranks of `communicator` (at least 2), calling `measured` with each
    /// row as it is measured, on every rank. Throws a `Failure` on every rank when any rank's sum is wrong.
    public static func run(on communicator: Communicator, settings: Settings,
                           measured: (Measurement) -> Void = { _ in }) throws -> Report {
        precondition(communicator.size >= 2, "the collective benchmark needs at least 2 ranks")
        guard communicator.size <= largestExactWorld else {
            throw Failure("the collective benchmark checks sums exactly up to \(largestExactWorld) ranks, not \(communicator.size)")
        }
        if let problem = problem(with: settings) { throw Failure(problem) }
        var measurements: [Measurement] = []
        for collective in Collective.allCases {
            for bytes in settings.sizes {
                let measurement = try measure(collective, bytes: bytes, on: communicator, settings: settings)
                measured(measurement)
                measurements.append(measurement)
            }
        }
        let fits = Collective.allCases.compactMap { collective in
            fit(measurements.filter { $0.collective == collective }, ranks: communicator.size)
        }
        return Report(engine: communicator.engine, ranks: communicator.size, localRanks: communicator.localSize,
                      measurements: measurements, fits: fits)
    }

    /// Why `settings` cannot run, in one line, or nil.
    public static func problem(with settings: Settings) -> String? {
        if settings.sizes.isEmpty { return "no message sizes to measure" }
        if let bad = settings.sizes.first(where: { $0 < 4 || $0 % 4 != 0 }) {
            return "message size \(bad) bytes is not a positive whole number of floats (a multiple of 4 bytes)"
        }
        if let bad = settings.sizes.first(where: { $0 / 4 > Int(Int32.max) }) {
            return "message size \(bad) bytes holds more floats than one MPI call takes (\(Int32.max))"
        }
        if let iterations = settings.iterations, iterations < 1 { return "iterations must be at least 1, got \(iterations)" }
        if let warmup = settings.warmup, warmup < 0 { return "warm-up calls must be 0 or more, got \(warmup)" }
        return nil
    }

    // MARK: - Measuring

    /// Element i of rank r's message: Float(i mod 8191) + r + 1. The sum over n ranks, n·(i mod 8191) + n(n+1)/2,
    /// depends on the element (a part in the wrong place shows) and on every rank's share (a rank left out shows).
    public static func pattern(rank: Int, element: Int) -> Float { Float(element % 8191 + rank + 1) }

    /// The exact sum of `pattern` over `ranks` ranks at `element`.
    public static func expectedSum(ranks: Int, element: Int) -> Float { Float(ranks * (element % 8191) + ranks * (ranks + 1) / 2) }

    /// The first element of `values` (elements `offset`… of the whole message) that is not the exact sum, or nil.
    static func firstWrongElement(_ values: UnsafeBufferPointer<Float>, offset: Int, ranks: Int) -> (element: Int, got: Float, expected: Float)? {
        for index in values.indices {
            let expected = expectedSum(ranks: ranks, element: offset + index)
            if values[index] != expected { return (offset + index, values[index], expected) }
        }
        return nil
    }

    /// One collective at one size: check, warm up, time; then every rank learns every rank's time and check.
    static func measure(_ collective: Collective, bytes: Int, on communicator: Communicator, settings: Settings) throws -> Measurement {
        let count = bytes / 4, ranks = communicator.size, rank = communicator.rank
        let iterations = settings.iterations(bytes: bytes), warmup = settings.warmup(bytes: bytes)
        var wrong: (element: Int, got: Float, expected: Float)?
        var seconds = 0.0
        switch collective {
        case .allReduce:
            // (count) on every rank, summed in place. The timed calls run on zeros: an in-place sum of the pattern
            // would grow n-fold per call to infinity, and MPI's cost does not depend on the values. The pattern is
            // checked on the untimed call first.
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
            defer { buffer.deallocate() }
            for index in buffer.indices { buffer[index] = pattern(rank: rank, element: index) }
            try communicator.allReduceSum(buffer)
            wrong = firstWrongElement(UnsafeBufferPointer(buffer), offset: 0, ranks: ranks)
            buffer.update(repeating: 0)
            seconds = try timed(iterations: iterations, warmup: warmup, on: communicator) {
                try communicator.allReduceSum(buffer)
            }
        case .reduceScatterAllGather:
            // send: (count), this rank's pattern, unchanged by the calls; part: (counts[rank]), its share of the sum
            // (after the shares of lower ranks); whole: (count), every share gathered. The last timed call is checked.
            let counts = communicator.evenCounts(count)
            let offset = counts[..<rank].reduce(0, +)
            let send = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
            let part = UnsafeMutableBufferPointer<Float>.allocate(capacity: counts[rank])
            let whole = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
            defer { send.deallocate(); part.deallocate(); whole.deallocate() }
            for index in send.indices { send[index] = pattern(rank: rank, element: index) }
            part.initialize(repeating: -1)
            whole.initialize(repeating: -1)
            seconds = try timed(iterations: iterations, warmup: warmup, on: communicator) {
                try communicator.reduceScatterSum(UnsafeBufferPointer(send), into: part, counts: counts)
                try communicator.allGather(UnsafeBufferPointer(part), into: whole, counts: counts)
            }
            wrong = firstWrongElement(UnsafeBufferPointer(part), offset: offset, ranks: ranks)
                ?? firstWrongElement(UnsafeBufferPointer(whole), offset: 0, ranks: ranks)
        }
        // Each rank's [mean seconds per call, wrong element or -1, the value it got, the value expected].
        let mine = [seconds / Double(iterations), Double(wrong?.element ?? -1), Double(wrong?.got ?? 0), Double(wrong?.expected ?? 0)]
        let every = try communicator.allGather(bytes: mine.withUnsafeBytes { Array($0) }).map { bytes in
            bytes.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
        }
        if let (badRank, values) = every.enumerated().first(where: { $0.element[1] >= 0 }) {
            throw Failure("\(collective.rawValue) of \(formatSize(bytes)) (\(count) floats): rank \(badRank) got \(values[2]) at element "
                          + "\(Int(values[1])), expected the exact sum \(values[3])")
        }
        let slowest = every.map { $0[0] }.max()!, fastest = every.map { $0[0] }.min()!
        return Measurement(collective: collective, bytes: bytes, iterations: iterations, latencyMicroseconds: slowest * 1e6,
                           fastestRankMicroseconds: fastest * 1e6, ranks: ranks)
    }

    /// Seconds this rank spent in `iterations` calls of `call`, after `warmup` untimed calls and a barrier.
    static func timed(iterations: Int, warmup: Int, on communicator: Communicator, _ call: () throws -> Void) throws -> Double {
        for _ in 0..<warmup { try call() }
        try communicator.barrier()
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<iterations { try call() }
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// 2(n−1)/n: the share of a message each rank sends (and receives) in a bandwidth-optimal all-reduce, twice over
    /// (NCCL-tests' bus bandwidth factor; reduce-scatter and all-gather are (n−1)/n each).
    public static func busFactor(ranks: Int) -> Double { 2 * Double(ranks - 1) / Double(ranks) }

    // MARK: - The α–β fit

    /// Least squares of the relative error, Σ ((tᵢ − α − bᵢ·β) / tᵢ)², over the sizes, with α ≥ 0: plain least squares
    /// would let the largest message's noise (milliseconds) set α (microseconds), and a negative α (mid-size messages
    /// slower than the line, as when a protocol or cache level changes) means none was resolved, so the line through
    /// the origin is fitted instead. Nil with fewer than two sizes or a β ≤ 0.
    public static func fit(_ measurements: [Measurement], ranks: Int) -> CostFit? {
        guard let collective = measurements.first?.collective, Set(measurements.map(\.bytes)).count >= 2 else { return nil }
        var (s, sb, sbb, st, sbt) = (0.0, 0.0, 0.0, 0.0, 0.0)
        for measurement in measurements {
            let t = measurement.latencyMicroseconds * 1e-6, b = Double(measurement.bytes), w = 1 / (t * t)
            s += w; sb += w * b; sbb += w * b * b; st += w * t; sbt += w * b * t
        }
        let determinant = s * sbb - sb * sb
        var alpha = (sbb * st - sb * sbt) / determinant, beta = (s * sbt - sb * st) / determinant
        if alpha < 0 { (alpha, beta) = (0, sbt / sbb) }
        guard determinant > 0, beta > 0 else { return nil }
        return CostFit(collective: collective, alphaMicroseconds: alpha * 1e6, bandwidth: 1 / beta / 1e9,
                       busBandwidth: busFactor(ranks: ranks) / beta / 1e9, sizes: measurements.count)
    }

    // MARK: - Sizes

    /// "4096", "4K", "4KiB", "4KB", "64M", "1G" → bytes (K, M, G are 1024, 1024², 1024³).
    public static func parseSize(_ text: String) throws -> Int {
        let upper = text.trimmingCharacters(in: .whitespaces).uppercased()
        let units: [(String, Int)] = [("KIB", 1 << 10), ("MIB", 1 << 20), ("GIB", 1 << 30), ("KB", 1 << 10), ("MB", 1 << 20),
                                      ("GB", 1 << 30), ("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("B", 1)]
        let (suffix, scale) = units.first { upper.hasSuffix($0.0) } ?? ("", 1)
        guard let number = Int(upper.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)), number > 0,
              number <= Int.max / scale else {
            throw Failure("message size '\(text)' is not a positive number of bytes with an optional K, M or G")
        }
        return number * scale
    }

    /// "4 KiB", "64 MiB", "100 B": whole binary units when the size is one, else bytes.
    public static func formatSize(_ bytes: Int) -> String {
        for (unit, scale) in [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] where bytes >= scale && bytes % scale == 0 {
            return "\(bytes / scale) \(unit)"
        }
        return "\(bytes) B"
    }

    // MARK: - The table

    /// The table's first lines: what ran and the columns.
    public static func header(engine: String, ranks: Int, localRanks: Int) -> String {
        """
        # \(engine), \(ranks) ranks (\(localRanks) on this machine); fp32 sums, checked exactly; time: the slowest rank's mean per call
        # \("collective".padding(toLength: 26, withPad: " ", startingAt: 0)) \(pad("size", 8)) \(pad("calls", 6)) \
        \(pad("latency_us", 12)) \(pad("algbw_GB/s", 11)) \(pad("busbw_GB/s", 11))
        """
    }

    /// One row of the table.
    public static func row(_ measurement: Measurement) -> String {
        "  " + measurement.collective.rawValue.padding(toLength: 26, withPad: " ", startingAt: 0)
            + " " + pad(formatSize(measurement.bytes), 8) + " " + pad("\(measurement.iterations)", 6)
            + " " + pad(String(format: "%.1f", measurement.latencyMicroseconds), 12)
            + " " + pad(String(format: "%.3f", measurement.algorithmBandwidth), 11)
            + " " + pad(String(format: "%.3f", measurement.busBandwidth), 11)
    }

    /// The fit of one collective in one line.
    public static func fitLine(_ fit: CostFit) -> String {
        "# fit \(fit.collective.rawValue): α = " + String(format: "%.1f µs, 1/β = %.3f GB/s (bus %.3f GB/s)", fit.alphaMicroseconds,
                                                                  fit.bandwidth, fit.busBandwidth)
            + "; time = α + β·bytes, least squares of the relative error over \(fit.sizes) sizes"
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }
}
