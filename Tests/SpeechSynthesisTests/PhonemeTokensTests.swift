import SpeechSynthesis
import XCTest

final class PhonemeTokensTests: XCTestCase {
    func testSplitsOnSeparatorsAndDropsStressMarks() {
        XCTAssertEqual(PhonemeTokens.tokens(espeakIPA: "h_ə_l_ˈəʊ ð_eə\nm_ˈoːɹ"), ["h", "ə", "l", "əʊ", "ð", "eə", "m", "oːɹ"])
    }

    func testDropsLanguageSwitchMarkersAndEmptyPhonemes() {
        // espeak-ng's German voice reading an English loan word.
        XCTAssertEqual(PhonemeTokens.tokens(espeakIPA: "_ɪ_s_t (en)_k_ˈuː_l_(de) ts_v_ˈaɪ"),
                       ["ɪ", "s", "t", "k", "uː", "l", "ts", "v", "aɪ"])
    }
}
