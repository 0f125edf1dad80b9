import Foundation

/// espeak-ng's IPA output (`--ipa --sep=_`) as phoneme tokens: one token per espeak phoneme ("aɪ", "tʃ", "oːɹ"),
/// stress marks dropped (they belong to syllables, not to the phoneme inventory), language-switch markers
/// ("(en)", "(de)") dropped, words not marked.
public enum PhonemeTokens {
    public static func tokens(espeakIPA: String) -> [String] {
        let unmarked = espeakIPA.replacingOccurrences(of: #"\([a-z]{2,3}(-[a-z0-9-]+)?\)"#, with: "_",
                                                      options: .regularExpression)
        return unmarked.split(whereSeparator: { $0 == "_" || $0.isWhitespace })
            .map { $0.filter { $0 != "ˈ" && $0 != "ˌ" } }
            .filter { !$0.isEmpty }
    }

    /// How many of `tokens(espeakIPA:)` each of espeak-ng's words holds, in order (its words are the
    /// whitespace-separated groups of the IPA; a group with no phoneme is left out). espeak-ng may join a short
    /// unstressed word to its neighbour, so there can be fewer groups than words in the text.
    public static func wordLengths(espeakIPA: String) -> [Int] {
        espeakIPA.split(whereSeparator: \.isWhitespace).map { tokens(espeakIPA: String($0)).count }.filter { $0 > 0 }
    }
}
