import SpeechSynthesis
import XCTest

/// End to end with espeak-ng and sox (installed by `make deps`): a corpus of about thirty utterances.
final class SpeechCorpusSynthesizerTests: XCTestCase {
    static func tinyOptions() -> SynthesisOptions {
        var options = SynthesisOptions()
        options.seed = 11
        options.hours = 0.002   // 7.2 s: three or four utterances
        options.keywordsPerClass = SplitSizes(train: 1, dev: 0, test: 0)
        options.sidSpeakers = 2
        options.sidPerSpeaker = SplitSizes(train: 1, dev: 0, test: 1)
        options.lidPerLanguage = SplitSizes(train: 1, dev: 0, test: 0)
        options.prUtterances = SplitSizes(train: 1, dev: 0, test: 1)
        options.speakerPool = 10
        return options
    }

    static func synthesize(into directory: URL, jobs: Int, options: SynthesisOptions = tinyOptions()) throws -> CorpusSummary {
        var synthesizer = SpeechCorpusSynthesizer(options: options, textDirectory: Repository.shakespeare)
        synthesizer.jobs = jobs
        synthesizer.commandLine = ["test", "--jobs", String(jobs)]
        return try synthesizer.run(into: directory)
    }

    /// Made once: with one job, and with three.
    static let oneJob = Repository.temporaryDirectory("one-job")
    static let threeJobs = Repository.temporaryDirectory("three-jobs")
    static let made: Result<CorpusSummary, Error> = Result {
        _ = try synthesize(into: oneJob, jobs: 1)
        return try synthesize(into: threeJobs, jobs: 3)
    }

    override class func tearDown() {
        try? FileManager.default.removeItem(at: oneJob)
        try? FileManager.default.removeItem(at: threeJobs)
    }

    func files(_ directory: URL) -> [String: Data] {
        var files: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil)!
        for case let url as URL in enumerator where url.pathExtension == "wav" || url.pathExtension == "jsonl"
            || url.pathExtension == "txt" {
            files[String(url.path.dropFirst(directory.path.count))] = try! Data(contentsOf: url)
        }
        return files
    }

    func testTheOutputDoesNotDependOnTheNumberOfJobs() throws {
        let summary = try Self.made.get()
        let one = files(Self.oneJob), three = files(Self.threeJobs)
        XCTAssertEqual(one.keys.sorted(), three.keys.sorted())
        for (path, data) in one { XCTAssertEqual(data, three[path], path) }
        let oneSummary = try JSONDecoder().decode(CorpusSummary.self,
                                                  from: Data(contentsOf: Self.oneJob.appendingPathComponent("corpus.json")))
        XCTAssertEqual(oneSummary.total, summary.total)
        XCTAssertEqual(oneSummary.subsets, summary.subsets)
    }

    func testTheManifestDescribesEveryFile() throws {
        let summary = try Self.made.get()
        let entries = try CorpusFiles.readManifest(Self.threeJobs.appendingPathComponent("manifest.jsonl"))
        XCTAssertEqual(entries.count, summary.total.utterances)
        XCTAssertEqual(Set(entries.map(\.subset)), ["pretrain", "ks", "sid", "lid", "pr"])
        XCTAssertEqual(entries.filter { $0.subset == "ks" }.count, 12)
        XCTAssertEqual(entries.filter { $0.subset == "lid" }.count, 8)
        XCTAssertGreaterThanOrEqual(entries.filter { $0.subset == "pretrain" }.map(\.duration).reduce(0, +), 7.2)
        for entry in entries {
            let (samples, rate) = try WAVFile.read(Self.threeJobs.appendingPathComponent(entry.path))
            XCTAssertEqual(rate, 16_000)
            XCTAssertEqual(Double(samples.count) / 16_000, entry.duration, entry.path)
            XCTAssertGreaterThan(samples.map { abs(Int($0)) }.max()!, 100, entry.path)   // not silent
            if entry.label == "_silence_" {
                XCTAssertEqual(entry.phonemes, "")
                XCTAssertNil(entry.snrDB)
                XCTAssertNil(entry.gender)
            } else {
                XCTAssertFalse(entry.phonemes.isEmpty, entry.path)
                let voice = try XCTUnwrap(entry.voice)
                XCTAssertEqual(entry.accent, String(voice.prefix { $0 != "+" }), entry.path)
                XCTAssertEqual(entry.gender, SpeakerProfiles.gender(variant: String(voice.split(separator: "+").last!)), entry.path)
            }
            if entry.subset == "ks" { XCTAssertGreaterThanOrEqual(entry.duration, 1) }
        }
        let inventory = try String(contentsOf: Self.threeJobs.appendingPathComponent("phonemes.txt"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        XCTAssertEqual(inventory.count, summary.phonemeInventorySize)
        for entry in entries where entry.subset == "pr" {
            XCTAssertTrue(entry.phonemes.split(separator: " ").allSatisfy { inventory.contains(String($0)) })
        }
    }

    func testAnInterruptedRunResumesToTheSameCorpus() throws {
        _ = try Self.made.get()
        let directory = Repository.temporaryDirectory("resumed")
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.copyItem(at: Self.oneJob, to: directory)
        // As if killed: a keyword clip and the manifest gone, a half-written WAV left under a temporary name.
        try FileManager.default.removeItem(at: directory.appendingPathComponent("ks/train/yes/0000.wav"))
        try FileManager.default.removeItem(at: directory.appendingPathComponent("manifest.jsonl"))
        try Data("RIFF".utf8).write(to: directory.appendingPathComponent("ks/train/no/.0000.wav.partial"))
        _ = try Self.synthesize(into: directory, jobs: 2)
        let resumed = files(directory), original = files(Self.oneJob)
        XCTAssertEqual(resumed.keys.sorted(), original.keys.sorted())
        for (path, data) in original { XCTAssertEqual(data, resumed[path], path) }
    }

    func testADirectoryMadeWithAnotherSeedIsNotResumed() throws {
        _ = try Self.made.get()
        var options = Self.tinyOptions()
        options.seed = 12
        XCTAssertThrowsError(try Self.synthesize(into: Self.oneJob, jobs: 1, options: options)) {
            XCTAssertTrue("\($0)".contains("another --out"), "\($0)")
        }
    }

    func testMissingEspeakNamesTheDebianPackage() {
        var synthesizer = SpeechCorpusSynthesizer(options: Self.tinyOptions(), textDirectory: Repository.shakespeare)
        synthesizer.searchPath = "/nonexistent"
        XCTAssertThrowsError(try synthesizer.run(into: Repository.temporaryDirectory("no-tools"))) {
            XCTAssertEqual("\($0)", "espeak-ng not found on PATH: install the Debian package espeak-ng (sudo apt-get install espeak-ng, or make deps)")
        }
    }

    func testAnUnwritableOutputIsNamed() throws {
        let file = Repository.temporaryDirectory("a-file")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data().write(to: file)
        let out = file.appendingPathComponent("corpus")
        XCTAssertThrowsError(try Self.synthesize(into: out, jobs: 1)) {
            XCTAssertTrue("\($0)".contains("cannot write to --out \(out.path)"), "\($0)")
        }
    }

    func testAnUnknownLanguageIsNamed() {
        var options = Self.tinyOptions()
        options.languages = ["en", "de", "xx-nowhere"]
        XCTAssertThrowsError(try Self.synthesize(into: Repository.temporaryDirectory("bad-language"), jobs: 1, options: options)) {
            XCTAssertTrue("\($0)".contains("unknown language 'xx-nowhere'"), "\($0)")
        }
    }

    /// The genders written into manifests are what espeak-ng's own variant files declare (in the data directory its
    /// banner names; espeak-ng is installed by make deps).
    func testDeclaredGendersMatchEspeakNGsVariantFiles() throws {
        let data = try XCTUnwrap(try ExternalTools().espeakData, "espeak-ng --version names no data directory")
        let directory = data.appendingPathComponent("voices/!v").path
        let files = try FileManager.default.contentsOfDirectory(atPath: directory)
        for variant in SpeakerProfiles.variants {
            // espeak-ng finds a variant's file whatever its case ("annie" is the file Annie).
            let file = try XCTUnwrap(files.first { $0.lowercased() == variant.lowercased() }, variant)
            let text = try String(contentsOfFile: directory + "/" + file, encoding: .utf8)
            let declared = text.split(whereSeparator: \.isNewline).map { $0.split(whereSeparator: \.isWhitespace) }
                .first { $0.first?.lowercased() == "gender" }.flatMap { $0.dropFirst().first }.map { $0.lowercased() }
            XCTAssertEqual(SpeakerProfiles.gender(variant: variant), declared ?? "unstated", variant)
        }
    }
}
