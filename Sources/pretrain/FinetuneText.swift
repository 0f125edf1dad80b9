import ArgumentParser
import Foundation
import Layers
import Tensors
import TextClassification
import TextTasks
import Training

/// `pretrain finetune-text CKPT --task DIR`: fine-tunes a text checkpoint (gpt2, llama, bert) as a sequence
/// classifier on a task directory, once per seed; dev and test accuracy at the best dev step, results.json, and
/// with --out each seed's classifier as a Hugging Face directory.
struct FinetuneText: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune-text",
        abstract: "Fine-tune a text checkpoint as a sequence classifier on a task; dev/test accuracy per seed.",
        discussion: """
            For each seed 0..<S: K examples per class from train and from dev (--shots; all without it), a fresh \
            copy of the checkpoint with a new head (BERT: [CLS] through a tanh pooler, or the mean of the unpadded \
            states; GPT-2/Llama: the last token that is not padding), AdamW with 10 % warmup and linear decay, the \
            dev accuracy every --eval-every updates, and the test split scored with the weights of the best dev \
            step. --linear-probe freezes the checkpoint and trains the head alone. Texts are tokenized with the \
            checkpoint's tokenizer.json, padded to the longest of a batch and cut to --max-length tokens.
            With --out DIR: DIR/results.json and DIR/seed-N/ per seed, a Hugging Face directory \
            (BertForSequenceClassification, GPT2ForSequenceClassification or LlamaForSequenceClassification) with \
            predictions.json for scripts/check_seqcls_export.py.
            --method prompt fine-tunes the LM head inside the task's prompt instead (LM-BFF: BERT's cloze with \
            [MASK], a decoder's template; each label's verbaliser token), scored before training (zero-shot) too. \
            --self-train: fine-tune, pseudo-label the task's unlabelled texts (probability ≥ --threshold), fine-tune \
            a fresh copy on them, then again on the labelled examples.
            Example: pretrain finetune-text runs/bert --task data/tasks/shakespeare-genre --shots 16 --seeds 5
            """)

    @Argument(help: "A text checkpoint directory, or a run directory (its newest complete checkpoint).")
    var checkpoint: String
    @Option(help: "A task directory (task.yaml, train/dev/test.jsonl; `pretrain tasks prepare`).") var task: String
    @Option(help: "Examples per class in train and in dev, chosen by seed (default: the whole splits).") var shots: Int?
    @Option(help: "Seeds 0..<S: few-shot samples, heads, batch orders, dropout.") var seeds = 3
    @Option(help: "Pooling: cls or mean (BERT), last or mean (GPT-2/Llama); default cls / last.") var head: String?
    @Flag(name: .customLong("linear-probe"), help: "Freeze the checkpoint; train only the head.") var linearProbe = false
    @Option(help: "head (a new classification head) or prompt (the LM head inside the task's prompt).") var method = "head"
    @Flag(name: .customLong("self-train"), help: "Pseudo-label the task's unlabelled texts and train on them first.")
    var selfTrain = false
    @Option(help: "With --self-train: the softmax probability a pseudo-label needs (default 0.9).") var threshold: Double?
    @Option(name: .customLong("max-pseudo-labels"), help: "With --self-train: keep at most this many, the most probable.")
    var maxPseudoLabels: Int?
    @Option(help: "Updates per seed.") var steps = SequenceClassifierSettings().steps
    @Option(help: "Passes over the training examples instead of --steps.") var epochs: Int?
    @Option(help: "Peak learning rate (default 5e-5; 1e-3 with --linear-probe).") var lr: Float?
    @Option(name: .customLong("batch-size"), help: "Texts per update.") var batchSize = SequenceClassifierSettings().batchSize
    @Option(name: .customLong("max-length"), help: "Tokens per text, special tokens included (default: the model's context).")
    var maxLength: Int?
    @Option(name: .customLong("eval-every"), help: "Updates between dev evaluations (default: a twentieth of them).")
    var evalEvery: Int?
    @Option(help: "Write results.json and each seed's Hugging Face classifier (seed-N/) here.") var out: String?
    @Option(help: "Where results.json goes without --out (default: RUN/finetune-text/<task>-<K>shot[-probe].json, RUN the checkpoint's run).")
    var results: String?
    @Flag(help: "Print only the table.") var quiet = false
    @Option(help: "Compute threads (default: every core this process may use).") var threads: Int?

    func run() throws {
        if let threads { Runtime.configure(threads: threads) }
        setvbuf(stdout, nil, _IOLBF, 0)
        // Checked here rather than in validate(): a mistake is one line, without the usage text.
        if let shots, shots < 1 { throw FineTuningError("--shots must be ≥ 1, got \(shots)") }
        guard seeds >= 1 else { throw FineTuningError("--seeds must be ≥ 1, got \(seeds)") }
        var fineTuning = TextClassifierFineTuning(checkpoint: URL(fileURLWithPath: checkpoint))
        guard let method = FineTuningMethod(rawValue: method) else { throw FineTuningError("--method \(method): expected head or prompt") }
        fineTuning.method = method
        var selfTraining = SelfTrainingSettings()
        (selfTraining.threshold, selfTraining.maxPseudoLabels) = (threshold ?? selfTraining.threshold, maxPseudoLabels)
        if let problem = selfTraining.problem { throw FineTuningError(problem) }
        if !selfTrain && (threshold != nil || maxPseudoLabels != nil) {
            throw FineTuningError("--threshold and --max-pseudo-labels choose pseudo-labels: they need --self-train")
        }
        if selfTrain && out != nil {
            throw FineTuningError("--out exports the fine-tuned classifiers; --self-train does not (write the results with --results)")
        }
        if let head {
            guard let pooling = SequencePooling(rawValue: head) else {
                throw FineTuningError("--head \(head): expected cls, mean or last")
            }
            fineTuning.pooling = pooling
        }
        fineTuning.maxLength = maxLength
        fineTuning.settings.steps = steps
        fineTuning.settings.epochs = epochs
        fineTuning.settings.learningRate = lr
        fineTuning.settings.batchSize = batchSize
        fineTuning.settings.evaluateEvery = evalEvery
        fineTuning.settings.linearProbe = linearProbe
        if let problem = fineTuning.settings.problem { throw FineTuningError(problem) }
        let textTask = try TextTask.load(URL(fileURLWithPath: task))
        let outDirectory = out.map { URL(fileURLWithPath: $0) }
        let seedList = (0..<seeds).map(UInt64.init), log = { (line: String) in if !quiet { print(line) } }
        let report = try selfTrain
            ? fineTuning.runSelfTraining(task: textTask, shots: shots, seeds: seedList, selfTraining: selfTraining, log: log)
            : fineTuning.run(task: textTask, shots: shots, seeds: seedList, export: outDirectory, log: log)
        let resultsURL = try outDirectory?.appendingPathComponent("results.json") ?? results.map { URL(fileURLWithPath: $0) }
            ?? fineTuning.defaultResultsURL(task: textTask.name, shots: shots, selfTraining: selfTrain)
        try report.write(to: resultsURL)
        print("\(textTask.name) (\(textTask.labels.count) labels, \(shots.map { "\($0) per class" } ?? "all examples"), "
              + "\(method == .prompt ? "prompt, reading the" : "head") \(report.head)\(linearProbe ? ", linear probe" : "")"
              + "\(selfTrain ? ", self-trained" : ""))")
        report.lines.forEach { print($0) }
        print("wrote \(resultsURL.path)" + (outDirectory.map { " and \(seeds) Hugging Face classifier\(seeds == 1 ? "" : "s") under \($0.path)" } ?? ""))
    }
}
