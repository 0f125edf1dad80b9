import Foundation
import Layers
import Training

/// The decoders of a `--compose` expression, each bound to a checkpoint by `--model NAME=PATH`, loaded and checked to
/// share one tokenizer (the same tokenizer.json, byte for byte) and one vocabulary.
public struct ComposedCheckpoints {
    public let expression: ComposeExpression
    /// The checkpoint directory of each of the expression's terms, in its order.
    public let checkpoints: [URL]
    public let decoder: ComposedDecoder
    /// The tokenizer every model shares.
    public let tokenizerURL: URL

    /// `bindings` are `NAME=PATH` (a checkpoint or a run directory: its newest complete checkpoint).
    public init(expression text: String, bindings: [String]) throws {
        expression = try ComposeExpression(parsing: text)
        var paths: [String: String] = [:]
        for binding in bindings {
            guard let equals = binding.firstIndex(of: "="), equals != binding.startIndex, binding.index(after: equals) != binding.endIndex else {
                throw CompositionError("--model \(binding): expected NAME=PATH (a checkpoint or run directory)")
            }
            let name = String(binding[..<equals])
            guard paths[name] == nil else { throw CompositionError("--model \(name) is bound twice") }
            paths[name] = String(binding[binding.index(after: equals)...])
        }
        let names = expression.terms.map(\.name)
        if let missing = names.first(where: { paths[$0] == nil }) {
            throw CompositionError("--compose names \(missing), which no --model \(missing)=PATH binds")
        }
        if let unused = paths.keys.sorted().first(where: { !names.contains($0) }) {
            throw CompositionError("--model \(unused) is bound but --compose \"\(text)\" does not use it")
        }
        var models: [GPTModel] = [], checkpoints: [URL] = []
        var shared: (url: URL, bytes: Data, name: String)?
        for name in names {
            let loaded = try loadCheckpoint(URL(fileURLWithPath: paths[name]!))
            guard let decoder = loaded.decoder else {
                throw CompositionError("\(name) (\(loaded.directory.path)) holds a \(loaded.config.model.flavor.rawValue) encoder; "
                    + "a composition needs decoders (gpt2 or llama)")
            }
            let tokenizer = try loaded.tokenizerFile()
            let bytes = try Data(contentsOf: tokenizer)
            if let shared {
                guard bytes == shared.bytes else {
                    throw CompositionError("\(name) (\(tokenizer.path)) and \(shared.name) (\(shared.url.path)) have different "
                        + "tokenizers: composed models must share one")
                }
                guard decoder.config.vocabSize == models[0].config.vocabSize else {
                    throw CompositionError("\(name) has a vocabulary of \(decoder.config.vocabSize), \(shared.name) of "
                        + "\(models[0].config.vocabSize): composed models must share one")
                }
            } else {
                shared = (tokenizer, bytes, name)
            }
            models.append(decoder)
            checkpoints.append(loaded.directory)
        }
        self.checkpoints = checkpoints
        tokenizerURL = shared!.url
        decoder = ComposedDecoder(models: models, weights: expression.terms.map { Float($0.weight) })
    }
}
