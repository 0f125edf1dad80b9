import AudioData
import Foundation
import Layers
import Tensors

/// A CTC phoneme recogniser: a fine-tuned encoder and its linear head (classes: blank, then `inventory`), greedy
/// decoding. What `pretrain finetune` trains; the text-to-speech judge transcribes real and synthesised speech with it.
public final class PhonemeRecognizer {
    public let encoder: FineTunableEncoder
    public let head: Linear
    public let inventory: [String]

    public init(encoder: FineTunableEncoder, head: Linear, inventory: [String]) {
        precondition(head.outFeatures == inventory.count + 1, "a CTC head of \(head.outFeatures) classes for \(inventory.count) phonemes")
        (self.encoder, self.head, self.inventory) = (encoder, head, inventory)
        encoder.module.eval()
    }

    /// The phonemes heard in `waveform` (16 kHz), greedy CTC decoding.
    public func transcribe(_ waveform: Waveform) throws -> [String] {
        let input = try encoder.input(waveform)
        let (scores, lengths) = noGrad { () -> (Tensor, [Int]) in
            let (states, lengths) = encoder.states([input])
            return (head(states), lengths)
        }
        return greedyDecode(scores.data, frames: lengths[0], classes: head.outFeatures).map { inventory[Int($0) - 1] }
    }

    /// Phoneme edits (substitutions, insertions, deletions) that turn `hypothesis` into `reference`.
    public static func errors(_ hypothesis: [String], _ reference: [String]) -> Int {
        var ids: [String: Int32] = [:]
        func encode(_ tokens: [String]) -> [Int32] {
            tokens.map { token in
                if let id = ids[token] { return id }
                ids[token] = Int32(ids.count)
                return Int32(ids.count - 1)
            }
        }
        return editDistance(encode(hypothesis), encode(reference))
    }
}
