import Curation
import XCTest

/// XXH64 gives libxxhash's values (0.8.1, read through ctypes), for every path of the algorithm: empty, under 4, 8
/// and 32 bytes, and the four-lane loop over 32-byte stripes.
final class StableHashTests: XCTestCase {
    func testXXH64MatchesTheReferenceImplementation() {
        let cases: [(String, UInt64, UInt64)] = [
            ("", 0, 0xEF46_DB37_51D8_E999),
            ("a", 0, 0xD24E_C4F1_A98C_6E5B),
            ("abc", 0, 0x44BC_2CF5_AD77_0999),
            ("hello world", 12345, 0xDADF_F1FD_8470_1C05),
            ("Nobody inspects the spammish repetition", 0, 0xFBCE_A83C_8A37_8BF1),
            ("The quick brown fox jumps over the lazy dog, twice: the quick brown fox.", 0, 0x05DD_DDEC_682D_9F58),
            ("The quick brown fox jumps over the lazy dog, twice: the quick brown fox.", 1, 0x3CA2_3018_6525_1C74),
        ]
        for (text, seed, expected) in cases {
            XCTAssertEqual(XXH64.hash(text, seed: seed), expected, "XXH64('\(text)', \(seed))")
        }
    }
}
