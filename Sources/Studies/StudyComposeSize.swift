/// How big the composition study is: a "large" GPT-2 of the demo's shape and a "small" 2-layer one, both on the
/// plays; "fine-tuning" is continued pre-training on another domain (the First Folio's spelling), standing in for
/// instruction tuning, and the "new data" of continual pre-training is the history plays, which no base has read.
public struct StudyComposeSize: Equatable, Sendable {
    public var name: String
    public var vocabulary: Int
    public var context: Int
    public var batchSize: Int
    public var large: (layers: Int, width: Int, heads: Int)
    public var small: (layers: Int, width: Int, heads: Int)
    /// Pre-training steps of each base; continued pre-training (tuning on the Folio, the histories, re-tuning).
    public var baseSteps: Int
    public var continuedSteps: Int
    public var evalEvery: Int
    /// Val batches of 16 windows each domain is scored on (nil: the whole val split).
    public var scoreBatches: Int?
    /// Seeds of the small models (each composition and merge is made per seed); the large models take seed 1.
    public var seeds: Int
    /// The scales β of the up-scaling difference, and TIES's density.
    public var betas: [Double]
    public var tiesDensity: Double
    public var lr: Float = 2e-3
    public var minLR: Float = 2e-4
    public var warmup: Int

    public static func == (a: StudyComposeSize, b: StudyComposeSize) -> Bool { a.name == b.name }

    /// About half an hour on two quiet cores.
    public static let standard = StudyComposeSize(
        name: "default", vocabulary: 4096, context: 128, batchSize: 16, large: (4, 192, 4), small: (2, 128, 4),
        baseSteps: 1000, continuedSteps: 300, evalEvery: 100, scoreBatches: 24, seeds: 3, betas: [0, 0.5, 1, 1.5],
        tiesDensity: 0.2, warmup: 30)

    /// The CI size: every part on tiny models for a few steps (the numbers test the pipeline, not the papers).
    public static let quick = StudyComposeSize(
        name: "quick", vocabulary: 300, context: 16, batchSize: 4, large: (2, 32, 2), small: (1, 16, 2),
        baseSteps: 8, continuedSteps: 4, evalEvery: 4, scoreBatches: 2, seeds: 2, betas: [0, 1], tiesDensity: 0.5, warmup: 2)
}
