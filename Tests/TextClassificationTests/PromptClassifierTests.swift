import Foundation
import Layers
import Tensors
import TestSupport
import TextClassification
import TextData
import TextTasks
import XCTest

/// Prompt-based classifiers (LM-BFF) on token ids given directly: their logits are the LM head's at the mask or the
/// last token for the label tokens, before any update they predict what the pre-trained model predicts, and they
/// learn a toy task; and how `PromptInputs` turns a text into a prompt.
final class PromptClassifierTests: XCTestCase {
    static let bertConfig = SequenceClassifierTrainingTests.bertConfig
    static let maskToken: Int32 = 3
    static let labelTokens: [Int32] = [30, 31]

    static func maskedLM(seed: UInt64 = 5) -> BertForMaskedLM {
        var generator = RandomGenerator(seed: seed)
        return BertForMaskedLM(bertConfig, generator: &generator)
    }

    static func decoder(_ flavor: GPTConfig.Flavor, seed: UInt64 = 5) -> GPTModel {
        var config = SequenceClassifierTrainingTests.gptConfig
        config.flavor = flavor
        var generator = RandomGenerator(seed: seed)
        return GPTModel(config, generator: &generator)
    }

    /// The toy task of `SequenceClassifierTrainingTests` (class 0 texts use tokens 10..<20, class 1 20..<30) with a
    /// prompt: the mask token after the text for a masked LM, a fixed prompt token 5 for a decoder.
    static func examples(_ count: Int, seed: UInt64, decoder: Bool) -> [EncodedExample] {
        SequenceClassifierTrainingTests.examples(count, seed: seed).map {
            EncodedExample(ids: $0.ids + [decoder ? 5 : maskToken], label: $0.label)
        }
    }

    /// Texts of different lengths, right-padded with 0.
    static func batch(decoder: Bool) -> PaddedTokens {
        PaddedTokens(examples(5, seed: 9, decoder: decoder).map(\.ids), padToken: 0)
    }

    /// logits[b, k] against the whole model's forward pass, at row b's mask (or last real) position and column
    /// labelTokens[k]. The restricted head multiplies by the gathered rows alone, so the sums may be ordered differently:
    /// within 1e-6.
    func assertLogitsAreTheLMHeadsAtThe(_ positions: [Int], logits: Tensor, full: Tensor, file: StaticString = #filePath,
                                        line: UInt = #line) {
        let (t, v) = (full.size(1), full.size(2))
        let expected = positions.enumerated().flatMap { row, position in
            Self.labelTokens.map { full.scalars[(row * t + position) * v + Int($0)] }
        }
        XCTAssertEqual(logits.shape, [positions.count, Self.labelTokens.count], file: file, line: line)
        assertClose(logits.scalars, expected, atol: 1e-6, rtol: 0, "restricted logits", file: file, line: line)
    }

    func testMaskedLMLogitsAreTheMLMHeadsAtTheMask() {
        let model = Self.maskedLM()
        let classifier = MaskedLMPromptClassifier(model: model, maskToken: Self.maskToken, labelTokens: Self.labelTokens)
        XCTAssertEqual(classifier.namedParameters().map(\.name), model.namedParameters().map(\.name), "no new parameter")
        XCTAssertEqual(classifier.headParameterNames, [])
        classifier.eval()
        let batch = Self.batch(decoder: false)
        let positions = classifier.maskPositions(batch.tokens)
        XCTAssertEqual(positions, (0..<5).map { row in (0..<batch.length).last { batch.attentionMask.values[row * batch.length + $0] != 0 }! })
        assertLogitsAreTheLMHeadsAtThe(positions, logits: noGrad { classifier.logits(batch) },
                                       full: noGrad { model.forward(tokens: batch.tokens, attentionMask: batch.attentionMask) })
    }

    /// GPT-2 reads its tied token embedding, Llama its own lm_head, which the classifier keeps.
    func testDecoderLogitsAreTheNextTokenLogitsAtTheLastRealToken() {
        for flavor in [GPTConfig.Flavor.gpt2, .llama] {
            let decoder = Self.decoder(flavor)
            let names = decoder.namedParameters().map(\.name)
            let classifier = CausalLMPromptClassifier(decoder: decoder, labelTokens: Self.labelTokens)
            XCTAssertEqual(classifier.namedParameters().map(\.name), names, "\(flavor): no parameter added or dropped")
            XCTAssertEqual(decoder.lmHead == nil, flavor == .gpt2)
            classifier.eval()
            let batch = Self.batch(decoder: true)
            let positions = classifier.lastPositions(batch.attentionMask)
            assertLogitsAreTheLMHeadsAtThe(positions, logits: noGrad { classifier.logits(batch) },
                                           full: noGrad { decoder.forward(tokens: batch.tokens) })
        }
    }

    /// Before any update the classifier is the pre-trained model's prompt prediction: its predictions are the argmax
    /// of the model's own logits over the label tokens, and fit's step-0 dev score is their accuracy.
    func testAtStepZeroThePredictionIsThePretrainedModelsRestrictedArgmax() throws {
        for isDecoder in [false, true] {
            let bert = Self.maskedLM(seed: 11), gpt = Self.decoder(.gpt2, seed: 11)
            let classifier: SequenceClassifier = isDecoder
                ? CausalLMPromptClassifier(decoder: gpt, labelTokens: Self.labelTokens)
                : MaskedLMPromptClassifier(model: bert, maskToken: Self.maskToken, labelTokens: Self.labelTokens)
            let dev = Self.examples(16, seed: 2, decoder: isDecoder)
            (bert.eval(), gpt.eval())                                                          // dropout off
            var expected: [Int] = []
            for example in dev {
                let tokens = IntTensor(example.ids, shape: [1, example.ids.count])
                let full = noGrad { isDecoder ? gpt.forward(tokens: tokens) : bert.forward(tokens: tokens) }
                let row = Self.labelTokens.map { full.scalars[(example.ids.count - 1) * full.size(2) + Int($0)] }
                expected.append(row[1] > row[0] ? 1 : 0)
            }
            let logits = SequenceClassifierTraining.logits(classifier, dev, padToken: 0)
            XCTAssertEqual(logits.map { $0[1] > $0[0] ? 1 : 0 }, expected)
            let outcome = try SequenceClassifierTraining.fit(
                classifier, train: Self.examples(32, seed: 1, decoder: isDecoder), dev: dev,
                test: Self.examples(16, seed: 3, decoder: isDecoder), padToken: 0,
                settings: SequenceClassifierTrainingTests.settings(steps: 10), seed: 0, evaluateBeforeTraining: true)
            let stepZero = try XCTUnwrap(outcome.stepZero)
            XCTAssertEqual(stepZero.dev, ClassificationScore(predicted: expected, truth: dev.map(\.label), classes: 2))
        }
    }

    /// Without a new head, the LM head's two label tokens become the classes: the toy task is learned completely.
    func testPromptFineTuningLearnsAToyTask() throws {
        for isDecoder in [false, true] {
            let classifier: SequenceClassifier = isDecoder
                ? CausalLMPromptClassifier(decoder: Self.decoder(.gpt2), labelTokens: Self.labelTokens)
                : MaskedLMPromptClassifier(model: Self.maskedLM(), maskToken: Self.maskToken, labelTokens: Self.labelTokens)
            let outcome = try SequenceClassifierTraining.fit(
                classifier, train: Self.examples(32, seed: 1, decoder: isDecoder), dev: Self.examples(16, seed: 2, decoder: isDecoder),
                test: Self.examples(16, seed: 3, decoder: isDecoder), padToken: 0,
                settings: SequenceClassifierTrainingTests.settings(), seed: 0, evaluateBeforeTraining: true)
            XCTAssertEqual(outcome.dev.accuracy, 1, "decoder \(isDecoder): \(outcome.devCurve)")
            XCTAssertEqual(outcome.test.accuracy, 1, "decoder \(isDecoder)")
            XCTAssertLessThan(outcome.stepZero!.dev.accuracy, 1, "decoder \(isDecoder): the task is learned, not known")
        }
    }

    // MARK: - PromptInputs

    static let words = ["this", "speech", "is", "from", "a", ".", "the", "king", "speaks", "to", "fool", "and", "his",
                        "lord", "of", "night", "comedy", "tragedy", "history", "##dom"]

    /// A WordPiece with [PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3, [MASK] 4 (`mask: false`: none), then `words`.
    static func tokenizer(mask: Bool = true) throws -> Tokenizer {
        let special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"] + (mask ? ["[MASK]"] : [])
        var vocabulary: [String: Int] = [:]
        for (id, token) in (special + words).enumerated() { vocabulary[token] = id }
        return try WordPieceTokenizer(vocabulary: vocabulary,
                                      addedTokens: special.enumerated().map { AddedToken(id: $0.offset, content: $0.element) })
    }

    static func task(verbalizer: [String: String] = ["comedy": " comedy", "tragedy": " tragedy"]) -> TextTask {
        let prompt = TaskPrompt(template: "{text} this speech is from a", cloze: "{text} this speech is from a{mask}.",
                                verbalizer: verbalizer)
        let definition = TaskDefinition(name: "genre", description: "", labels: ["comedy", "tragedy"], source: "", split: "",
                                        prompt: prompt)
        let example = TaskExample(text: "the king", label: "comedy")
        return TextTask(definition: definition, directory: URL(fileURLWithPath: "/tasks/genre"), train: [example],
                        dev: [example], test: [example], unlabelled: [])
    }

    static func promptInputs(decoder: Bool, maxLength: Int = 32, task: TextTask = task(), mask: Bool = true) throws -> PromptInputs {
        let tokenizer = try tokenizer(mask: mask)
        let inputs = try ClassifierInputs(tokenizer: tokenizer, decoder: decoder, maxLength: maxLength, source: "tokenizer.json")
        return try PromptInputs(task: task, inputs: inputs, decoder: decoder, vocabularySize: tokenizer.vocabularySize,
                                source: "tokenizer.json")
    }

    func ids(_ words: String) throws -> [Int32] { try Self.tokenizer().encode(words).map(Int32.init) }

    /// The cloze sits between [CLS] and [SEP]; a text too long keeps its first tokens and the whole prompt.
    func testTheTextIsTruncatedAndThePromptKept() throws {
        let text = "the king speaks to his fool and the lord of night"
        let prompt = try ids("this speech is from a")
        let cloze = try Self.promptInputs(decoder: false, maxLength: 12)
        XCTAssertEqual(cloze.promptLength, 9)
        XCTAssertEqual(cloze.encode(text), [2] + (try ids("the king speaks")) + prompt + [4] + (try ids(".")) + [3])
        XCTAssertEqual(try Self.promptInputs(decoder: false).encode("the king"),
                       [2] + (try ids("the king")) + prompt + [4] + (try ids(".")) + [3], "a short text is whole")
        // A decoder's template ends where the answer's token follows (this tokenizer has no <|endoftext|>).
        let template = try Self.promptInputs(decoder: true, maxLength: 8)
        XCTAssertEqual(template.encode(text), (try ids("the king speaks")) + prompt)
        XCTAssertNil(template.maskToken)
    }

    /// A text that spells the mask token does not add a second mask to the cloze.
    func testTheClozeHoldsOneMaskWhateverTheText() throws {
        let encoded = try Self.promptInputs(decoder: false).encode("the [MASK] king")
        XCTAssertEqual(encoded.filter { $0 == 4 }.count, 1)
        XCTAssertEqual(encoded.prefix(3), [2] + (try ids("the king")))
    }

    /// Each label's token is the first of its words; a label of several tokens is named.
    func testTheLabelTokenIsTheFirstTokenOfTheVerbaliser() throws {
        let single = try Self.promptInputs(decoder: false)
        XCTAssertEqual(single.labelTokens, [try ids("comedy")[0], try ids("tragedy")[0]])
        XCTAssertEqual(single.multiTokenLabels, [])
        let split = try Self.promptInputs(decoder: true, task: Self.task(verbalizer: ["comedy": " fool king", "tragedy": " tragedy"]))
        XCTAssertEqual(split.labelTokens, [try ids("fool")[0], try ids("tragedy")[0]])
        XCTAssertEqual(split.multiTokenLabels, ["comedy"])
    }

    func testLabelsWhoseFirstTokensCoincideAreAOneLineError() throws {
        let task = Self.task(verbalizer: ["comedy": " king", "tragedy": " kingdom"])
        XCTAssertEqual(try ids("kingdom"), [12, 24], "king ##dom")
        XCTAssertThrowsError(try Self.promptInputs(decoder: false, task: task)) { error in
            let message = "\(error)"
            XCTAssertEqual(message, "task genre: labels 'comedy' (\" king\") and 'tragedy' (\" kingdom\") begin with the same token "
                + "\"king\" (id 12); prompt-based fine-tuning reads one token per label, so their first tokens must differ")
            XCTAssertFalse(message.contains("\n"))
        }
    }

    func testABertClozeNeedsAMaskTokenAndRoomForText() throws {
        XCTAssertThrowsError(try Self.promptInputs(decoder: false, mask: false)) { error in
            XCTAssertEqual("\(error)", "tokenizer.json: the tokenizer has no [MASK] token, which a BERT's cloze (--method prompt) needs")
        }
        XCTAssertThrowsError(try Self.promptInputs(decoder: false, maxLength: 9)) { error in
            XCTAssertEqual("\(error)", "--max-length 9: the prompt of task genre takes 9 tokens without the text, leaving it no room")
        }
        var task = Self.task()
        task = TextTask(definition: TaskDefinition(name: "bare", description: "", labels: task.labels, source: "", split: "",
                                                   prompt: nil),
                        directory: task.directory, train: task.train, dev: task.dev, test: task.test, unlabelled: [])
        XCTAssertThrowsError(try Self.promptInputs(decoder: true, task: task)) { error in
            XCTAssertEqual("\(error)", "/tasks/genre/task.yaml has no prompt (template, cloze, verbalizer), which --method prompt needs")
        }
    }
}
