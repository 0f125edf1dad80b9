import ArgumentParser
import AudioData
import Foundation
import Objectives
import Tensors
import Training

/// `pretrain kmeans FEATURES --k 100 --out C.safetensors [--teacher CKPT --layer L]`: HuBERT's targets, mini-batch
/// k-means over the train split of a feature corpus, on the frames' cepstra or on a layer of a trained encoder.
struct KMeans: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kmeans", abstract: "Fit k-means centroids for HuBERT targets (objective.hubert.centroids).")

    @Argument(help: "A feature corpus (pretrain features prepare); its train split is clustered.") var features: String
    @Option(help: "Clusters.") var k = 100
    @Option(help: "Output safetensors file (tensor 'centroids', (k, D)).") var out: String
    @Option(help: "An audio checkpoint or run directory: cluster its layer --layer instead of cepstra.") var teacher: String?
    @Option(help: "With --teacher: 0 is the embedding output, 1… the Transformer layers.") var layer: Int?
    @Option(name: .customLong("num-ceps"), help: "Without --teacher: cepstral coefficients per frame.") var numCeps = 13
    @Option(name: .customLong("batch-size"), help: "Points per mini-batch.") var batchSize = 1_024
    @Option(help: "Mini-batch updates.") var iterations = 200
    @Option(help: "kmeans++ or random.") var initialization = "kmeans++"
    @Option(name: .customLong("max-vectors"), help: "Cluster at most this many vectors, drawn by --seed.") var maxVectors = 200_000
    @Option(help: "Seed of the sample, the initialisation and the mini-batches.") var seed: UInt64 = 0

    func run() throws {
        guard (teacher == nil) == (layer == nil) else { throw ValidationError("--teacher and --layer go together") }
        guard let initialization = KMeansConfig.Initialization(rawValue: initialization) else {
            throw ValidationError("--initialization must be kmeans++ or random, got '\(self.initialization)'")
        }
        var config = KMeansConfig(k: k)
        config.batchSize = batchSize
        config.iterations = iterations
        config.initialization = initialization
        config.seed = seed
        // The settings are checked before the corpus is read (minutes for a large one); the point count after.
        if let problem = config.problem(points: .max) { throw ValidationError("k-means: \(problem)") }
        guard maxVectors >= k else { throw ValidationError("--max-vectors \(maxVectors) cannot make --k \(k) clusters") }
        let corpus = try FeatureCorpus.load(URL(fileURLWithPath: features))
        let clustered: ClusteredFeatures
        var window = Int.max
        if let teacher, let layer {
            let encoder = try loadAudioEncoder(URL(fileURLWithPath: teacher)).encoder
            guard encoder.config.featureDimension == corpus.dimension else {
                throw ValidationError("\(teacher) reads \(encoder.config.featureDimension) bins, \(features) has \(corpus.dimension)")
            }
            guard (0...encoder.config.layers).contains(layer) else {
                throw ValidationError("--layer \(layer) is outside 0…\(encoder.config.layers) for \(teacher)")
            }
            clustered = .layer(encoder, index: layer)
            window = encoder.config.maxFrames
        } else {
            guard (1...corpus.dimension).contains(numCeps) else {
                throw ValidationError("--num-ceps must be in 1…\(corpus.dimension) (the corpus' bins), got \(numCeps)")
            }
            clustered = .cepstra(count: numCeps)
        }
        let reading = TaskProgress("kmeans \(teacher == nil ? "cepstra" : "teacher layer \(layer!)")", unit: "utterances")
        let points = KMeansCentroids.vectors(corpus.train, dimension: corpus.dimension, features: clustered,
                                             window: window, limit: maxVectors, seed: seed) {
            reading.update(Double($0), of: Double($1))
        }
        reading.finish()
        if let problem = config.problem(points: points.size(0)) { throw ValidationError("k-means: \(problem)") }
        let fitting = TaskProgress("kmeans fit", unit: "updates")
        let centroids = MiniBatchKMeans.fit(points, config: config) { fitting.update(Double($0), of: Double($1)) }
        fitting.finish()
        let inertia = MiniBatchKMeans.inertia(points, centroids: centroids)
        var metadata = KMeansCentroids.metadata(clustered, teacher: teacher)
        metadata["k"] = "\(k)"
        metadata["seed"] = "\(seed)"
        metadata["inertia"] = "\(inertia)"
        try KMeansCentroids.write(centroids, to: URL(fileURLWithPath: out), metadata: metadata)
        let usage = labelPerplexity(nearestRows(points, in: centroids), codebookSize: k)
        print(String(format: "%d vectors of %d values → %d centroids; mean squared distance %.4f, label perplexity %.1f",
                     points.size(0), clustered.dimension, k, inertia, usage))
        print("wrote \(out)")
    }
}
