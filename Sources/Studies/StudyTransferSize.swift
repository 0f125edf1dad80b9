/// How big the knowledge-transfer study is. The "small" model is 2-layer/128, the "large" one 4-layer/192 with
/// the small one's head dimension (so that growth keeps it), both GPT-2 on Shakespeare; BERT students and teachers
/// have the same sizes with the large one's heads at the small one's count (attention distillation needs equal heads).
public struct StudyTransferSize: Equatable, Sendable {
    public var name: String
    public var vocabulary: Int
    public var context: Int
    public var batchSize: Int
    public var small: (layers: Int, width: Int, heads: Int)
    public var large: (layers: Int, width: Int, heads: Int)
    /// KD's teacher (large, trained longer than the students).
    public var teacherSteps: Int
    /// Every small-model run (students, SPDF's sparse + dense) takes this many steps; every large-model run
    /// (SALT's arms, growth's arms and its from-scratch baseline) `largeSteps`.
    public var smallSteps: Int
    public var largeSteps: Int
    /// SPDF: sparse pre-training steps of `smallSteps` (the rest dense).
    public var sparseSteps: Int
    /// BERT: the teacher on modern spelling, its further pre-training on the Folio, and each student's steps (ERNIE-Tiny's
    /// four stages take a quarter each).
    public var bertTeacherSteps: Int
    public var bertFurtherSteps: Int
    public var bertStudentSteps: Int
    /// Further pre-training on the small target set (one play).
    public var targetSteps: Int
    public var evalEvery: Int
    public var evalBatches: Int
    public var seeds: Int
    public var lr: Float = 2e-3
    public var minLR: Float = 2e-4
    public var warmup: Int

    public static func == (a: StudyTransferSize, b: StudyTransferSize) -> Bool { a.name == b.name }

    /// About 50 minutes on two quiet cores. The large model takes twice the small one's steps, so that it ends better
    /// than the small one (SALT's small teacher is the weaker model) and growth has a from-scratch curve to catch.
    public static let standard = StudyTransferSize(
        name: "default", vocabulary: 4096, context: 128, batchSize: 8, small: (2, 128, 4), large: (4, 192, 6),
        teacherSteps: 600, smallSteps: 400, largeSteps: 800, sparseSteps: 300, bertTeacherSteps: 1000, bertFurtherSteps: 200,
        bertStudentSteps: 300, targetSteps: 200, evalEvery: 25, evalBatches: 8, seeds: 3, warmup: 20)

    /// The CI size: every arm of every question, on tiny models for a few steps (the numbers are its own).
    public static let quick = StudyTransferSize(
        name: "quick", vocabulary: 300, context: 16, batchSize: 4, small: (1, 16, 2), large: (2, 32, 4),
        teacherSteps: 12, smallSteps: 8, largeSteps: 8, sparseSteps: 6, bertTeacherSteps: 8, bertFurtherSteps: 4,
        bertStudentSteps: 8, targetSteps: 6, evalEvery: 4, evalBatches: 2, seeds: 2, warmup: 2)
}
