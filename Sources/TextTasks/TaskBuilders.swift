import Curation
import Foundation

/// Where a task's texts come from: the bundled plays, or the sources `make sources` prepares (data/sources).
public struct TaskInputs: Sendable {
    public var shakespeare: URL
    public var sources: URL?

    public init(shakespeare: URL, sources: URL?) { (self.shakespeare, self.sources) = (shakespeare, sources) }

    /// The speeches of each play file (name without .txt), plays in name order.
    func plays() throws -> [(play: String, speeches: [ShakespeareSpeeches.Speech])] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: shakespeare.path)) ?? []
        let plays = names.filter { $0.hasSuffix(".txt") }.sorted()
        guard !plays.isEmpty else { throw TaskError("\(shakespeare.path): no .txt plays (the bundled data/shakespeare)") }
        return try plays.map { name in
            let url = shakespeare.appendingPathComponent(name)
            guard let text = try? String(contentsOf: url, encoding: .utf8) else { throw TaskError("\(url.path): cannot be read as UTF-8") }
            return (String(name.dropLast(4)), ShakespeareSpeeches.parse(text))
        }
    }

    /// The documents of a JSONL file under the sources directory.
    func documents(_ relativePath: String) throws -> [CurationDocument] {
        guard let sources else { throw TaskError("no sources directory given (run `make sources`)") }
        let url = sources.appendingPathComponent(relativePath)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw TaskError("\(url.path): no such file (`make sources` fetches and prepares it)")
        }
        var documents: [CurationDocument] = []
        _ = try DocumentInput(paths: [url.path]).forEach { documents.append($0) }
        return documents
    }
}

/// One task of the suite: its definition, how it is split, and how its labelled texts are gathered.
public struct TaskBuilder: Sendable {
    public var definition: TaskDefinition
    public var splitting: TaskSplitting
    /// Whether it reads data/sources (else only the bundled plays).
    public var needsSources: Bool
    public var examples: @Sendable (TaskInputs) throws -> [TaskExample]
}

extension TaskBuilder {
    /// The suite, in the order `pretrain tasks prepare` writes it.
    public static let suite: [TaskBuilder] = [play, genre, character, fortuneLanguage, fortuneOffensive, manSection, codeOrProse]

    static let minimumSpeechWords = 8

    /// Which of six plays a speech comes from.
    static let play: TaskBuilder = {
        let plays = ["hamlet", "henry_v", "macbeth", "othello", "tempest", "twelfth_night"]
        let titles = ["hamlet": " Hamlet", "henry_v": " Henry V", "macbeth": " Macbeth", "othello": " Othello",
                      "tempest": " The Tempest", "twelfth_night": " Twelfth Night"]
        return TaskBuilder(
            definition: TaskDefinition(
                name: "shakespeare-play", description: "Which of six plays a speech (of at least \(minimumSpeechWords) words) comes from.",
                labels: plays, source: "data/shakespeare (bundled)", split: "by speech",
                prompt: TaskPrompt(template: "{text}\nThis speech is from the play", cloze: "{text} This speech is from{mask}.",
                                   verbalizer: titles)),
            splitting: TaskSplitting(trainCap: 250, devCap: 50, testCap: 100), needsSources: false,
            examples: { inputs in
                try inputs.plays().filter { plays.contains($0.play) }.flatMap { play, speeches in
                    speeches.enumerated().filter { $0.element.wordCount >= minimumSpeechWords }.map {
                        TaskExample(text: $0.element.text, label: play, group: "\(play):\($0.offset)")
                    }
                }
            })
    }()

    /// The First Folio's three genres; Cymbeline (a tragedy in the Folio), Troilus and Cressida and Pericles are left
    /// out as disputed, the poems as not plays.
    static let genres: [String: String] = {
        var genre: [String: String] = [:]
        for play in ["alls_well_that_ends_well", "as_you_like_it", "comedy_of_errors", "loves_labours_lost", "measure_for_measure",
                     "merchant_of_venice", "merry_wives_of_windsor", "midsummer_nights_dream", "much_ado_about_nothing",
                     "taming_of_the_shrew", "tempest", "twelfth_night", "two_gentlemen_of_verona", "winters_tale"] {
            genre[play] = "comedy"
        }
        for play in ["henry_iv_part_1", "henry_iv_part_2", "henry_v", "henry_vi_part_1", "henry_vi_part_2", "henry_vi_part_3",
                     "henry_viii", "john", "richard_ii", "richard_iii"] {
            genre[play] = "history"
        }
        for play in ["antony_and_cleopatra", "coriolanus", "hamlet", "julius_caesar", "lear", "macbeth", "othello",
                     "romeo_and_juliet", "timon_of_athens", "tragedy_of_titus_andronicus"] {
            genre[play] = "tragedy"
        }
        return genre
    }()

    /// Comedy, history or tragedy, with train, dev and test speeches from different plays.
    static let genre = TaskBuilder(
        definition: TaskDefinition(
            name: "shakespeare-genre",
            description: "The First Folio genre (comedy, history, tragedy) of a speech; dev and test plays are unseen in train.",
            labels: ["comedy", "history", "tragedy"], source: "data/shakespeare (bundled)", split: "by play",
            prompt: TaskPrompt(template: "{text}\nThis speech is from a", cloze: "{text} This speech is from a{mask}.",
                               verbalizer: ["comedy": " comedy", "history": " history", "tragedy": " tragedy"])),
        splitting: TaskSplitting(trainCap: 400, devCap: 100, testCap: 200), needsSources: false,
        examples: { inputs in
            try inputs.plays().flatMap { play, speeches -> [TaskExample] in
                guard let genre = genres[play] else { return [] }
                return speeches.filter { $0.wordCount >= minimumSpeechWords }.map { TaskExample(text: $0.text, label: genre, group: play) }
            }
        })

    /// Which of Twelfth Night's six most talkative characters speaks.
    static let character: TaskBuilder = {
        let speakers = ["CLOWN", "MALVOLIO", "OLIVIA", "SIR ANDREW", "SIR TOBY", "VIOLA"]
        let names = ["CLOWN": " Feste", "MALVOLIO": " Malvolio", "OLIVIA": " Olivia", "SIR ANDREW": " Sir Andrew",
                     "SIR TOBY": " Sir Toby", "VIOLA": " Viola"]
        return TaskBuilder(
            definition: TaskDefinition(
                name: "shakespeare-character", description: "Which of Twelfth Night's six main characters speaks a speech (at least 5 words).",
                labels: speakers, source: "data/shakespeare/twelfth_night.txt (bundled)", split: "by speech",
                prompt: TaskPrompt(template: "{text}\nThe speaker is", cloze: "{text} The speaker is{mask}.", verbalizer: names)),
            splitting: TaskSplitting(), needsSources: false,
            examples: { inputs in
                guard let play = try inputs.plays().first(where: { $0.play == "twelfth_night" }) else {
                    throw TaskError("\(inputs.shakespeare.path): twelfth_night.txt is missing")
                }
                return play.speeches.enumerated().filter { speakers.contains($0.element.speaker) && $0.element.wordCount >= 5 }.map {
                    TaskExample(text: $0.element.text, label: $0.element.speaker, group: "\($0.offset)")
                }
            })
    }()

    static let languageNames = ["bg": " Bulgarian", "br": " Breton", "cs": " Czech", "de": " German", "en": " English",
                                "eo": " Esperanto", "es": " Spanish", "fr": " French", "ga": " Irish", "it": " Italian",
                                "pl": " Polish", "pt": " Portuguese", "ru": " Russian", "zh": " Chinese"]
    /// Languages with enough distinct fortunes for 300 training, 60 dev and 120 test examples.
    static let fortuneLanguages = ["cs", "de", "en", "eo", "es", "it", "pl", "pt", "ru", "zh"]
    static let maximumFortuneCharacters = 1500

    /// The language of a (non-offensive) fortune.
    static let fortuneLanguage = TaskBuilder(
        definition: TaskDefinition(
            name: "fortunes-language", description: "The language of a fortune cookie (Debian fortunes packages, offensive sections left out).",
            labels: fortuneLanguages, source: "data/sources/fortunes (make sources)", split: "by text",
            prompt: TaskPrompt(template: "{text}\nThe language of this text is", cloze: "{text} This text is in{mask}.",
                               verbalizer: languageNames.filter { fortuneLanguages.contains($0.key) })),
        splitting: TaskSplitting(trainCap: 300, devCap: 60, testCap: 120), needsSources: true,
        examples: { inputs in
            try fortuneLanguages.flatMap { language in
                try inputs.documents("fortunes/\(language).jsonl").filter {
                    $0.meta["offensive"] != .bool(true) && fortuneFits($0.text)
                }.map { TaskExample(text: $0.text, label: language, group: $0.text) }
            }
        })

    static func fortuneFits(_ text: String) -> Bool {
        text.count <= maximumFortuneCharacters && text.split(whereSeparator: \.isWhitespace).count >= 3
    }

    /// Offensive or not among the Italian and Spanish fortunes: the packages' own `-off` sections are the label.
    static let fortuneOffensive = TaskBuilder(
        definition: TaskDefinition(
            name: "fortunes-offensive",
            description: "Whether an Italian or Spanish fortune comes from its package's offensive section (fortunes-it-off, fortunes-es-off).",
            labels: ["clean", "offensive"], source: "data/sources/fortunes/{it,es}.jsonl (make sources)", split: "by text",
            prompt: TaskPrompt(template: "{text}\nIs this text offensive? Answer:", cloze: "{text} Offensive?{mask}.",
                               verbalizer: ["clean": " no", "offensive": " yes"])),
        splitting: TaskSplitting(trainCap: 500, devCap: 100, testCap: 200), needsSources: true,
        examples: { inputs in
            try ["it", "es"].flatMap { language in
                try inputs.documents("fortunes/\(language).jsonl").filter { fortuneFits($0.text) }.map {
                    TaskExample(text: $0.text, label: $0.meta["offensive"] == .bool(true) ? "offensive" : "clean", group: $0.text)
                }
            }
        })

    static let manSections = ["1", "2", "3", "4", "5", "7", "8"]

    /// The manual section of a man page paragraph; a page's paragraphs share a split.
    static let manSection = TaskBuilder(
        definition: TaskDefinition(
            name: "manpage-section",
            description: "The section (1 commands, 2 system calls, 3 library, 4 devices, 5 files, 7 overviews, 8 administration) "
                + "of a man page paragraph of at least 12 words; dev and test pages are unseen in train.",
            labels: manSections, source: "data/sources/manpages.jsonl (make sources)", split: "by page",
            prompt: TaskPrompt(template: "{text}\nThis is from manual section", cloze: "{text} Manual section{mask}.",
                               verbalizer: Dictionary(uniqueKeysWithValues: manSections.map { ($0, " \($0)") }))),
        splitting: TaskSplitting(trainCap: 200, devCap: 40, testCap: 80), needsSources: true,
        examples: { inputs in
            try inputs.documents("manpages.jsonl").compactMap { document in
                guard let section = document.meta["section"]?.string?.first.map(String.init), manSections.contains(section),
                      document.text.split(whereSeparator: \.isWhitespace).count >= 12 else { return nil }
                return TaskExample(text: document.text, label: section, group: document.meta["page"]?.string ?? document.text)
            }
        })

    /// Code or prose: blocks of CPython's standard library against paragraphs of its docstrings and the man pages.
    static let codeOrProse = TaskBuilder(
        definition: TaskDefinition(
            name: "code-or-prose",
            description: "Whether a passage is Python code (a block of CPython's standard library) or prose (a docstring or man page paragraph); "
                + "dev and test files are unseen in train.",
            labels: ["code", "prose"], source: "data/sources/cpython.jsonl, manpages.jsonl (make sources)", split: "by file",
            prompt: TaskPrompt(template: "{text}\nThis passage is", cloze: "{text} This passage is{mask}.",
                               verbalizer: ["code": " code", "prose": " prose"])),
        splitting: TaskSplitting(trainCap: 400, devCap: 100, testCap: 200), needsSources: true,
        examples: { inputs in
            var examples: [TaskExample] = []
            for document in try inputs.documents("cpython.jsonl") {
                let path = document.meta["path"]?.string ?? ""
                let isCode = document.meta["kind"]?.string == "code"
                for block in paragraphs(document.text) {
                    let lines = block.split(separator: "\n")
                    if isCode {
                        guard lines.count >= 3, (80...1500).contains(block.count) else { continue }
                        examples.append(TaskExample(text: block, label: "code", group: path))
                    } else if lines.allSatisfy({ !$0.hasPrefix(" ") }), block.split(whereSeparator: \.isWhitespace).count >= 12 {
                        examples.append(TaskExample(text: block, label: "prose", group: path))
                    }
                }
            }
            for document in try inputs.documents("manpages.jsonl")
            where document.text.split(whereSeparator: \.isWhitespace).count >= 12 && document.text.count <= 1500 {
                examples.append(TaskExample(text: document.text, label: "prose", group: "man:" + (document.meta["page"]?.string ?? "")))
            }
            return examples
        })

    /// The blocks of a text between blank lines, trailing spaces removed.
    static func paragraphs(_ text: String) -> [String] {
        var blocks: [String] = []
        var current: [Substring] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.allSatisfy(\.isWhitespace) {
                if !current.isEmpty { blocks.append(current.joined(separator: "\n")) }
                current.removeAll()
            } else {
                current.append(line)
            }
        }
        if !current.isEmpty { blocks.append(current.joined(separator: "\n")) }
        return blocks
    }
}
