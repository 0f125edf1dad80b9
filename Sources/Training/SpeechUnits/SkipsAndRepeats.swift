/// The failure modes of autoregressive TTS as the recogniser hears them (VALL-E R and HAM-TTS count skipped and
/// repeated words): a minimum-edit alignment of the recognised phonemes to the reference, then
///   - a skipped word: a reference word of at least two phonemes more than half of which the alignment deletes;
///   - an inserted run: at least `runLength` consecutive recognised phonemes that the alignment inserts (a repeated
///     stretch, or babble), counted once per run.
public struct SkipsAndRepeats: Equatable, Codable {
    public var substitutions = 0
    public var deletions = 0
    public var insertions = 0
    public var skippedWords = 0
    public var words = 0
    public var insertedRuns = 0

    enum CodingKeys: String, CodingKey {
        case substitutions, deletions, insertions, skippedWords = "skipped_words", words, insertedRuns = "inserted_runs"
    }

    public init() {}

    public static let runLength = 3

    /// The edit distance: substitutions, deletions and insertions of the minimum-edit alignment.
    public var errors: Int { substitutions + deletions + insertions }

    /// `wordLengths`: the reference's phonemes per word (nil: the whole utterance is one word for the skip count).
    public init(heard: [String], reference: [String], wordLengths: [Int]?) {
        let (n, m) = (reference.count, heard.count)
        // cost[i][j]: edits turning reference[..<i] into heard[..<j].
        var cost = [[Int]](repeating: [Int](repeating: 0, count: m + 1), count: n + 1)
        for i in 0...n { cost[i][0] = i }
        for j in 0...m { cost[0][j] = j }
        if n > 0 && m > 0 {
            for i in 1...n {
                for j in 1...m {
                    cost[i][j] = min(cost[i - 1][j - 1] + (reference[i - 1] == heard[j - 1] ? 0 : 1),
                                     cost[i - 1][j] + 1, cost[i][j - 1] + 1)
                }
            }
        }
        // Walk back; prefer match/substitution, then deletion, then insertion.
        var deleted = [Bool](repeating: false, count: n), inserted = [Bool](repeating: false, count: m)
        var (i, j) = (n, m)
        while i > 0 || j > 0 {
            if i > 0 && j > 0 && cost[i][j] == cost[i - 1][j - 1] + (reference[i - 1] == heard[j - 1] ? 0 : 1) {
                if reference[i - 1] != heard[j - 1] { substitutions += 1 }
                (i, j) = (i - 1, j - 1)
            } else if i > 0 && cost[i][j] == cost[i - 1][j] + 1 {
                deleted[i - 1] = true
                i -= 1
            } else {
                inserted[j - 1] = true
                j -= 1
            }
        }
        deletions = deleted.filter { $0 }.count
        insertions = inserted.filter { $0 }.count
        var start = 0
        for length in wordLengths ?? [n] where length > 0 {
            words += 1
            let gone = deleted[start..<min(n, start + length)].filter { $0 }.count
            if length >= 2 && 2 * gone > length { skippedWords += 1 }
            start += length
        }
        var run = 0
        for flag in inserted + [false] {
            if flag { run += 1 } else { if run >= Self.runLength { insertedRuns += 1 }; run = 0 }
        }
    }

    public static func + (a: SkipsAndRepeats, b: SkipsAndRepeats) -> SkipsAndRepeats {
        var sum = a
        sum.substitutions += b.substitutions
        sum.deletions += b.deletions
        sum.insertions += b.insertions
        sum.skippedWords += b.skippedWords
        sum.words += b.words
        sum.insertedRuns += b.insertedRuns
        return sum
    }
}
