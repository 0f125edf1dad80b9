import Curation
import Foundation
import Layers
import Tensors
import TextData
import Training

extension StudyData {
    static let controlTokens = ["<|endoftext|>", "<|good|>", "<|bad|>"]
    /// The toxicity filter's thresholds on a classifier's P(offensive).
    static let filterThresholds = [0.9, 0.5, 0.1]

    /// Question 1: MLE vs conditional training vs filtering on the Italian and Spanish fortunes.
    func conditionalTraining(_ results: inout StudyDataResults, console: ConsoleProgress, train: StudyTrain) throws {
        var fortunes: [(text: String, offensive: Bool)] = []
        for language in ["it", "es"] {
            for (text, meta) in try readSource("fortunes/\(language).jsonl") {
                guard let offensive = meta["offensive"] as? Bool else {
                    throw TrainingError("\(sources.path)/fortunes/\(language).jsonl: a fortune without a boolean meta.offensive")
                }
                fortunes.append((text, offensive))
            }
        }
        // 10 % held out by a hash of the text (the judge's test set; its clean part is every arm's val split).
        let heldOut = fortunes.filter { LanguageIdentifierTraining.isHeldOut($0.text, fraction: 0.1) }
        let training = fortunes.filter { !LanguageIdentifierTraining.isHeldOut($0.text, fraction: 0.1) }
        guard !heldOut.isEmpty, training.contains(where: \.offensive), training.contains(where: { !$0.offensive }) else {
            throw TrainingError("\(sources.path)/fortunes: the Italian and Spanish fortunes need offensive and other ones in training")
        }
        results.offensiveShare = Double(training.filter(\.offensive).count) / Double(training.count)

        // The judge: our n-gram classifier, offensive or not, trained on the training fortunes' labels.
        var trainer = LanguageIdentifierTrainer()
        for fortune in training { trainer.add(fortune.text, label: fortune.offensive ? "true" : "false") }
        guard let judge = trainer.model() else { throw TrainingError("the judge could not be trained (no letters in the fortunes?)") }
        for label in [true, false] {
            let part = heldOut.filter { $0.offensive == label }
            let correct = part.filter { isOffensive(judge, $0.text) == label }.count
            results.judgeAccuracy[label ? "offensive" : "not offensive"] = part.isEmpty ? .nan : Double(correct) / Double(part.count)
            results.judgeHeldOut[label ? "offensive" : "not offensive"] = part.count
        }

        // One tokenizer for every arm (with the control tokens), the clean held-out fortunes as each arm's val split.
        let texts = out.appendingPathComponent("corpora/fortunes-text")
        let clean = heldOut.filter { !$0.offensive }.map(\.text)
        var arms: [(name: String, documents: [String])] = [
            ("mle", training.map(\.text)),
            ("conditional", training.map { ($0.offensive ? "<|bad|>" : "<|good|>") + $0.text }),
            ("filtering", training.filter { !$0.offensive }.map(\.text)),
        ]
        // The toxicity filter's trade-off: a filter classifier (trained on half the training fortunes, so that it is
        // not the judge) keeps the fortunes whose P(offensive) is below each threshold (one seed each).
        var filterTrainer = LanguageIdentifierTrainer()
        for fortune in training where LanguageIdentifierTraining.isHeldOut(fortune.text, fraction: 0.5) {
            filterTrainer.add(fortune.text, label: fortune.offensive ? "true" : "false")
        }
        if let filter = filterTrainer.model(), filter.labels.contains("true") {
            let scores = training.map { filter.posteriors($0.text)[filter.labels.firstIndex(of: "true")!] }
            for threshold in Self.filterThresholds {
                arms.append(("classifier-\(Int(threshold * 100))", zip(training, scores).filter { $0.1 < threshold }.map(\.0.text)))
            }
        }
        // The conditional model's val split is read under its condition, so its logged val loss is (the reported
        // clean loss is `textLoss`, the same tokens for every arm).
        for arm in arms {
            try writeDocuments(arm.documents, to: texts.appendingPathComponent("\(arm.name)/train.jsonl"))
            try writeDocuments(arm.name == "conditional" ? clean.map { "<|good|>" + $0 } : clean,
                               to: texts.appendingPathComponent("\(arm.name)/heldout.jsonl"))
        }

        let tokenizer = corpus("fortunes-mle").appendingPathComponent("tokenizer.json")
        for arm in arms {
            let inputs = ["train", "heldout"].map { texts.appendingPathComponent("\(arm.name)/\($0).jsonl") }
            try prepare("fortunes-\(arm.name)", inputs, split: .files(["heldout"]),
                        tokenizer: arm.name == "mle" ? .train(vocabularySize: size.vocabulary, minFrequency: 2, specialTokens: Self.controlTokens)
                                                      : .file(tokenizer), console: console)
        }
        let textTokenizer = try loadTokenizer(tokenizer)
        let cleanIDs = clean.map { Array(textTokenizer.encode($0).prefix(size.context)) }

        for seed in 1...size.seeds {
            for arm in arms where seed == 1 || !arm.name.hasPrefix("classifier-") {
                let name = "fortunes-\(arm.name)-s\(seed)"
                let run = try train(name, "\(arm.name), seed \(seed)",
                                    gpt(corpus: corpus("fortunes-\(arm.name)"), steps: size.conditionalSteps, seed: seed), .fresh)
                let decoder = try decoder(of: run.directory)
                let rate = try offensiveRate(decoder, judge: judge, tokenizer: textTokenizer, condition: nil, seed: seed)
                let good = arm.name == "conditional"
                    ? try offensiveRate(decoder, judge: judge, tokenizer: textTokenizer, condition: "<|good|>", seed: seed) : nil
                let cleanLoss = textLoss(decoder, documents: cleanIDs, tokenizer: textTokenizer,
                                         condition: arm.name == "conditional" ? "<|good|>" : nil)
                results.conditional.append(.init(arm: arm.name, seed: seed, run: name, cleanLoss: cleanLoss,
                                                 offensiveRate: rate, offensiveRateGood: good, keptDocuments: arm.documents.count))
            }
        }
    }

    /// Mean next-token loss over the text tokens of `documents` (token ids, at most a context each), each read after
    /// <|endoftext|> and, for a conditional model, its condition: the same tokens are predicted for every arm, and the
    /// condition's own token is not scored (the trainer's val loss would average it in, and untagged text would start
    /// with a token the conditional model never saw after <|endoftext|>).
    func textLoss(_ decoder: GPTModel, documents: [[Int]], tokenizer: Tokenizer, condition: String?) -> Double {
        let prefix = [tokenizer.specialTokenID("<|endoftext|>")!] + (condition.flatMap { tokenizer.specialTokenID($0) }.map { [$0] } ?? [])
        decoder.eval()
        var total = 0.0, count = 0
        noGrad {
            for text in documents where !text.isEmpty {
                let ids = Array((prefix + text).prefix(size.context + 1))
                let inputs = Array(ids.dropLast())
                var targets = Array(ids.dropFirst())
                for index in 0..<(prefix.count - 1) { targets[index] = -100 }   // the condition, predicted from <|endoftext|>
                let scored = targets.filter { $0 != -100 }.count
                guard scored > 0 else { continue }
                let loss = decoder.loss(tokens: IntTensor(inputs, shape: [1, inputs.count]), targets: IntTensor(targets, shape: [1, targets.count]))
                total += Double(loss.item) * Double(scored)
                count += scored
            }
        }
        return total / Double(max(1, count))
    }

    /// The judge's verdict: P(offensive) above one half.
    func isOffensive(_ judge: LanguageIdentifier, _ text: String) -> Bool {
        let index = judge.labels.firstIndex(of: "true")!
        return judge.posteriors(text)[index] > 0.5
    }

    /// The decoder of a finished run's checkpoint.
    func decoder(of directory: URL) throws -> GPTModel {
        let loaded = try loadCheckpoint(directory)
        guard let decoder = loaded.decoder else { throw TrainingError("\(directory.path): not a decoder") }
        return decoder
    }

    /// The share of `size.samples` samples (temperature 1, at most `sampleTokens` tokens, from <|endoftext|> and the
    /// condition, the other control token banned) that the judge calls offensive; control tokens are removed before
    /// judging. The samples are a function of the seed.
    func offensiveRate(_ decoder: GPTModel, judge: LanguageIdentifier, tokenizer: Tokenizer, condition: String?, seed: Int) throws -> Double {
        let prompt = try GenerationPrompt(tokenizer: tokenizer, prompt: "", condition: condition,
                                          banned: condition == nil ? [] : ["<|bad|>"], source: "the study's tokenizer")
        var generator = RandomGenerator(seed: 0xC0DE + UInt64(seed))
        var offensive = 0
        for _ in 0..<size.samples {
            let ids = decoder.generate(prompt: prompt.ids, maxTokens: size.sampleTokens, temperature: 1, generator: &generator,
                                       stopToken: prompt.stop, banned: prompt.banned)
            var sample = tokenizer.decode(ids)
            for token in Self.controlTokens { sample = sample.replacingOccurrences(of: token, with: " ") }
            if isOffensive(judge, sample) { offensive += 1 }
        }
        return Double(offensive) / Double(size.samples)
    }
}
