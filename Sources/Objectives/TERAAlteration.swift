/// What TERA does to one utterance (§3.1–3.3): spans of frames zeroed, replaced by another segment of the same
/// utterance or kept (all predicted), one band of bins zeroed in every frame, and optionally Gaussian noise added
/// to every value (then all predicted).
public struct TERAAlteration: Equatable {
    public enum SpanKind: Equatable {
        case zero
        /// Replaced by the frames from `from` on, of the unaltered utterance.
        case segment(from: Int)
        case kept
    }

    public struct Span: Equatable {
        public var start: Int
        public var length: Int
        public var kind: SpanKind

        public init(start: Int, length: Int, kind: SpanKind) {
            self.start = start
            self.length = length
            self.kind = kind
        }
    }

    public var spans: [Span] = []
    /// Bins zeroed in every frame of the utterance (empty: none).
    public var band: Range<Int> = 0..<0
    /// length · F values (already scaled by the noise std) added to the frames, row-major; nil: no noise.
    public var noise: [Float]?

    public init(spans: [Span] = [], band: Range<Int> = 0..<0, noise: [Float]? = nil) {
        self.spans = spans
        self.band = band
        self.noise = noise
    }
}
