import ArgumentParser
import Foundation
import Layers
import Tensors
import TextData
import Training

/// `pretrain generate CKPT --prompt TEXT [--temperature --top-k --top-p --max-tokens --seed]`: continues a prompt
/// with a decoder checkpoint (KV-cache sampling, `GPTModel.generate`).
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Continue a prompt with a decoder checkpoint (gpt2 or llama): temperature, top-k, top-p sampling.",
        discussion: """
            The prompt is encoded with the checkpoint's tokenizer.json and preceded by <|endoftext|> (documents in a \
            prepared corpus begin with it); generation stops at the next <|endoftext|> or after --max-tokens. Past \
            the context length the window slides (see GPTModel.generate). With --compose, every step samples from \
            the composition's normalised log-probabilities, each model advancing its own KV cache.
            """)

    @Argument(help: "A checkpoint directory, or a run directory (its newest complete checkpoint); not with --compose.")
    var checkpoint: String?

    @OptionGroup var composition: ComposeOptions

    @Option(help: "Text to continue (default: start a new document).")
    var prompt: String = ""

    @Option(help: "Softmax temperature; 0 picks the most likely token every time.")
    var temperature: Float = 0.8

    @Option(name: .customLong("top-k"), help: "Sample only among the k most likely tokens.")
    var topK: Int?

    @Option(name: .customLong("top-p"), help: "Sample only from the smallest set of tokens whose probability reaches p.")
    var topP: Float?

    @Option(name: .customLong("max-tokens"), help: "Most tokens to generate.")
    var maxTokens: Int = 200

    @Option(help: "Random seed of the sampling (default: a fresh one each run).")
    var seed: UInt64?

    @Option(help: "tokenizer.json to use instead of the checkpoint's (or its run directory's).")
    var tokenizer: String?

    @Option(help: "Compute threads (default: every core this process may use).")
    var threads: Int?

    @Option(help: ArgumentHelp(PrecisionOption.help))
    var precision = "fp32"

    @Option(help: ArgumentHelp("A control token to condition on, e.g. <|good|> (conditional training: documents tagged by a scorer).",
                               valueName: "TOKEN"))
    var condition: String?

    @Option(help: ArgumentHelp("A special token never to generate, e.g. <|bad|> (repeatable).", valueName: "TOKEN"))
    var ban: [String] = []

    func validate() throws {
        guard temperature >= 0 else { throw ValidationError("--temperature must be ≥ 0") }
        if let topK, topK < 1 { throw ValidationError("--top-k must be ≥ 1") }
        if let topP, !(topP > 0 && topP <= 1) { throw ValidationError("--top-p must be in (0, 1]") }
        guard maxTokens >= 0 else { throw ValidationError("--max-tokens must be ≥ 0") }
    }

    func run() throws {
        if let threads {
            guard threads >= 1 else { throw TrainingError("--threads must be ≥ 1, got \(threads)") }
            Runtime.configure(threads: threads)
        }
        _ = try PrecisionOption.apply(precision, invalid: { TrainingError($0) })
        let decoder: any NextTokenModel, tokenizerURL: URL
        if let composed = try composition.load(checkpoint: checkpoint) {
            (decoder, tokenizerURL) = (composed.decoder, tokenizer.map { URL(fileURLWithPath: $0) } ?? composed.tokenizerURL)
        } else {
            let loaded = try loadCheckpoint(URL(fileURLWithPath: checkpoint!))
            guard let model = loaded.decoder else {
                throw TrainingError("\(loaded.directory.path) holds a \(loaded.config.model.flavor) encoder; generate needs a decoder (gpt2 or llama)")
            }
            (decoder, tokenizerURL) = (model, try loaded.tokenizerFile(override: tokenizer))
        }
        let textTokenizer = try loadTokenizer(tokenizerURL)
        let start = try GenerationPrompt(tokenizer: textTokenizer, prompt: prompt, condition: condition, banned: ban,
                                         source: tokenizerURL.path)
        let promptIDs = start.ids
        if let outside = promptIDs.first(where: { $0 >= decoder.vocabularySize }) {
            throw ValidationError("\(tokenizerURL.path) gives id \(outside), outside the model's vocabulary of \(decoder.vocabularySize): another tokenizer?")
        }
        var generator = RandomGenerator(seed: seed ?? UInt64.random(in: 0...UInt64.max))
        let generated = decoder.generate(prompt: promptIDs, maxTokens: maxTokens, temperature: temperature, topK: topK,
                                         topP: topP, generator: &generator, stopToken: start.stop, banned: start.banned)
        print(prompt + textTokenizer.decode(generated))
    }
}
