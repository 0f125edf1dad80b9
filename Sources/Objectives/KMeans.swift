import Tensors

/// Settings of mini-batch k-means; `pretrain kmeans` fills them.
public struct KMeansConfig: Equatable {
    public enum Initialization: String, CaseIterable {
        /// k-means++ (Arthur & Vassilvitskii 2007): each next centre drawn with probability ∝ squared distance
        /// to the nearest centre so far, over a sample of `initializationSample` points.
        case kMeansPlusPlus = "kmeans++"
        /// k distinct points drawn uniformly.
        case random
    }

    public var k: Int
    public var batchSize = 1_024
    public var iterations = 100
    public var initialization = Initialization.kMeansPlusPlus
    public var initializationSample = 10_000
    public var seed: UInt64 = 0

    public init(k: Int) { self.k = k }

    /// A message naming the first invalid field for `count` points, or nil.
    public func problem(points count: Int) -> String? {
        if k < 2 { return "k must be ≥ 2, got \(k)" }
        if count < k { return "\(count) points cannot make \(k) clusters" }
        if batchSize < 1 || iterations < 0 { return "batch size must be ≥ 1 and iterations ≥ 0, got \(batchSize) and \(iterations)" }
        if initializationSample < k { return "the k-means++ sample (\(initializationSample)) must hold at least k = \(k) points" }
        return nil
    }
}

/// Mini-batch k-means (Sculley 2010, "Web-Scale K-Means Clustering", Algorithm 1): each iteration assigns a
/// uniformly drawn mini-batch to the nearest centres, then moves each centre c towards each of its points x by
/// c ← (1 − 1/n_c)·c + x/n_c, n_c counting every point c has received so far (a per-centre learning rate that
/// makes c the running mean of its points). Deterministic for a seed: every draw comes from one generator.
public enum MiniBatchKMeans {
    /// points: (N, D) → centroids (K, D).
    /// `progress` gets (updates done, updates) after each mini-batch update.
    public static func fit(_ points: Tensor, config: KMeansConfig,
                           progress: (_ done: Int, _ total: Int) -> Void = { _, _ in }) -> Tensor {
        precondition(points.rank == 2, "k-means of (N, D) points, got \(points.shape)")
        if let problem = config.problem(points: points.size(0)) { preconditionFailure(problem) }
        let (n, d) = (points.size(0), points.size(1))
        var generator = RandomGenerator(seed: config.seed)
        let centroids = initialCentroids(points, config: config, generator: &generator)
        var counts = [Int](repeating: 0, count: config.k)
        let batchSize = min(config.batchSize, n)
        let batch = Tensor(uninitialized: [batchSize, d])
        for iteration in 0..<config.iterations {
            defer { progress(iteration + 1, config.iterations) }
            let rows = (0..<batchSize).map { _ in generator.nextInt(below: n) }
            for (i, row) in rows.enumerated() { (batch.data + i * d).update(from: points.data + row * d, count: d) }
            // Assign the whole mini-batch first, then update (Algorithm 1, lines 5–13).
            let nearest = nearestRows(batch, in: centroids)
            for (i, label) in nearest.enumerated() {
                let c = Int(label)
                counts[c] += 1
                let rate = 1 / Float(counts[c])
                let centre = centroids.data + c * d, x = batch.data + i * d
                for j in 0..<d { centre[j] += rate * (x[j] - centre[j]) }
            }
        }
        return centroids
    }

    /// Mean squared distance of the points (N, D) to their nearest centroid (K, D): the k-means objective per point.
    public static func inertia(_ points: Tensor, centroids: Tensor) -> Double {
        let d = points.size(1)
        var total = 0.0
        for (i, label) in nearestRows(points, in: centroids).enumerated() {
            let x = points.data + i * d, c = centroids.data + Int(label) * d
            for j in 0..<d { total += Double((x[j] - c[j]) * (x[j] - c[j])) }
        }
        return total / Double(max(1, points.size(0)))
    }

    static func initialCentroids(_ points: Tensor, config: KMeansConfig, generator: inout RandomGenerator) -> Tensor {
        let (n, d, k) = (points.size(0), points.size(1), config.k)
        let centroids = Tensor(uninitialized: [k, d])
        func copy(_ row: Int, to slot: Int) { (centroids.data + slot * d).update(from: points.data + row * d, count: d) }
        switch config.initialization {
        case .random:
            // A partial Fisher–Yates shuffle: k distinct rows.
            var order = Array(0..<n)
            for slot in 0..<k {
                order.swapAt(slot, slot + generator.nextInt(below: n - slot))
                copy(order[slot], to: slot)
            }
        case .kMeansPlusPlus:
            let sample = n <= config.initializationSample ? Array(0..<n)
                : (0..<config.initializationSample).map { _ in generator.nextInt(below: n) }
            var nearest = [Float](repeating: .infinity, count: sample.count)
            var chosen = sample[generator.nextInt(below: sample.count)]
            for slot in 0..<k {
                copy(chosen, to: slot)
                let c = centroids.data + slot * d
                var total = 0.0
                for (i, row) in sample.enumerated() {
                    let x = points.data + row * d
                    var distance: Float = 0
                    for j in 0..<d { distance += (x[j] - c[j]) * (x[j] - c[j]) }
                    nearest[i] = min(nearest[i], distance)
                    total += Double(nearest[i])
                }
                guard slot + 1 < k else { break }
                // Draw ∝ D(x)²; when every sampled point sits on a centre already, uniformly.
                guard total > 0 else { chosen = sample[generator.nextInt(below: sample.count)]; continue }
                var target = Double(generator.nextFloat()) * total
                for (i, row) in sample.enumerated() where nearest[i] > 0 {
                    target -= Double(nearest[i])
                    chosen = row
                    if target < 0 { break }
                }
            }
        }
        return centroids
    }
}
