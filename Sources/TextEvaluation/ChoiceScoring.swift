import Foundation
import Layers
import Tensors
import TextData

/// The tokens of one (context, continuation) request, as lm-evaluation-harness's `loglikelihood` feeds a decoder.
public struct ChoiceTokens: Equatable, Sendable {
    public var context: [Int]
    public var continuation: [Int]

    public init(context: [Int], continuation: [Int]) { (self.context, self.continuation) = (context, continuation) }

    /// What a model with `window` positions reads: (context + continuation)[-(window + 1):][:-1], the harness's
    /// truncation. The context loses its start first; the continuation's last token is predicted, never read.
    public func input(window: Int) -> [Int] { Array((context + continuation).suffix(window + 1).dropLast()) }
}

/// What a decoder makes of one continuation.
public struct ChoiceLikelihood: Equatable, Sendable, Codable {
    /// Σ log p(token | the tokens before it) over the continuation's tokens (natural log).
    public var logLikelihood: Double
    /// Every continuation token is the most probable token at its position.
    public var isGreedy: Bool
    /// Tokens the model read (after the truncation to its window).
    public var inputLength: Int

    public init(logLikelihood: Double, isGreedy: Bool, inputLength: Int) {
        (self.logLikelihood, self.isGreedy, self.inputLength) = (logLikelihood, isGreedy, inputLength)
    }
}

/// A problem with the model, tokenizer or request that a user can cause, as one line.
public struct EvaluationError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description.replacingOccurrences(of: "\n", with: "\\n") }
}

/// lm-evaluation-harness's `_encode_pair` for a decoder (lm_eval/api/model.py, `TemplateLM`): the context's trailing
/// whitespace moves to the front of the continuation; the context's tokens are encode(context), and the
/// continuation's are encode(context + continuation) after as many tokens. So a BPE merge across the boundary is
/// split where encode(context) ends (the harness's behaviour, kept so that scores compare). No special tokens are
/// added, except that an empty context is `prefix` alone (the harness's `prefix_token_id`, <|endoftext|>).
public struct ChoiceEncoder {
    public let tokenizer: Tokenizer
    public let prefix: Int?

    public init(tokenizer: Tokenizer) {
        self.tokenizer = tokenizer
        prefix = tokenizer.specialTokenID("<|endoftext|>")
    }

    public func encode(context: String, continuation: String) throws -> ChoiceTokens {
        if context.isEmpty {
            guard let prefix else { throw EvaluationError("an empty context needs an <|endoftext|> token, which the tokenizer lacks") }
            return ChoiceTokens(context: [prefix], continuation: tokenizer.encode(continuation))
        }
        // Python's str is a sequence of code points; a Swift Character would hold "\r\n" as one.
        let scalars = Array(context.unicodeScalars)
        let kept = scalars.lastIndex { !Self.isPythonWhitespace($0) }.map { $0 + 1 } ?? 0
        var head = String.UnicodeScalarView(), tail = String.UnicodeScalarView()
        head.append(contentsOf: scalars[..<kept])
        tail.append(contentsOf: scalars[kept...])
        let contextIDs = tokenizer.encode(String(head))
        let whole = tokenizer.encode(String(head) + String(tail) + continuation)
        return ChoiceTokens(context: contextIDs, continuation: Array(whole.dropFirst(contextIDs.count)))
    }

    /// Python's str.isspace: Unicode White_Space, and the separators U+001C…U+001F (bidirectional class B or S).
    static func isPythonWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isWhitespace || (0x1C...0x1F).contains(scalar.value)
    }
}

/// Scores continuations with a decoder (GPT-2 or Llama, or a composition of them: `ComposedDecoder`) as the harness's
/// `_loglikelihood_tokens` does: one forward pass over each request's input, the log-softmax read at the
/// continuation's positions. Requests are batched, right-padded (a causal model's real positions never see the
/// padding), and only the continuation's rows go through the output projection.
public final class DecoderChoiceScorer {
    public let model: any NextTokenModel
    public let encoder: ChoiceEncoder
    /// Rows (requests) per forward pass.
    public var batchRows: Int
    /// The checkpoint directory the model came from, when it came from one (reports name it).
    public var checkpoint: URL?

    /// `source` names the tokenizer in errors.
    public init(model: any NextTokenModel, tokenizer: Tokenizer, source: String, batchRows: Int = 16) throws {
        guard tokenizer.vocabularySize <= model.vocabularySize else {
            throw EvaluationError("\(source) has \(tokenizer.vocabularySize) ids, more than the model's vocabulary of "
                + "\(model.vocabularySize): another tokenizer?")
        }
        precondition(batchRows >= 1, "at least one row per batch")
        (self.model, self.batchRows) = (model, batchRows)
        encoder = ChoiceEncoder(tokenizer: tokenizer)
    }

    /// The model's positions: the harness's `max_length`.
    public var window: Int { model.contextLength }

    public func score(context: String, continuations: [String]) throws -> [ChoiceLikelihood] {
        try score(continuations.map { try encoder.encode(context: context, continuation: $0) })
    }

    public func score(_ requests: [ChoiceTokens]) throws -> [ChoiceLikelihood] {
        for request in requests {
            guard !request.continuation.isEmpty else { throw EvaluationError("a continuation encodes to no tokens") }
            guard request.continuation.count <= window else {
                throw EvaluationError("a continuation of \(request.continuation.count) tokens does not fit the model's "
                    + "window of \(window) tokens")
            }
        }
        var results: [ChoiceLikelihood] = []
        results.reserveCapacity(requests.count)
        var start = 0
        while start < requests.count {
            let batch = Array(requests[start..<min(requests.count, start + batchRows)])
            results += model.inEvaluationMode { scoreBatch(batch) }
            start += batch.count
        }
        return results
    }

    /// One forward pass over `batch`, each input right-padded to the longest.
    private func scoreBatch(_ batch: [ChoiceTokens]) -> [ChoiceLikelihood] {
        let inputs = batch.map { $0.input(window: window) }
        let length = inputs.map(\.count).max()!
        let tokens = IntTensor(inputs.flatMap { $0 + [Int](repeating: 0, count: length - $0.count) }, shape: [batch.count, length])
        // The rows that predict continuation tokens: positions count - n ..< count of each input.
        var rows: [Int] = [], targets: [Int] = []
        for (b, request) in batch.enumerated() {
            let count = inputs[b].count, n = request.continuation.count
            rows += (count - n..<count).map { b * length + $0 }
            targets += request.continuation
        }
        let logits = model.nextTokenScores(tokens: tokens, rows: rows)                  // (N, V)
        let vocabulary = logits.size(-1)
        var results: [ChoiceLikelihood] = []
        var row = 0
        for (b, request) in batch.enumerated() {
            var sum = 0.0, greedy = true
            for _ in request.continuation {
                let scores = UnsafeBufferPointer(start: logits.data + row * vocabulary, count: vocabulary)
                let target = targets[row]
                var best = 0
                for v in 1..<vocabulary where scores[v] > scores[best] { best = v }
                let top = Double(scores[best])
                var total = 0.0
                for value in scores { total += exp(Double(value) - top) }
                sum += Double(scores[target]) - top - log(total)
                if best != target { greedy = false }
                row += 1
            }
            results.append(ChoiceLikelihood(logLikelihood: sum, isGreedy: greedy, inputLength: inputs[b].count))
        }
        return results
    }
}
