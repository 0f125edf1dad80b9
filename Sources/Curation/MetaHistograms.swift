import Foundation

/// The numeric meta values of the documents at the end of their way through the pipeline (kept: in the output;
/// dropped: as the dropping step left them), for the report's histograms. Each key keeps at most `capacity` values per
/// side, a uniform sample beyond that (reservoir sampling with a fixed seed, so the report is the same every run).
public struct MetaHistograms {
    public struct Sample {
        public var values: [Double] = []
        /// Values offered, sampled or not.
        public var seen = 0
        /// Its own stream, so the sample does not depend on the order meta keys are visited in.
        var random: SplitMix64
        init(key: String) { random = SplitMix64(state: XXH64.hash(key)) }
    }

    public let capacity: Int
    public private(set) var kept: [String: Sample] = [:]
    public private(set) var dropped: [String: Sample] = [:]

    public init(capacity: Int = 100_000) { self.capacity = capacity }

    mutating func add(_ document: CurationDocument, kept isKept: Bool) {
        for (key, value) in document.meta {
            guard case .number(let number) = value, number.isFinite else { continue }
            if isKept { add(number, to: &kept[key, default: Sample(key: key)]) } else { add(number, to: &dropped[key, default: Sample(key: key)]) }
        }
    }

    private func add(_ value: Double, to sample: inout Sample) {
        sample.seen += 1
        if sample.values.count < capacity {
            sample.values.append(value)
        } else {
            let slot = Int(sample.random.next() % UInt64(sample.seen))
            if slot < capacity { sample.values[slot] = value }
        }
    }

    /// Every key with a value, sorted.
    public var keys: [String] { Set(kept.keys).union(dropped.keys).sorted() }
}
