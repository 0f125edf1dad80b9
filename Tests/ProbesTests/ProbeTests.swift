import AudioData
import Foundation
import Probes
import Tensors
import TestSupport
import XCTest

/// Probes on a tone corpus whose answers are known: fbank separates the tones, a representation without
/// information does not, CTC learns tone sequences, and the pieces (subset choice, decoding, edit distance,
/// manifest errors) behave.
final class ProbeTests: XCTestCase {
    private func corpus() throws -> URL {
        let url = try makeTemporaryDirectory()
        try ToneCorpus.make(in: url)
        return url
    }

    /// Every frame the same: no information, so a probe can only guess.
    final class ConstantRepresentation: SpeechRepresentation {
        let name = "constant", layerCount = 2, dimension = 4
        func hiddenStates(_ waveform: Waveform) throws -> [Tensor] {
            let frames = waveform.samples.count / 160
            return (0..<2).map { _ in Tensor(repeating: 1, shape: [frames, 4]) }
        }
    }

    func testFbankSeparatesTonesAndAnUninformativeRepresentationDoesNot() throws {
        let runner = ProbeRunner(corpus: try corpus())
        let fbank = try runner.run(.ks, representation: try FbankRepresentation(options: FbankOptions()), labelsPerClass: 4, seeds: [0, 1])
        XCTAssertEqual(fbank.trainUtterances, [12, 12], "4 labels per class, 3 classes")
        XCTAssertEqual(fbank.testUtterances, 18)
        XCTAssertEqual(fbank.mean, 1, accuracy: 1e-9, "tones are separable from fbank: \(fbank.scores)")
        let constant = try runner.run(.ks, representation: ConstantRepresentation(), labelsPerClass: 4, seeds: [0])
        XCTAssertLessThanOrEqual(constant.mean, 0.34, "no information: chance level (1/3)")
        XCTAssertEqual(constant.layerWeights[0].count, 2)
    }

    /// Layer 0 is fbank, layer 1 carries nothing: probed alone, each scores as it would by itself.
    final class FbankThenConstant: SpeechRepresentation {
        let fbank: FbankRepresentation
        let name = "fbank-then-constant", layerCount = 2
        var dimension: Int { fbank.dimension }
        init() throws { fbank = try FbankRepresentation(options: FbankOptions()) }
        func hiddenStates(_ waveform: Waveform) throws -> [Tensor] {
            let first = try fbank.hiddenStates(waveform)[0]
            return [first, Tensor(repeating: 1, shape: first.shape)]
        }
    }

    func testASingleLayerIsProbedAlone() throws {
        let runner = ProbeRunner(corpus: try corpus())
        let both = try FbankThenConstant()
        let informative = try runner.run(.ks, representation: try SingleLayerRepresentation(both, layer: 0), labelsPerClass: 4, seeds: [0])
        let uninformative = try runner.run(.ks, representation: try SingleLayerRepresentation(both, layer: 1), labelsPerClass: 4, seeds: [0])
        XCTAssertEqual(informative.mean, 1, accuracy: 1e-9, "\(informative.scores)")
        XCTAssertLessThanOrEqual(uninformative.mean, 0.34, "\(uninformative.scores)")
        XCTAssertEqual(informative.representation, "fbank-then-constant layer 0")
        XCTAssertEqual(informative.layerWeights, [[1]])
        XCTAssertThrowsError(try SingleLayerRepresentation(both, layer: 2)) {
            XCTAssertTrue("\($0)".contains("layer 2 is outside 0…1"), "\($0)")
        }
    }

    /// The probe's step is chosen on dev: each seed's step is reported, and a corpus without dev utterances is a
    /// clear error rather than a score at an arbitrary step.
    func testTheProbeStepIsChosenOnDevAndDevIsRequired() throws {
        let url = try corpus()
        let runner = ProbeRunner(corpus: url)
        let result = try runner.run(.ks, representation: try FbankRepresentation(options: FbankOptions()), labelsPerClass: 4, seeds: [0, 1])
        let steps = try XCTUnwrap(result.selectedSteps)
        XCTAssertEqual(steps.count, 2)
        XCTAssertTrue(steps.allSatisfy { (1...3000).contains($0) && ($0 % 50 == 0 || $0 == 3000) }, "\(steps)")
        let decoded = try JSONDecoder().decode(ProbeResult.self, from: JSONEncoder().encode(result))
        XCTAssertEqual(decoded, result)

        let manifest = url.appendingPathComponent("manifest.jsonl")
        let lines = try String(contentsOf: manifest, encoding: .utf8).split(separator: "\n").filter { !$0.contains(#""split": "dev""#) }
        try lines.joined(separator: "\n").write(to: manifest, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ProbeRunner(corpus: url).run(.ks, representation: try FbankRepresentation(options: FbankOptions()),
                                                              labelsPerClass: 4, seeds: [0])) {
            XCTAssertTrue("\($0)".contains("subset 'ks' needs dev utterances to choose the probe's step (found test 18, train 24)"), "\($0)")
        }
        // A torn last line (a synthesis that was stopped) names the line and says it is not JSON.
        try (lines.joined(separator: "\n") + "\n{\"path\": ").write(to: manifest, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ProbeTask.ks.examples(corpus: url)) {
            XCTAssertTrue("\($0)".hasSuffix("manifest.jsonl: line \(lines.count + 1) is not a manifest entry (not valid JSON: The given data was not valid JSON.)"),
                          "\($0)")
        }
    }

    /// An utterance too short to give one frame (a WAV cut after its header) is named as such, not as a shape error.
    func testAnUtteranceTooShortForAFrameIsNamed() throws {
        let url = try corpus()
        let cut = url.appendingPathComponent("ks/test/b_71.wav")
        XCTAssertTrue(FileManager.default.fileExists(atPath: cut.path))
        try ToneCorpus.writeWAV([0.1, -0.1, 0.2], to: cut)
        XCTAssertThrowsError(try ProbeRunner(corpus: url).run(.ks, representation: try FbankRepresentation(options: FbankOptions()),
                                                              labelsPerClass: 2, seeds: [0])) {
            XCTAssertEqual("\($0)", "\(cut.path): too short for one frame of the representation (3 samples)")
        }
    }

    func testCTCProbeLearnsToneSequences() throws {
        let runner = ProbeRunner(corpus: try corpus())
        let result = try runner.run(.pr, representation: try FbankRepresentation(options: FbankOptions()), labelsPerClass: 3, seeds: [0])
        XCTAssertEqual(result.metric, "per")
        XCTAssertEqual(result.trainUtterances, [36], "pr uses labelsPerClass × 12 utterances (all 40 would be more)")
        // A linear CTC head on single fbank frames is a weak model of tone sequences (it sometimes emits a blank
        // inside a long tone); against a representation with no information it must still win clearly.
        XCTAssertLessThan(result.mean, 0.35, "phoneme error rate on distinct tones")
        let constant = try runner.run(.pr, representation: ConstantRepresentation(), labelsPerClass: 3, seeds: [0])
        XCTAssertGreaterThan(constant.mean, 0.7, "no information: most phonemes missed")
    }

    func testLabelledSubsetTakesNPerClassDeterministically() {
        let examples = (0..<30).map { ProbeExample(audio: URL(fileURLWithPath: "/x/\($0)"), split: "train", label: "c\($0 % 3)", phonemes: []) }
        let first = labelledSubset(examples, perClass: 2, seed: 7)
        XCTAssertEqual(first.count, 6)
        XCTAssertEqual(Dictionary(grouping: first, by: \.label).mapValues(\.count), ["c0": 2, "c1": 2, "c2": 2])
        XCTAssertEqual(first, labelledSubset(examples, perClass: 2, seed: 7))
        XCTAssertNotEqual(first, labelledSubset(examples, perClass: 2, seed: 8))
    }

    func testAMissingManifestOrSubsetIsAClearError() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("probe-empty-\(UUID().uuidString.prefix(8))")
        XCTAssertThrowsError(try ProbeTask.ks.examples(corpus: empty)) {
            XCTAssertTrue("\($0)".contains("cannot read the corpus manifest"), "\($0)")
        }
        XCTAssertThrowsError(try ProbeTask.lid.examples(corpus: try corpus())) {
            XCTAssertTrue("\($0)".contains("subset 'lid' needs train and test utterances"), "\($0)")
        }
    }

    /// --where: a probe sees only the manifest lines every filter accepts (here by label, as `gender=female` selects
    /// speakers); a filter that leaves no train or test line is an error that names it.
    func testManifestFiltersSelectTheProbedLines() throws {
        let corpus = try corpus()
        let all = try ProbeTask.ks.examples(corpus: corpus)
        let filtered = try ProbeTask.ks.examples(corpus: corpus, filters: [try ManifestFilter(parsing: "label=a,c")])
        for split in ["train", "dev", "test"] {
            XCTAssertEqual(filtered[split]!, all[split]!.filter { $0.label != "b" }, split)
        }
        let runner = ProbeRunner(corpus: corpus)
        runner.filters = [try ManifestFilter(parsing: "label=a,b")]
        let result = try runner.run(.ks, representation: try FbankRepresentation(options: FbankOptions()), labelsPerClass: 4, seeds: [0])
        XCTAssertEqual(result.trainUtterances, [8], "4 labels per class, 2 classes left")
        XCTAssertEqual(result.testUtterances, 12)
        XCTAssertThrowsError(try ProbeTask.ks.examples(corpus: corpus, filters: [try ManifestFilter(parsing: "gender=female")])) {
            XCTAssertTrue("\($0)".contains("needs train and test utterances with gender=female"), "\($0)")
        }
    }

    /// Music tasks read their label from the music manifest's fields (key and mode joined); `available` lists the
    /// tasks whose subset a manifest has; dev and test utterances of a class no training utterance has are left out;
    /// the constant-Q baseline separates tones an octave apart as fbank does.
    func testMusicTasksReadTheirLabelsFromTheManifestFields() throws {
        let url = try makeTemporaryDirectory()
        for folder in ["note", "phrase"] {
            try FileManager.default.createDirectory(at: url.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        var lines: [String] = []
        var counter = 0
        for split in ["train", "dev", "test"] {
            for (family, tone) in [("piano", "a"), ("organ", "c")] {
                for index in 0..<(split == "train" ? 6 : 3) {
                    counter += 1
                    let path = "note/\(split)-\(counter).wav"
                    try ToneCorpus.writeWAV(ToneCorpus.tones([tone, tone], seed: counter), to: url.appendingPathComponent(path))
                    let pitch = split != "train" && index == 2 ? 99 : 60       // dev and test each hold one unseen pitch
                    lines.append(#"{"path": "\#(path)", "subset": "note", "split": "\#(split)", "family": "\#(family)", "pitch": \#(pitch)}"#)
                }
            }
            counter += 1
            let path = "phrase/\(split)-\(counter).wav"
            try ToneCorpus.writeWAV(ToneCorpus.tones(["b"], seed: counter), to: url.appendingPathComponent(path))
            lines.append(#"{"path": "\#(path)", "subset": "phrase", "split": "\#(split)", "key": "A#", "mode": "minor", "tempo": "slow"}"#)
        }
        try lines.joined(separator: "\n").write(to: url.appendingPathComponent("manifest.jsonl"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try ProbeTask.available(corpus: url), ProbeTask.music)
        XCTAssertEqual(try ProbeTask.available(corpus: try corpus()), [.ks, .pr])
        XCTAssertEqual(try ProbeTask.key.examples(corpus: url)["train"]!.map(\.label), ["A# minor"])
        XCTAssertEqual(Set(try ProbeTask.instrument.examples(corpus: url)["train"]!.map(\.label)), ["piano", "organ"])
        let runner = ProbeRunner(corpus: url)
        var logged: [String] = []
        runner.log = { logged.append($0) }
        let pitch = try runner.run(.pitch, representation: try FbankRepresentation(options: FbankOptions()), labelsPerClass: 4, seeds: [0])
        XCTAssertEqual(pitch.testUtterances, 4, "the two test utterances of pitch 99 are left out")
        XCTAssertTrue(logged.contains { $0.contains("2 dev and 2 test utterances of classes absent") }, "\(logged)")
        let instrument = try runner.run(.instrument, representation: try ConstantQRepresentation(), labelsPerClass: 4, seeds: [0])
        XCTAssertEqual(instrument.mean, 1, accuracy: 1e-9, "300 and 1,500 Hz tones are far apart in constant-Q bins")
    }
}
