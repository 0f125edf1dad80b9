import Curation
import XCTest

/// quality: each value as the rule defines it, written to meta; each failed check named in the reason.
final class QualityHeuristicsTests: XCTestCase {
    private func measured(_ text: String, _ keys: String = "") throws -> (meta: [String: MetaValue], reason: DropReason?) {
        var document = documents([text])[0]
        let verdict = try makeStep("quality", keys).apply(to: &document)
        if case .drop(let reason) = verdict { return (document.meta, reason) }
        return (document.meta, nil)
    }

    func testValuesAreWrittenToMeta() throws {
        // 14 words of 40 characters in a text of 54; "#", "..." and "42" have no letter; 5 non-blank lines, 2 ending
        // in terminal punctuation, 1 a repeat. Values computed independently (Python, the same definitions).
        let text = "The cat sat.\nA dog ran\n#\nThe cat sat.\n\n... and then 42"
        let (meta, _) = try measured(text)
        XCTAssertEqual(meta["quality_word_count"], .number(14))
        XCTAssertEqual(meta["quality_mean_word_length"], .number(2.8571))
        XCTAssertEqual(meta["quality_symbol_word_ratio"], .number(0.1429))   // (# + ...) / 14
        XCTAssertEqual(meta["quality_alpha_word_fraction"], .number(0.7857))
        XCTAssertEqual(meta["quality_terminal_punctuation_fraction"], .number(0.4))
        XCTAssertEqual(meta["quality_duplicate_line_fraction"], .number(0.2))
        // Ties in count go to the longer n-gram: "cat sat." (8 characters) × 2 / 54.
        XCTAssertEqual(meta["quality_top_2gram_fraction"], .number(0.2963))
        XCTAssertEqual(meta["quality_top_3gram_fraction"], .number(0.4444))   // "The cat sat." (12) × 2 / 54
        XCTAssertEqual(meta["quality_top_4gram_fraction"], .number(0.3148))   // every 4-gram once: the longest (17) / 54
    }

    func testEachFailedCheckIsNamed() throws {
        let short = try measured("a b c d", "min_words: 5\nmax_top_2gram_fraction: null\nmax_top_3gram_fraction: null\nmax_top_4gram_fraction: null")
        XCTAssertEqual(short.reason?.key, "min_words")
        XCTAssertEqual(short.reason?.detail, "quality: word count 4 < 5; mean word length 1 < 3")
        let tiny = try measured(String(repeating: "ab cd ef gh. ", count: 20), "min_words: 10")
        XCTAssertEqual(tiny.reason?.key, "min_mean_word_length")
        XCTAssertTrue(tiny.reason!.detail.contains("mean word length 2.25 < 3"), tiny.reason!.detail)
        XCTAssertTrue(tiny.reason!.detail.contains("top 2-gram character fraction"), tiny.reason!.detail)
    }

    func testProseOfShakespeareLengthPasses() throws {
        let text = """
            Now is the winter of our discontent made glorious summer by this sun of York; and all the clouds that \
            lour'd upon our house in the deep bosom of the ocean buried. Now are our brows bound with victorious \
            wreaths, our bruised arms hung up for monuments, our stern alarums changed to merry meetings, our \
            dreadful marches to delightful measures.
            """
        let (meta, reason) = try measured(text)
        XCTAssertNil(reason, "\(meta)")
        XCTAssertEqual(meta["quality_word_count"], .number(60))
    }

    func testThresholdsAreChecked() {
        assertThrows(["test.yaml:4:", ": steps[0] (quality): min_words (200) is above max_words (100)"]) {
            _ = try makeStep("quality", "max_words: 100\nmin_words: 200")
        }
        assertThrows(["steps[0] (quality): max_symbol_word_ratio must be ≥ 0, got -1.0"]) {
            _ = try makeStep("quality", "max_symbol_word_ratio: -1")
        }
    }
}
