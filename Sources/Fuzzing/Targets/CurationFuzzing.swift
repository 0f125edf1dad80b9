import Curation
import Foundation

/// `pretrain curate`'s inputs: JSONL documents (its own fast parser with JSONSerialization behind it) and the YAML
/// pipeline, through a whole run into an output directory; every line of the curated.jsonl it writes must read back as
/// a document with a string text.
enum CurationFuzzing {
    static let documents: [UInt8] = Array("""
        {"text": "To be, or not to be, that is the question: whether 'tis nobler in the mind to suffer", "meta": {"year": 1603}}
        {"text": "The slings and arrows of outrageous fortune, or to take arms against a sea of troubles", "id": 2}
        {"id": 3, "text": "caf\\u00e9 na\\u00efve \\ud83d\\ude00 \\u0000 tab\\there and a line\\r\\nbreak", "meta": {"tags": [1, 2.5e3, true, null]}}
        {"text": "To be, or not to be, that is the question: whether 'tis nobler in the mind to suffer"}
        {"meta": {"source": "x", "nested": {"a": {"b": "c"}}}, "text": "Thus conscience does make cowards of us all; and thus the native hue"}
        {"text": "    "}

        """.utf8)

    static let pipelines: [[UInt8]] = [
        """
        steps:
          - kind: normalize
          - kind: exact_dedup
          - kind: near_dedup
            shingle_size: 3
            bands: 8
            rows: 2
            threshold: 0.5
          - kind: boilerplate_lines
            max_document_fraction: 0.5
          - kind: quality
            min_words: 3
          - kind: filter
            field: quality_word_count
            keep_top_percent: 80
          - kind: set_meta
            fields: {year: 1623, era: folio}

        """,
        """
        steps:
          - {kind: normalize, max_blank_lines: 0}
          - {kind: near_dedup, shingle: characters, shingle_size: 4}
          - {kind: filter, field: year, min: 1600, max: 1700, missing: keep}
          - {kind: control_tag, field: year, threshold: 1610, missing: keep}

        """,
    ].map { Array($0.utf8) }

    static func family(_ name: String, pipeline: Bool = false, _ mutate: @escaping (inout [UInt8], inout FuzzRandom) -> Void) -> MutationFamily {
        MutationFamily(name) { random in
            var (docs, yaml) = (documents, random.pick(pipelines))
            for _ in 0..<random.geometricCount(max: 3) {
                if pipeline { mutate(&yaml, &random) } else { mutate(&docs, &random) }
            }
            return FuzzInput(files: [("docs.jsonl", docs), ("pipeline.yaml", yaml)], arguments: random.chance(0.3) ? ["--skip-bad-lines"] : [])
        }
    }

    static let target = FuzzTarget(
        name: "curate", parses: "pretrain curate: JSONL documents and the YAML pipeline through a whole run",
        seeds: pipelines.map { FuzzInput(files: [("docs.jsonl", documents), ("pipeline.yaml", $0)]) },
        families: TextMutations.jsonLinesMutations.map { family($0.name, $0.mutate) } + [
            family("pipeline-values", pipeline: true) {
                TextMutations.replaceYAMLValue(&$0, with: TextMutations.extremeNumbers + ["", "[]", "{}", "-1", "0", "true", "filter"], &$1)
            },
            family("pipeline-bytes", pipeline: true) { ByteMutations.havoc(&$0, &$1) },
        ],
        parse: { input, directory in
            let input = try DocumentInput(paths: [directory.appendingPathComponent("docs.jsonl").path],
                                          skipBadLines: input.arguments.contains("--skip-bad-lines"))
            let pipeline = try CurationPipeline.load(directory.appendingPathComponent("pipeline.yaml").path)
            let output = directory.appendingPathComponent("out")
            _ = try CurationRun(input: input, pipeline: pipeline, output: output).run()
            let curated = try Data(contentsOf: output.appendingPathComponent("curated.jsonl"))
            for line in curated.split(separator: 0x0A) {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any], object["text"] is String else {
                    throw FuzzFinding("curated.jsonl holds a line that is not a document: \(String(decoding: line.prefix(200), as: UTF8.self))")
                }
            }
        })
}
