import Foundation
import TestSupport
import XCTest

/// The speech and music study scripts at their TINY size, end to end as a user runs them (`TINY=1
/// scripts/study_*.sh`): tiny synthesised corpora, a few steps of each pre-training, one probe seed. Each must finish
/// and write its results table with every row; the numbers mean nothing at this size.
final class StudyScriptTests: XCTestCase {
    /// A tiny speech corpus (pre-training audio and keyword spotting), its unlabelled subset's fbank corpus and a tiny
    /// music corpus, made once for the class in a directory removed after its last test.
    nonisolated(unsafe) static var corpora: (root: URL, speech: URL, fbank: URL, music: URL)?

    override class func tearDown() {
        if let root = corpora?.root { try? FileManager.default.removeItem(at: root) }
        corpora = nil
        super.tearDown()
    }

    func corpora() throws -> (root: URL, speech: URL, fbank: URL, music: URL) {
        if let made = Self.corpora { return made }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("StudyScriptTests-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let (speech, fbank, music) = (root.appendingPathComponent("speech"), root.appendingPathComponent("fbank"),
                                      root.appendingPathComponent("music"))
        for arguments in [["data", "synth-speech", "--out", speech.path, "--hours", "0.02", "--subsets", "pretrain,ks", "--ks", "12,4,4"],
                          ["features", "prepare", speech.appendingPathComponent("pretrain").path, "--out", fbank.path],
                          ["data", "synth-music", "--out", music.path, "--notes", "40", "--phrases", "20", "--jobs", "2"]] {
            let (status, output) = try runPretrain(arguments)
            XCTAssertEqual(status, 0, output)
        }
        Self.corpora = (root, speech, fbank, music)
        return Self.corpora!
    }

    /// Runs bash with `arguments` from the repository root, with the built `pretrain` as PRETRAIN and `environment`
    /// added; returns its exit status and its output (stdout and stderr together).
    func runBash(_ arguments: [String], _ environment: [String: String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = arguments
        process.currentDirectoryURL = repositoryRoot
        process.environment = ProcessInfo.processInfo.environment.merging(
            ["PRETRAIN": try pretrainExecutable().path, "OMP_WAIT_POLICY": "passive"].merging(environment) { $1 }) { $1 }
        let pipe = Pipe()
        (process.standardOutput, process.standardError) = (pipe, pipe)
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    /// Runs `TINY=1 scripts/NAME` from the repository root with `environment`; returns results.md under `results`.
    func runTiny(_ name: String, _ environment: [String: String], results: String) throws -> String {
        let (status, output) = try runBash(["scripts/\(name)"], ["TINY": "1"].merging(environment) { $1 })
        XCTAssertEqual(status, 0, "\(name):\n\(output.suffix(3000))")
        return (try? String(contentsOfFile: results, encoding: .utf8)) ?? ""
    }

    func out(_ name: String) throws -> URL { try corpora().root.appendingPathComponent(name) }

    func testW2vBERTStudy() throws {
        let c = try corpora(), out = try out("w2v-bert")
        let table = try runTiny("study_w2v_bert.sh", ["SPEECH": c.speech.path, "FBANK": c.fbank.path, "OUT": out.path],
                                results: out.appendingPathComponent("seed-1337/results.md").path)
        for row in ["fbank", "random-conformer", "random-bert", "wav2vec2-frames", "hubert", "w2v-bert"] {
            XCTAssertTrue(table.contains("| \(row) |"), "\(row) in\n\(table)")
        }
    }

    func testGenderStudy() throws {
        let c = try corpora(), out = try out("gender")
        let table = try runTiny("study_gender.sh", ["SPEECH": c.speech.path, "OUT": out.path], results: out.appendingPathComponent("results.md").path)
        for corpus in ["male", "female", "balanced"] {
            for gender in ["male", "female"] { XCTAssertTrue(table.contains("| tera-\(corpus)-on-\(gender) |"), "\(corpus) on \(gender) in\n\(table)") }
        }
    }

    func testPositionStudy() throws {
        let c = try corpora(), out = try out("position")
        let table = try runTiny("study_position.sh", ["SPEECH": c.speech.path, "FBANK": c.fbank.path, "OUT": out.path,
                                                      "KEY_MASK": "0.5"],
                                results: out.appendingPathComponent("results.md").path)
        for row in ["random-no-positions", "position-prediction", "position-prediction-key-mask", "tera-no-positions", "tera"] { XCTAssertTrue(table.contains("| \(row) |"), "\(row) in\n\(table)") }
    }

    func testTextToSpeechStudy() throws {
        let c = try corpora(), out = try out("tts")
        let table = try runTiny("study_tts.sh", ["FBANK": c.fbank.path, "TTS": out.appendingPathComponent("corpus").path, "OUT": out.path],
                                results: out.appendingPathComponent("results.md").path)
        for row in ["| judge |", "| judge-unit-lm |", "| judge-unit-lm-guided |", "| judge-unit-lm-aligned-unguided |",
                    "| lm-speech-seed1337 |", "| lm-interleaved-seed1337 |"] {
            XCTAssertTrue(table.contains(row), "\(row) in\n\(table)")
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("judge/report.html").path))
    }

    func testTelephoneStudy() throws {
        let c = try corpora(), out = try out("telephone")
        let table = try runTiny("study_telephone.sh", ["SPEECH": c.speech.path, "OUT": out.path], results: out.appendingPathComponent("results.md").path)
        for row in ["fbank", "tera-wideband", "tera-continued"] { XCTAssertTrue(table.contains("| \(row) |"), "\(row) in\n\(table)") }
    }

    func testIndicStudy() throws {
        let c = try corpora(), out = try out("indic")
        let table = try runTiny("study_indic.sh", ["FBANK": c.fbank.path, "OUT": out.path], results: out.appendingPathComponent("results.md").path)
        for row in ["lid-tera-indic", "pr-hi-tera-english", "pr-ta-tera-indic"] { XCTAssertTrue(table.contains("| \(row) |"), "\(row) in\n\(table)") }
    }

    func testMERTStudy() throws {
        let c = try corpora(), out = try out("mert")
        let table = try runTiny("study_mert.sh", ["MUSIC": c.music.path, "SPEECH": c.speech.path, "OUT": out.path],
                                results: out.appendingPathComponent("results.md").path)
        for row in ["fbank", "cqt", "random-init", "hubert", "mert"] { XCTAssertTrue(table.contains("| \(row) |"), "\(row) in\n\(table)") }
        let speech = try String(contentsOf: out.appendingPathComponent("results-speech.md"), encoding: .utf8)
        for row in ["speech-fbank", "speech-hubert", "speech-mert"] { XCTAssertTrue(speech.contains("| \(row) |"), "\(row) in\n\(speech)") }
    }

    /// study_train (scripts/study_common.sh, which every study uses) continues a run that stopped before its step
    /// count from the newest checkpoint, starts afresh in a run directory left without one, and leaves a finished run.
    func testStudyTrainResumesARunThatStoppedEarly() throws {
        let c = try corpora(), out = try out("resume")
        try FileManager.default.createDirectory(at: out.appendingPathComponent("empty"), withIntermediateDirectories: true)
        let script = """
            set -euo pipefail
            STUDY_LOG="$OUT/study.log" SEED=5
            small=(--set model.layers=1 --set model.d_model=32 --set model.heads=2 --set model.mlp_hidden=64 \\
                   --set train.eval_every=3 --set train.checkpoint_every=3 --set schedule.warmup=2 --set optim.batch_size=2)
            source scripts/study_common.sh
            for run in stopped empty; do
                study_train "$OUT/$run" recipes/tera-small.yaml 3 --set data.features="$FBANK"
                study_train "$OUT/$run" recipes/tera-small.yaml 6 --set data.features="$FBANK"
                study_train "$OUT/$run" recipes/tera-small.yaml 6 --set data.features="$FBANK"
                cat "$OUT/$run/checkpoints/latest"; echo
            done
            """
        let (status, output) = try runBash(["-c", script], ["OUT": out.path, "FBANK": c.fbank.path])
        XCTAssertEqual(status, 0, output)
        XCTAssertEqual(output.components(separatedBy: "step_000006").count - 1, 2, output)
        for run in ["stopped", "empty"] {
            let log = try String(contentsOf: out.appendingPathComponent("\(run).log"), encoding: .utf8)
            XCTAssertTrue(log.contains("resuming \(out.path)/\(run) at step 3 of 6"), log)
            XCTAssertFalse(log.contains("Error"), log)
            XCTAssertFalse(log.contains("feature_dim"), "the resolved feature size is not a change:\n\(log)")
        }
        let study = try String(contentsOf: out.appendingPathComponent("study.log"), encoding: .utf8)
        XCTAssertEqual(study.components(separatedBy: "pre-training stopped (").count - 1, 2, "a finished run is left alone:\n\(study)")
    }
}
