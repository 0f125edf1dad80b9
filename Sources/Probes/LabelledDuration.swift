import AudioData
import Foundation

/// Training utterances worth `seconds` of audio (the low-resource fine-tuning regime, "10 minutes of labelled
/// speech" as in wav2vec 2.0's Libri-light splits): the examples in a seeded random order, each kept while the total
/// stays within `seconds`. Durations come from the manifest, else from the audio file. Throws when the examples
/// hold less than `seconds` in all, or when no single utterance fits.
public func labelledSubset(_ examples: [ProbeExample], seconds: Double, seed: UInt64) throws -> [ProbeExample] {
    guard seconds > 0, seconds.isFinite else {
        throw ProbeDataError("the labelled duration must be a positive number of seconds, got \(seconds)")
    }
    var timed = examples
    for index in timed.indices where timed[index].duration == nil {
        timed[index].duration = try Waveform(contentsOf: timed[index].audio).duration
    }
    let available = timed.reduce(0) { $0 + $1.duration! }
    guard available >= seconds else {
        throw ProbeDataError(String(format: "too few labelled minutes: %.2f asked, but the %d training utterances hold %.2f",
                                    seconds / 60, timed.count, available / 60))
    }
    var random = SplitMix(seed: seed)
    for index in stride(from: timed.count - 1, to: 0, by: -1) {
        timed.swapAt(index, Int(random.next() % UInt64(index + 1)))
    }
    var total = 0.0
    let chosen = timed.filter { example in
        guard total + example.duration! <= seconds else { return false }
        total += example.duration!
        return true
    }
    guard !chosen.isEmpty else {
        throw ProbeDataError(String(format: "too few labelled minutes: %.3f is shorter than every training utterance "
            + "(the shortest is %.1f s)", seconds / 60, timed.map { $0.duration! }.min() ?? 0))
    }
    return chosen
}
