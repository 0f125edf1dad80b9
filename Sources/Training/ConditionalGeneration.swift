import Foundation
import TextData

/// Conditional training's sampling side (Korbak et al. 2023, "Pretraining Language Models with Human Preferences"):
/// documents were tagged with control tokens such as `<|good|>` / `<|bad|>` (special tokens of the tokenizer) and the
/// model learned p(x | tag), so a sample is conditioned by starting it with the tag, and the other tags are kept from
/// being generated.
public struct GenerationPrompt: Equatable {
    /// <|endoftext|> (when the tokenizer has it), the condition's id, then the prompt's tokens.
    public var ids: [Int]
    /// Ids that are never sampled.
    public var banned: Set<Int>
    /// <|endoftext|>: generation stops there.
    public var stop: Int?

    /// `condition` and `banned` must be special tokens of `tokenizer` (named in the error with `source`).
    public init(tokenizer: Tokenizer, prompt: String, condition: String? = nil, banned: [String] = [], source: String) throws {
        func special(_ token: String, _ flag: String) throws -> Int {
            guard let id = tokenizer.specialTokenID(token) else {
                throw TrainingError("\(flag) '\(token)' is not a special token of \(source) (tag documents with control tokens "
                    + "given to `pretrain tokenize --special-tokens`)")
            }
            return id
        }
        stop = tokenizer.specialTokenID("<|endoftext|>")
        ids = (stop.map { [$0] } ?? []) + (try condition.map { [try special($0, "--condition")] } ?? []) + tokenizer.encode(prompt)
        self.banned = Set(try banned.map { try special($0, "--ban") })
        guard !ids.isEmpty else {
            throw TrainingError("the tokenizer has no <|endoftext|> token to start from: give a non-empty prompt or a condition")
        }
    }
}
