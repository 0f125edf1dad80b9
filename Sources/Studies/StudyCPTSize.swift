/// How big the continual pre-training study is: the model, the upstream run and every downstream arm.
/// Learning rates of the arms are multiples of the upstream's, so one size is one consistent design.
public struct StudyCPTSize: Equatable, Sendable {
    public var name: String
    public var layers: Int
    public var dModel: Int
    public var heads: Int
    public var context: Int
    public var batchSize: Int
    /// Upstream pre-training: a cosine from `upstreamPeak` to `upstreamMin`.
    public var upstreamSteps: Int
    public var upstreamWarmup: Int
    public var upstreamEvalEvery: Int
    public var upstreamPeak: Float
    public var upstreamMin: Float
    /// Every downstream arm takes this many steps (equal tokens), evaluated every `armEvalEvery` steps on
    /// `evalBatches` micro-batches of each validation set (the final evaluation reads the whole sets). Evaluations
    /// are dense enough for the stability gap and for the backtest, which fits ≥ 5 points after the warmup within
    /// the first 30 % of a curve.
    public var armSteps: Int
    public var armWarmup: Int
    public var armEvalEvery: Int
    public var evalBatches: Int
    /// Rewarming peaks as multiples of `upstreamPeak` (Gupta et al. 2023 rewarm to 0.5×, 1× and 2×).
    public var rewarmFactors: [Float]
    /// The infinite schedule's plateau (`constant_lr`) as a multiple of its peak, and its cooldown.
    public var infinitePlateauFactor: Float
    public var infiniteCooldown: Int
    /// The infinite arm's anneal branch covers the last `annealSteps` of the arm (equal tokens with the others).
    public var annealSteps: Int

    public init(name: String, layers: Int, dModel: Int, heads: Int, context: Int, batchSize: Int,
                upstreamSteps: Int, upstreamWarmup: Int, upstreamEvalEvery: Int, upstreamPeak: Float, upstreamMin: Float,
                armSteps: Int, armWarmup: Int, armEvalEvery: Int, evalBatches: Int, rewarmFactors: [Float] = [0.5, 1, 2],
                infinitePlateauFactor: Float = 0.25, infiniteCooldown: Int, annealSteps: Int) {
        self.name = name
        self.layers = layers
        self.dModel = dModel
        self.heads = heads
        self.context = context
        self.batchSize = batchSize
        self.upstreamSteps = upstreamSteps
        self.upstreamWarmup = upstreamWarmup
        self.upstreamEvalEvery = upstreamEvalEvery
        self.upstreamPeak = upstreamPeak
        self.upstreamMin = upstreamMin
        self.armSteps = armSteps
        self.armWarmup = armWarmup
        self.armEvalEvery = armEvalEvery
        self.evalBatches = evalBatches
        self.rewarmFactors = rewarmFactors
        self.infinitePlateauFactor = infinitePlateauFactor
        self.infiniteCooldown = infiniteCooldown
        self.annealSteps = annealSteps
    }

    /// 4-layer d=128 GPT, context 128: about 25 minutes on two quiet cores.
    public static let standard = StudyCPTSize(
        name: "default", layers: 4, dModel: 128, heads: 4, context: 128, batchSize: 16,
        upstreamSteps: 1200, upstreamWarmup: 50, upstreamEvalEvery: 50, upstreamPeak: 2e-3, upstreamMin: 2e-4,
        armSteps: 400, armWarmup: 20, armEvalEvery: 16, evalBatches: 8, infiniteCooldown: 80, annealSteps: 100)

    /// 2-layer d=64 GPT, context 64: a few minutes, for CI (StudyCPTTests asserts the claims on it).
    public static let quick = StudyCPTSize(
        name: "quick", layers: 2, dModel: 64, heads: 2, context: 64, batchSize: 16,
        upstreamSteps: 400, upstreamWarmup: 20, upstreamEvalEvery: 16, upstreamPeak: 3e-3, upstreamMin: 3e-4,
        armSteps: 150, armWarmup: 8, armEvalEvery: 6, evalBatches: 8, infiniteCooldown: 30, annealSteps: 50)

    public var tokensPerStep: Int { batchSize * context }
    /// The multi-epoch subset: a quarter of the tokens an arm reads, so the arm makes four passes over it.
    public var subsetTokens: Int { armSteps * tokensPerStep / 4 }
    public var annealFrom: Int { armSteps - annealSteps }
}
