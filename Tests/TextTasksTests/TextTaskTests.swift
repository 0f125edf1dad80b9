import Foundation
import TestSupport
import TextTasks
import XCTest

final class TextTaskTests: XCTestCase {
    func testSpeechesAreBlocksUnderASpeakerHeadingWithoutStageDirections() {
        let play = """
            ACT I.

            Scene I. Elsinore.

            [Enter Bernardo.]

            Ber.
            Who's there?

            SIR TOBY.
            What a plague means my niece,
            [Aside.]
            to take the death of her brother thus?

            Just a line of prose that ends.
            """
        let speeches = ShakespeareSpeeches.parse(play)
        XCTAssertEqual(speeches.map(\.speaker), ["Ber", "SIR TOBY"])
        XCTAssertEqual(speeches[1].text, "What a plague means my niece,\nto take the death of her brother thus?")
        XCTAssertEqual(speeches[1].wordCount, 14)
    }

    /// Groups never cross splits, caps hold, duplicates are kept once and a text with two labels is dropped.
    func testSplittingKeepsGroupsTogetherAndCapsEachClass() {
        var examples: [TaskExample] = []
        for group in 0..<20 {
            for index in 0..<10 {
                examples.append(TaskExample(text: "a\(group) text \(index)", label: group % 2 == 0 ? "even" : "odd", group: "g\(group)"))
            }
        }
        examples.append(TaskExample(text: "A0   TEXT 0", label: "even", group: "g0"))      // a duplicate after folding
        examples.append(TaskExample(text: "both", label: "even", group: "x"))
        examples.append(TaskExample(text: "both", label: "odd", group: "y"))            // a conflict
        var splitting = TaskSplitting(trainCap: 50, devCap: nil, testCap: nil)
        splitting.unlabelledCap = 7
        let result = splitting.split(examples, labels: ["even", "odd"])
        XCTAssertEqual(result.duplicates, 1)
        XCTAssertEqual(result.conflicts, 1)
        XCTAssertFalse((result.train + result.dev + result.test).contains { $0.text == "both" })
        let groups = [result.train, result.dev, result.test].map { Set($0.map(\.group)) }
        XCTAssertTrue(groups[0].isDisjoint(with: groups[1]) && groups[0].isDisjoint(with: groups[2]) && groups[1].isDisjoint(with: groups[2]))
        for label in ["even", "odd"] {
            XCTAssertEqual(result.test.filter { $0.label == label }.count, 20, "two of ten groups: 20 % of 100")
            XCTAssertEqual(result.dev.filter { $0.label == label }.count, 10)
            XCTAssertEqual(result.train.filter { $0.label == label }.count, 50, "70 left, cut to the cap")
        }
        XCTAssertEqual(result.unlabelled.count, 7)
        XCTAssertTrue(Set(result.unlabelled).isDisjoint(with: (result.dev + result.test).map(\.text)))
        let again = splitting.split(examples, labels: ["even", "odd"])
        XCTAssertEqual(again.train, result.train)
        XCTAssertEqual(again.unlabelled, result.unlabelled)
    }

    func testFewShotDrawsKPerClassFromTrainAndDevBySeed() throws {
        let task = try preparedTask("shakespeare-genre")
        let first = task.fewShot(k: 16, seed: 1)
        for label in task.labels {
            XCTAssertEqual(first.train.filter { $0.label == label }.count, 16)
            XCTAssertEqual(first.dev.filter { $0.label == label }.count, 16)
        }
        XCTAssertTrue(first.train.allSatisfy(task.train.contains))
        XCTAssertTrue(first.dev.allSatisfy(task.dev.contains))
        XCTAssertEqual(task.fewShot(k: 16, seed: 1), first)
        XCTAssertNotEqual(task.fewShot(k: 16, seed: 2).train, first.train)
        XCTAssertEqual(task.fewShot(k: nil, seed: 3), TaskSplits(train: task.train, dev: task.dev))
        XCTAssertEqual(task.fewShot(k: 100_000, seed: 1).train.count, task.train.count, "a class with fewer than K keeps all")
    }

    /// The bundled plays give the three Shakespeare tasks; the sources tasks are skipped without data/sources; a rerun
    /// writes the same bytes; the genre task's dev and test plays are unseen in train.
    func testPrepareWritesLoadableTasksByteIdentically() throws {
        let out = try makeTemporaryDirectory()
        let inputs = TaskInputs(shakespeare: repositoryRoot.appendingPathComponent("data/shakespeare"),
                                sources: out.appendingPathComponent("no-sources"))
        let prepared = try TaskSuite.prepare(inputs: inputs, out: out.appendingPathComponent("a"))
        XCTAssertEqual(prepared.filter { $0.counts != nil }.map(\.name), ["shakespeare-play", "shakespeare-genre", "shakespeare-character"])
        XCTAssertTrue(prepared.filter { $0.counts == nil }.allSatisfy { $0.skipped?.contains("make sources") == true })
        _ = try TaskSuite.prepare(inputs: inputs, out: out.appendingPathComponent("b"), only: ["shakespeare-genre"])
        for file in ["task.yaml", "train.jsonl", "dev.jsonl", "test.jsonl", "unlabelled.jsonl", "CARD.md"] {
            let a = try Data(contentsOf: out.appendingPathComponent("a/shakespeare-genre/\(file)"))
            let b = try Data(contentsOf: out.appendingPathComponent("b/shakespeare-genre/\(file)"))
            XCTAssertEqual(a, b, file)
        }
        let genre = try TextTask.load(out.appendingPathComponent("a/shakespeare-genre"))
        XCTAssertEqual(genre.labels, ["comedy", "history", "tragedy"])
        let trainPlays = Set(genre.train.map(\.group))
        XCTAssertTrue(trainPlays.isDisjoint(with: genre.dev.map(\.group)) && trainPlays.isDisjoint(with: genre.test.map(\.group)))
        XCTAssertEqual(genre.definition.prompt?.prompt("To be."), "To be.\nThis speech is from a")
        XCTAssertEqual(genre.definition.prompt?.cloze("To be.", mask: "<mask>"), "To be. This speech is from a<mask>.")
        let counts = prepared[1].counts!
        XCTAssertEqual(counts.train.reduce(0, +), genre.train.count)
        XCTAssertEqual(counts.unlabelled, genre.unlabelled.count)
        let card = try String(contentsOf: out.appendingPathComponent("a/shakespeare-genre/CARD.md"), encoding: .utf8)
        XCTAssertTrue(card.contains("| comedy | \(counts.train[0]) | \(counts.dev[0]) | \(counts.test[0]) |"))
        XCTAssertThrowsError(try TaskSuite.prepare(inputs: inputs, out: out, only: ["shakespeare-genera"])) {
            XCTAssertTrue("\($0)".contains("unknown task 'shakespeare-genera'"))
        }
    }

    /// The four tasks over data/sources, on small made-up sources laid out as `make sources` lays out the real ones.
    func testSourcesTasksReadFortunesManPagesAndCode() throws {
        let root = try makeTemporaryDirectory()
        let sources = root.appendingPathComponent("sources")
        try FileManager.default.createDirectory(at: sources.appendingPathComponent("fortunes"), withIntermediateDirectories: true)
        func write(_ lines: [[String: Any]], _ path: String) throws {
            let text = try lines.map { String(decoding: try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]), as: UTF8.self) }
            try (text.joined(separator: "\n") + "\n").write(to: sources.appendingPathComponent(path), atomically: true, encoding: .utf8)
        }
        for language in ["cs", "de", "en", "eo", "es", "it", "pl", "pt", "ru", "zh"] {
            try write((0..<40).map { index in
                ["text": "\(language) fortune number \(index) says", "meta": ["offensive": index % 4 == 0, "lang": language]]
            }, "fortunes/\(language).jsonl")
        }
        let sections = ["1", "2", "3", "4", "5", "7", "8", "6"]
        try write((0..<160).map { index in
            ["text": "paragraph \(index) of a page in section \(sections[index % 8]) that has at least twelve words in it",
             "meta": ["section": sections[index % 8], "page": "page\(index / 4)"]]
        }, "manpages.jsonl")
        let code = (0..<12).map { "def f\($0)(x):\n    y = x + \($0)\n    return y * 2  # twice, as everybody knows well" }.joined(separator: "\n\n")
        let docstring = (0..<12).map { "This is paragraph \($0) of a docstring, which explains what the module does for you." }
            .joined(separator: "\n\n")
        try write((0..<10).flatMap { file -> [[String: Any]] in
            [["text": code, "meta": ["kind": "code", "path": "lib/m\(file).py"]],
             ["text": docstring, "meta": ["kind": "docstring", "path": "lib/m\(file).py"]]]
        }, "cpython.jsonl")
        let inputs = TaskInputs(shakespeare: repositoryRoot.appendingPathComponent("data/shakespeare"), sources: sources)
        let names = ["fortunes-language", "fortunes-offensive", "manpage-section", "code-or-prose"]
        let prepared = try TaskSuite.prepare(inputs: inputs, out: root.appendingPathComponent("tasks"), only: names)
        XCTAssertEqual(prepared.map(\.name), names)
        let language = try TextTask.load(root.appendingPathComponent("tasks/fortunes-language"))
        XCTAssertFalse((language.train + language.dev + language.test).contains { $0.text.hasPrefix("cs fortune number 0 ") },
                       "offensive fortunes are not language examples")
        XCTAssertEqual(language.train.filter { $0.label == "zh" }.count + language.dev.filter { $0.label == "zh" }.count
                       + language.test.filter { $0.label == "zh" }.count, 30)
        let offensive = try TextTask.load(root.appendingPathComponent("tasks/fortunes-offensive"))
        XCTAssertEqual(Set(offensive.test.map(\.label)), ["clean", "offensive"])
        XCTAssertTrue((offensive.train + offensive.test).allSatisfy { $0.text.hasPrefix("it ") || $0.text.hasPrefix("es ") })
        let section = try TextTask.load(root.appendingPathComponent("tasks/manpage-section"))
        XCTAssertFalse((section.train + section.dev + section.test).contains { $0.label == "6" })
        XCTAssertTrue(Set(section.train.map(\.group)).isDisjoint(with: section.test.map(\.group)), "pages are not split")
        let codeOrProse = try TextTask.load(root.appendingPathComponent("tasks/code-or-prose"))
        XCTAssertTrue(codeOrProse.train.filter { $0.label == "code" }.allSatisfy { $0.text.hasPrefix("def f") })
        XCTAssertTrue(codeOrProse.train.contains { $0.label == "prose" && $0.group.hasPrefix("man:") })
        try FileManager.default.removeItem(at: sources.appendingPathComponent("manpages.jsonl"))
        XCTAssertThrowsError(try TaskSuite.prepare(inputs: inputs, out: root.appendingPathComponent("again"), only: ["manpage-section"])) {
            XCTAssertEqual("\($0)", "\(sources.path)/manpages.jsonl: no such file (`make sources` fetches and prepares it)")
        }
    }

    func testLoadingNamesTheFileAndLineOfABadExample() throws {
        let directory = try makeTemporaryDirectory()
        let task = directory.appendingPathComponent("t")
        try FileManager.default.createDirectory(at: task, withIntermediateDirectories: true)
        XCTAssertThrowsError(try TextTask.load(task)) { XCTAssertTrue("\($0)".contains("task.yaml: no such file"), "\($0)") }
        try "name: t\ndescription: d\nlabels: [a, b]\nsource: s\nsplit: s\n".write(to: task.appendingPathComponent("task.yaml"),
                                                                                      atomically: true, encoding: .utf8)
        for split in ["train", "dev", "test"] {
            try "{\"text\": \"x\", \"label\": \"a\"}\n".write(to: task.appendingPathComponent("\(split).jsonl"), atomically: true, encoding: .utf8)
        }
        XCTAssertEqual(try TextTask.load(task).test.count, 1)
        try "{\"text\": \"x\", \"label\": \"a\"}\n\n{\"text\": \"y\", \"label\": \"c\"}\n".write(
            to: task.appendingPathComponent("dev.jsonl"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try TextTask.load(task)) {
            XCTAssertEqual("\($0)", "\(task.path)/dev.jsonl line 3: label 'c' is not one of task.yaml's labels (a, b)")
        }
        try "{\"text\": \"x\", \"label\": \"a\"\n".write(to: task.appendingPathComponent("dev.jsonl"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try TextTask.load(task)) { XCTAssertEqual("\($0)", "\(task.path)/dev.jsonl line 1: not a JSON object") }
        try "name: t\ndescription: d\nlabels: [a, b]\nsource: s\nsplit: s\nmetric: f1\n".write(
            to: task.appendingPathComponent("task.yaml"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try TextTask.load(task)) { XCTAssertTrue("\($0)".contains("task.yaml: unknown key 'metric'"), "\($0)") }
        try "name: t\ndescription: d\nlabels: [a, b]\nsource: s\nsplit: s\nprompt: {template: \"{text}\", cloze: \"{text} {mask}\", verbalizer: {a: x}}\n"
            .write(to: task.appendingPathComponent("task.yaml"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try TextTask.load(task)) { XCTAssertTrue("\($0)".contains("has no words for label 'b'"), "\($0)") }
    }

    /// TAPT reads the unlabelled texts and train inputs once each, never dev or test; PCP wraps each in the cloze
    /// with its label's words.
    func testTaskAdaptiveTextsArePlainOrClozeWrapped() throws {
        let prompt = TaskPrompt(template: "{text}\nIt is", cloze: "{text} It is{mask}.", verbalizer: ["a": " apt", "b": " bold"])
        let definition = TaskDefinition(name: "t", description: "d", labels: ["a", "b"], source: "s", split: "s", prompt: prompt)
        let task = TextTask(definition: definition, directory: URL(fileURLWithPath: "/tmp/t"),
                            train: [TaskExample(text: "one", label: "a"), TaskExample(text: "two", label: "b")],
                            dev: [TaskExample(text: "dev", label: "a")], test: [TaskExample(text: "test", label: "b")],
                            unlabelled: ["three", "one"])
        XCTAssertEqual(try TaskAdaptiveText.documents(task, kind: .tapt), ["three", "one", "two"])
        XCTAssertEqual(try TaskAdaptiveText.documents(task, kind: .pcp, labels: ["b", "a", "a"]),
                       ["three It is bold.", "one It is apt.", "two It is apt."])
        XCTAssertThrowsError(try TaskAdaptiveText.documents(task, kind: .pcp, labels: ["a"])) {
            XCTAssertTrue("\($0)".contains("needs one label per input (3), got 1"), "\($0)")
        }
        XCTAssertThrowsError(try TaskAdaptiveText.documents(task, kind: .pcp, labels: ["a", "a", "c"])) {
            XCTAssertTrue("\($0)".contains("label 'c' is not one of t's labels"), "\($0)")
        }
    }

    func testMacroF1AndAccuracyByHand() {
        // Class 0: TP 2, predicted 3, actual 2 → F1 0.8; class 1: TP 1, predicted 1, actual 2 → F1 2/3.
        let score = ClassificationScore(predicted: [0, 0, 0, 1], truth: [0, 0, 1, 1], classes: 2)
        XCTAssertEqual(score.accuracy, 0.75)
        XCTAssertEqual(score.macroF1, (0.8 + 2.0 / 3.0) / 2, accuracy: 1e-12)
    }

    func testBagOfWordsLearnsWordsThatDecideTheLabel() {
        let texts = (0..<40).map { $0 % 2 == 0 ? "the cat sat \($0)" : "a dog ran \($0)" }
        let model = BagOfWordsClassifier(texts: texts, labels: (0..<40).map { $0 % 2 }, classes: 2)
        XCTAssertEqual(model.predict("cat"), 0)
        XCTAssertEqual(model.predict("dog ran away"), 1)
        XCTAssertEqual(BagOfWordsClassifier.words("Hello, 世界 wörld!"), ["hello", "世", "界", "wörld"])
    }

    /// The baselines on a real task: majority is the share of its class, bag-of-words beats it, and a rerun agrees.
    func testBaselinesOnTheGenreTask() throws {
        let task = try preparedTask("shakespeare-genre")
        let result = TaskBaselines.evaluate(task, shots: 64, seed: 0)
        XCTAssertEqual(result.majority.accuracy, 1.0 / 3.0, accuracy: 1e-9, "balanced test split")
        XCTAssertGreaterThan(result.bagOfWords.accuracy, result.majority.accuracy)
        XCTAssertEqual(TaskBaselines.evaluate(task, shots: 64, seed: 0), result)
    }

    private func preparedTask(_ name: String) throws -> TextTask {
        let out = try makeTemporaryDirectory()
        let inputs = TaskInputs(shakespeare: repositoryRoot.appendingPathComponent("data/shakespeare"), sources: nil)
        _ = try TaskSuite.prepare(inputs: inputs, out: out, only: [name])
        return try TextTask.load(out.appendingPathComponent(name))
    }
}
