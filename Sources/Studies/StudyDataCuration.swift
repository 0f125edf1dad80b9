import Curation
import FileErrors
import Foundation
import TextData
import Training

extension StudyData {
    /// The pipeline of question 4, the same for every source: what `pretrain curate` would run with this file.
    static let curationPipeline = """
        steps:
          - kind: normalize
          - kind: exact_dedup
          - kind: near_dedup
          - kind: boilerplate_lines
            max_document_fraction: 0.01
            min_documents: 5
          - kind: quality
            min_words: 5
            max_duplicate_line_fraction: 0.6
          - kind: filter
            field: quality_top_2gram_fraction
            max: 0.3
        """

    /// Question 4: the curation funnel of the four skill sources, and a model on curated vs raw text at equal steps,
    /// both judged on the same held-out curated documents. Needs `skillIt`'s texts and tokenizer.
    func curation(_ results: inout StudyDataResults, console: ConsoleProgress, train: StudyTrain) throws {
        let texts = out.appendingPathComponent("corpora/skills-text")
        let inputs = Self.skillSources.map { texts.appendingPathComponent("\($0.0).jsonl").path }
        let curatedDirectory = out.appendingPathComponent("curated")
        console.message("── curation of \(Self.skillSources.map(\.0).joined(separator: ", ")) → \(curatedDirectory.path)")
        var run = CurationRun(input: try DocumentInput(paths: inputs),
                              pipeline: try CurationPipeline.parse(Self.curationPipeline, file: "the study's pipeline"),
                              output: curatedDirectory)
        run.overwrite = true
        let summary = try run.run()
        results.funnel = summary.sources.map { source in
            StudyDataResults.FunnelRow(source: (source as NSString).deletingPathExtension,
                                       input: summary.inputBySource[source]?.documents ?? 0,
                                       kept: summary.steps.map { $0.bySource[source]?.documentsKept ?? 0 },
                                       dropped: summary.steps.reduce(into: [:]) { all, step in
                                           all.merge(step.bySource[source]?.dropped ?? [:], uniquingKeysWith: +)
                                       })
        }
        results.funnelSteps = summary.steps.map(\.kind)
        let clusters = (try? String(contentsOf: curatedDirectory.appendingPathComponent("near_dup_clusters.jsonl"), encoding: .utf8)) ?? ""
        results.nearDuplicateClusters = clusters.split(separator: "\n").count

        // The held-out documents: curated ones chosen by a hash of the text; neither arm trains on them.
        let curated = try JSONLines.lines(Data(contentsOf: curatedDirectory.appendingPathComponent("curated.jsonl"))).map { _, line in
            (try JSONSerialization.jsonObject(with: line) as? [String: Any])?["text"] as? String ?? ""
        }
        let heldOut = curated.filter { LanguageIdentifierTraining.isHeldOut($0, fraction: 0.1) }
        let heldOutSet = Set(heldOut)
        var raw: [String] = []
        for (_, path) in Self.skillSources {
            raw += try readSource(path).map(\.text).filter { !heldOutSet.contains($0) && !LanguageIdentifierTraining.isHeldOut($0, fraction: 0.1) }
        }
        let arms = [("raw", raw), ("curated", curated.filter { !heldOutSet.contains($0) })]
        let tokenizer = corpus("skills-tokenizer").appendingPathComponent("tokenizer.json")
        for (name, documents) in arms {
            let directory = out.appendingPathComponent("corpora/curation-text/\(name)")
            try writeDocuments(documents, to: directory.appendingPathComponent("train.jsonl"))
            try writeDocuments(heldOut, to: directory.appendingPathComponent("heldout.jsonl"))
            try prepare("curation-\(name)", ["train", "heldout"].map { directory.appendingPathComponent("\($0).jsonl") },
                        split: .files(["heldout"]), tokenizer: .file(tokenizer), console: console)
        }
        for seed in 1...size.seeds {
            for (name, documents) in arms {
                let run = try train("curation-\(name)-s\(seed)", "\(name) text, seed \(seed)",
                                    gpt(corpus: corpus("curation-\(name)"), steps: size.mixtureSteps, seed: seed), .fresh)
                let trainTokens = try PreparedCorpus(directory: corpus("curation-\(name)")).manifest.trainTokens
                results.curation.append(.init(arm: name, seed: seed, run: run.directory.lastPathComponent,
                                              cleanLoss: run.records.last { $0.valLoss != nil }?.valLoss ?? .nan,
                                              documents: documents.count, trainTokens: trainTokens))
            }
        }
    }
}
