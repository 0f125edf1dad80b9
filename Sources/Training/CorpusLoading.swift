import AudioData
import Foundation
import TextData

extension TrainingCorpus {
    /// Reads a prepared corpus (`data.corpus`: train and val shards), the val shards of the named validation
    /// corpora (`data.val`), and, for a mixture or replay, every source's train shards (cut to `subset_tokens`) and
    /// val shards (named by source). Relative paths are taken from the current directory.
    public static func load(_ data: DataSection) throws -> TrainingCorpus {
        if let tts = data.tts {
            do { return TrainingCorpus(speech: try TTSCorpus.load(URL(fileURLWithPath: tts))) } catch let error as AudioError {
                throw TrainingError("data.tts: \(error.message)")
            }
        }
        if let waveforms = data.waveforms {
            do {
                return TrainingCorpus(waveforms: try WaveformCorpus.load(URL(fileURLWithPath: waveforms)))
            } catch let error as AudioError {
                throw TrainingError("data.waveforms: \(error.message)")
            }
        }
        if let features = data.features {
            let corpus: FeatureCorpus
            do { corpus = try FeatureCorpus.load(URL(fileURLWithPath: features)) } catch let error as AudioError {
                throw TrainingError("data.features: \(error.message)")
            }
            guard let targets = data.targets else { return TrainingCorpus(features: corpus) }
            do {
                return TrainingCorpus(features: try corpus.appendingTargets(try FeatureCorpus.load(URL(fileURLWithPath: targets))))
            } catch let error as AudioError {
                throw TrainingError("data.targets: \(error.message)")
            }
        }
        let mainURL = URL(fileURLWithPath: data.corpus).standardizedFileURL
        let corpus = try PreparedCorpus(directory: mainURL)
        let validation = try validationSet(name: "val", corpus)
        var named: [ValidationSet] = []
        for (name, path) in data.val.sorted(by: { $0.key < $1.key }) {
            let other = try PreparedCorpus(directory: URL(fileURLWithPath: path))
            guard other.vocabularySize <= corpus.vocabularySize else {
                throw TrainingError("data.val.\(name) (\(path)) has a vocabulary of \(other.vocabularySize), larger than "
                    + "the train corpus' \(corpus.vocabularySize): it was tokenized with another tokenizer")
            }
            let set = try validationSet(name: name, other)
            guard set.tokenCount > 0 else { throw TrainingError("data.val.\(name) (\(path)) has no val tokens") }
            named.append(set)
        }

        // Sources: each directory is read once; a second name for it becomes an alias of the first.
        var evaluatedDirectory: [URL: String] = [mainURL: "val"]
        var aliases: [String: String] = [:]
        var opened: [URL: PreparedCorpus] = [mainURL: corpus]
        func source(_ path: String, key: String) throws -> PreparedCorpus {
            let url = URL(fileURLWithPath: path).standardizedFileURL
            if let known = opened[url] { return known }
            let other = try PreparedCorpus(directory: url)
            try checkSameTokenizer(other, as: corpus, key: key, path: path)
            opened[url] = other
            return other
        }
        for (name, path) in data.sourceValidationCorpora {
            let url = URL(fileURLWithPath: path).standardizedFileURL
            let other = try source(path, key: "data source '\(name)'")
            if let evaluatedAs = evaluatedDirectory[url] {
                aliases[name] = evaluatedAs
            } else {
                named.append(try validationSet(name: name, other))
                evaluatedDirectory[url] = name
            }
        }
        var sources: [TrainSource] = []
        let plan = MixturePlan(data)
        for planned in plan?.sources ?? [] {
            let prepared = try source(planned.corpus, key: "data source '\(planned.name)'")
            var shards = try prepared.readShards(.train)
            if let subset = planned.subsetTokens {
                let available = shards.reduce(0) { $0 + $1.count }
                guard subset <= available else {
                    throw TrainingError("data source '\(planned.name)': subset_tokens \(subset) is more than its "
                        + "\(available) train tokens (\(planned.corpus))")
                }
                shards = firstTokens(subset, of: shards)
            }
            sources.append(TrainSource(name: planned.name, shards: shards))
        }
        // The tokenizer is copied into every checkpoint and read by generation and evaluation afterwards: a damaged
        // one is refused now, not found by the first command that reads a checkpoint.
        let tokenizer = FileManager.default.fileExists(atPath: corpus.tokenizerURL.path) ? corpus.tokenizerURL : nil
        if let tokenizer {
            do {
                // a unit LM corpus' vocabulary (`pretrain tts units`), or a Hugging Face tokenizer.json
                if tokenizer.lastPathComponent == SpeechUnitVocabulary.fileName {
                    _ = try SpeechUnitVocabulary.read(tokenizer)
                } else {
                    _ = try loadTokenizer(tokenizer)
                }
            } catch {
                throw TrainingError("data.corpus: \(error); prepare the corpus again or put a valid \(tokenizer.lastPathComponent) there")
            }
        }
        var loaded = TrainingCorpus(trainShards: plan == nil ? try corpus.readShards(.train) : [],
                                    validation: validation, namedValidation: named,
                                    vocabularySize: corpus.vocabularySize,
                                    tokenizerURL: tokenizer,
                                    sources: sources, validationAliases: aliases)
        if let field = data.balanceBy { loaded.groups = try documentGroups(corpus, field: field, trainTokens: loaded.trainShards.reduce(0) { $0 + $1.count }) }
        return loaded
    }

    /// The train documents of `corpus` grouped by `field` (`_missing` where a document lacks it), by value.
    static func documentGroups(_ corpus: PreparedCorpus, field: String, trainTokens: Int) throws -> [DocumentGroup] {
        guard let documents = try corpus.documentIndex() else {
            throw TrainingError("data.balance_by: \(corpus.directory.path) has no \(PreparedCorpus.documentIndexName); tokenize "
                + "JSONL documents that carry the field (pretrain curate writes them) to get one")
        }
        var ranges: [String: [Range<Int>]] = [:]
        for document in documents where document.split == "train" {
            guard document.start + document.tokens <= trainTokens else {
                throw TrainingError("\(corpus.directory.path)/\(PreparedCorpus.documentIndexName): a document's tokens end at "
                    + "\(document.start + document.tokens), past the \(trainTokens) train tokens (written for another corpus?)")
            }
            ranges[document.value(at: field) ?? "_missing", default: []].append(document.start..<(document.start + document.tokens))
        }
        guard !ranges.isEmpty else { throw TrainingError("data.balance_by: \(corpus.directory.path) lists no train document") }
        return ranges.keys.sorted().map { DocumentGroup(value: $0, ranges: ranges[$0]!) }
    }

    /// The val split of a prepared corpus, with its bytes per token.
    public static func validationSet(name: String, _ corpus: PreparedCorpus) throws -> ValidationSet {
        let bytesPerToken = corpus.valTokens > 0 && corpus.valBytes > 0 ? Double(corpus.valBytes) / Double(corpus.valTokens) : nil
        return ValidationSet(name: name, shards: try corpus.readShards(.val), bytesPerToken: bytesPerToken)
    }

    /// The first `count` tokens of the shards, in shard order (a multi-epoch subset).
    static func firstTokens(_ count: Int, of shards: [[Int32]]) -> [[Int32]] {
        var left = count
        var kept: [[Int32]] = []
        for shard in shards where left > 0 {
            kept.append(Array(shard.prefix(left)))
            left -= kept.last!.count
        }
        return kept
    }

    /// A source must share the main corpus' token ids: same vocabulary size and, when both have one, the same
    /// tokenizer.json (`pretrain tokenize --tokenizer` reuses one for a second corpus).
    static func checkSameTokenizer(_ other: PreparedCorpus, as main: PreparedCorpus, key: String, path: String) throws {
        let manager = FileManager.default
        let differentFiles = manager.fileExists(atPath: other.tokenizerURL.path) && manager.fileExists(atPath: main.tokenizerURL.path)
            && !manager.contentsEqual(atPath: other.tokenizerURL.path, andPath: main.tokenizerURL.path)
        guard other.vocabularySize == main.vocabularySize, !differentFiles else {
            throw TrainingError("\(key) (\(path)) was tokenized with another tokenizer than data.corpus (vocabulary "
                + "\(other.vocabularySize) vs \(main.vocabularySize)\(differentFiles ? ", different tokenizer.json" : "")); "
                + "tokenize it with: pretrain tokenize --tokenizer <data.corpus>/tokenizer.json")
        }
    }
}
