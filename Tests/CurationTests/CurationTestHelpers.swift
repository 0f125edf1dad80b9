import Curation
import Foundation
import XCTest

/// The one step a pipeline text of one step makes (`kind: …` and its keys, as YAML lines).
func makeStep(_ kind: String, _ keys: String = "") throws -> any CurationStep {
    let indented = keys.split(separator: "\n").map { "    \($0)\n" }.joined()
    return try CurationPipeline.parse("steps:\n  - kind: \(kind)\n\(indented)", file: "test.yaml").steps[0]
}

/// Documents through steps in memory as a run passes them: a step that needs the corpus observes what reaches it
/// before any of them is applied to. Returns the kept documents and each dropped one's index with its reason.
func runSteps(_ steps: [any CurationStep], _ documents: [CurationDocument]) throws
    -> (kept: [CurationDocument], dropped: [(index: Int, reason: DropReason)]) {
    var current = documents
    var dropped: [(index: Int, reason: DropReason)] = []
    for step in steps {
        if step.needsCorpusPass {
            for document in current { try step.observe(document) }
            try step.finishObserving()
        }
        var next: [CurationDocument] = []
        for var document in current {
            switch try step.apply(to: &document) {
            case .keep: next.append(document)
            case .drop(let reason): dropped.append((document.index, reason))
            }
        }
        current = next
    }
    return (current, dropped)
}

/// Documents numbered in order, with `source` set.
func documents(_ texts: [String], source: String = "test.jsonl") -> [CurationDocument] {
    texts.enumerated().map { CurationDocument(text: $1, meta: ["source": .string(source)], index: $0, line: $0 + 1) }
}

/// Asserts that `body` throws a CurationError (or any error) whose description contains every one of `parts`.
func assertThrows(_ parts: [String], file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) {
    do {
        try body()
        XCTFail("no error; expected one containing \(parts)", file: file, line: line)
    } catch {
        let message = "\(error)"
        for part in parts { XCTAssertTrue(message.contains(part), "'\(part)' not in: \(message)", file: file, line: line) }
        XCTAssertFalse(message.contains("\n"), "not one line: \(message)", file: file, line: line)
    }
}
