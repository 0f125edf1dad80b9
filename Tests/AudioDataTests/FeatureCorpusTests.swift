import AudioData
import Foundation
import SafeTensors
import TestSupport
import XCTest

/// `pretrain features prepare`: shards by split, train statistics, corpus.json, skipped files counted.
final class FeatureCorpusTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = try makeTemporaryDirectory()
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("in/sub"), withIntermediateDirectories: true)
    }

    /// Six 0.3 s tones of different pitch, one undecodable file.
    func writeAudio() throws -> URL {
        let input = directory.appendingPathComponent("in")
        for index in 0..<6 {
            let samples = (0..<4_800).map { 0.3 * sin(2 * Float.pi * Float(200 + 150 * index) * Float($0) / 16_000) }
            try writeTestWAV(samples, to: input.appendingPathComponent(index < 3 ? "a\(index).wav" : "sub/b\(index).wav"))
        }
        try Data("RIFF????WAVEnot audio".utf8).write(to: input.appendingPathComponent("broken.wav"))
        return input
    }

    func testPrepareWritesSplitShardsTrainStatisticsAndCountsSkippedFiles() throws {
        var options = FeatureCorpusPreparation.Options()
        options.valFraction = 0.3
        var logged: [String] = []
        let out = directory.appendingPathComponent("corpus")
        let info = try FeatureCorpusPreparation.prepare(input: try writeAudio(), output: out, options: options) { logged.append($0) }
        XCTAssertEqual(info.skipped, 1)
        XCTAssertEqual(info.skippedFiles, ["broken.wav"])
        XCTAssertTrue(logged.contains { $0.contains("broken.wav") }, "the undecodable file is reported by path: \(logged)")
        XCTAssertEqual(info.train.utterances + info.val.utterances, 6)
        XCTAssertEqual(info.dimension, 80, "80 mel bins by default")
        XCTAssertEqual(info.splitSource, "hash")
        XCTAssertEqual(info.train.frames, info.train.utterances * options.fbank.frameCount(sampleCount: 4_800))

        let corpus = try FeatureCorpus.load(out)
        XCTAssertEqual(corpus.info, try FeatureCorpusInfo.read(directory: out))
        XCTAssertEqual(corpus.normalization.frameCount, info.train.frames, "statistics are measured on train frames only")
        // Train features come back normalised by their own statistics: per-bin mean 0 (tolerance: float sums).
        for bin in [0, 40, 79] {
            let values = corpus.train.flatMap { u in (0..<u.frames).map { u.values[$0 * 80 + bin] } }
            XCTAssertEqual(values.reduce(0, +) / Float(values.count), 0, accuracy: 1e-3, "bin \(bin)")
        }
    }

    func testManifestSplitsAreFollowedAndOtherSplitsHeldOut() throws {
        let input = try writeAudio()
        // gone.wav and lost.wav are listed but not on disk: said once; a missing held-out file is not mentioned.
        let lines = [("a0.wav", "train"), ("a1.wav", "val"), ("a2.wav", "test"), ("sub/b3.wav", "train"),
                     ("sub/b4.wav", "dev"), ("sub/b5.wav", "train"), ("lost.wav", "dev"), ("gone.wav", "train"), ("away.wav", "test")]
        try lines.map { "{\"path\": \"\($0.0)\", \"split\": \"\($0.1)\", \"speaker\": \"s\"}" }.joined(separator: "\n")
            .write(to: input.appendingPathComponent("manifest.jsonl"), atomically: true, encoding: .utf8)
        let out = directory.appendingPathComponent("corpus")
        var logged: [String] = []
        let info = try FeatureCorpusPreparation.prepare(input: input, output: out) { logged.append($0) }
        XCTAssertEqual(info.splitSource, "manifest")
        XCTAssertEqual([info.train.utterances, info.val.utterances, info.heldOut], [3, 2, 1])
        XCTAssertEqual(logged.filter { $0.contains("of the manifest missing") },
                       ["2 train or val files of the manifest missing under \(input.path) (first: gone.wav); prepared without them"])
        let corpus = try FeatureCorpus.load(out)
        XCTAssertEqual(corpus.val.map(\.key).sorted(), ["a1.wav", "sub/b4.wav"])
    }

    /// --where keeps the utterances whose manifest fields match every filter; --max-per-value caps each value of the
    /// last filter's field (a balanced corpus); filters that keep no val utterance split their utterances by the hash.
    func testManifestFiltersSelectUtterancesAndCapEachValue() throws {
        let input = try writeAudio()
        let lines = [("a0.wav", "train", "male", "pretrain"), ("a1.wav", "train", "female", "pretrain"),
                     ("a2.wav", "train", "male", "pretrain"), ("sub/b3.wav", "train", "female", "pretrain"),
                     ("sub/b4.wav", "val", "male", "ks"), ("sub/b5.wav", "train", "unstated", "pretrain")]
        try lines.map { "{\"path\": \"\($0.0)\", \"split\": \"\($0.1)\", \"gender\": \"\($0.2)\", \"subset\": \"\($0.3)\"}" }
            .joined(separator: "\n").write(to: input.appendingPathComponent("manifest.jsonl"), atomically: true, encoding: .utf8)
        var options = FeatureCorpusPreparation.Options()
        options.filters = [try ManifestFilter(parsing: "subset=pretrain"), try ManifestFilter(parsing: "gender=male,female")]
        options.maxPerValue = 1
        options.valFraction = 0
        var logged: [String] = []
        let out = directory.appendingPathComponent("balanced")
        let info = try FeatureCorpusPreparation.prepare(input: input, output: out, options: options) { logged.append($0) }
        let corpus = try FeatureCorpus.load(out)
        XCTAssertEqual(corpus.train.map(\.key).sorted(), ["a0.wav", "a1.wav"], "the first male and the first female")
        XCTAssertEqual([info.filteredOut, info.maxPerValue], [4, 1], "a2, b3 past the cap; b4 (ks), b5 (unstated) do not match")
        XCTAssertEqual(info.filter, "subset=pretrain gender=male,female")
        XCTAssertEqual(info.valFraction, 0, "no val utterance among the kept ones: the hash split")
        XCTAssertTrue(logged.contains { $0.contains("gender female 1, gender male 1") }, "\(logged)")

        options.maxPerValue = nil
        options.valFraction = 0.5
        let all = try FeatureCorpusPreparation.prepare(input: input, output: directory.appendingPathComponent("all"), options: options)
        XCTAssertEqual(all.train.utterances + all.val.utterances, 4)
        XCTAssertGreaterThan(all.val.utterances, 0, "half of the kept utterances by the hash")

        options.filters = [try ManifestFilter(parsing: "gender=nobody")]
        XCTAssertThrowsError(try FeatureCorpusPreparation.prepare(input: input, output: directory.appendingPathComponent("none"),
                                                                  options: options)) {
            XCTAssertTrue("\($0)".contains("6 left out by --where"), "\($0)")
        }
        for bad in ["gender", "=male", "gender=", "gender=a,,b"] {
            XCTAssertThrowsError(try ManifestFilter(parsing: bad)) { XCTAssertTrue("\($0)".contains("is not FIELD=VALUE"), "\($0)") }
        }
        options.filters = []
        options.maxPerValue = 2
        XCTAssertThrowsError(try FeatureCorpusPreparation.prepare(input: input, output: directory.appendingPathComponent("cap"),
                                                                  options: options)) { XCTAssertTrue("\($0)".contains("--max-per-value needs --where")) }
    }

    /// The manifest's other fields travel with each kept utterance (utterances.jsonl), as text; held-out files do not.
    func testManifestFieldsAreKeptPerUtterance() throws {
        let input = try writeAudio()
        let lines = ["{\"path\": \"a0.wav\", \"split\": \"train\", \"gender\": \"female\", \"snr_db\": 12.5, \"clean\": true}",
                     "{\"path\": \"a1.wav\", \"split\": \"val\", \"gender\": \"male\", \"reverb\": [1, 2]}",
                     "{\"path\": \"a2.wav\", \"split\": \"test\", \"gender\": \"male\"}"]
        try lines.joined(separator: "\n").write(to: input.appendingPathComponent("manifest.jsonl"), atomically: true, encoding: .utf8)
        let out = directory.appendingPathComponent("corpus")
        let info = try FeatureCorpusPreparation.prepare(input: input, output: out)
        XCTAssertEqual(info.utterances, "utterances.jsonl")
        let corpus = try FeatureCorpus.load(out)
        XCTAssertEqual(corpus.metadata["a0.wav"], ["gender": "female", "snr_db": "12.5", "clean": "true"])
        XCTAssertEqual(corpus.metadata["a1.wav"], ["gender": "male"], "lists and objects are left out")
        XCTAssertNil(corpus.metadata["a2.wav"], "held out")
        XCTAssertNil(corpus.metadata["sub/b3.wav"], "not in the manifest: held out, so not listed")

        let plain = directory.appendingPathComponent("plain")
        try FileManager.default.removeItem(at: input.appendingPathComponent("manifest.jsonl"))
        XCTAssertNil(try FeatureCorpusPreparation.prepare(input: input, output: plain).utterances)
        XCTAssertTrue(try FeatureCorpus.load(plain).metadata.isEmpty)

        try "{\"key\": \"a0.wav\", \"meta\": {\"gender\": 1}}\n".write(to: out.appendingPathComponent("utterances.jsonl"),
                                                                          atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try FeatureCorpus.load(out)) {
            XCTAssertEqual("\($0)", "\(out.path)/utterances.jsonl:1: expected {\"key\": string, \"meta\": {field: string}}")
        }
    }

    func testHashSplitDependsOnKeyAndSeedOnly() {
        let keys = (0..<2_000).map { "speaker\($0 % 37)/utt\($0).wav" }
        let first = keys.map { FeatureCorpusPreparation.hashSplit($0, valFraction: 0.1, seed: 3) }
        XCTAssertEqual(first, keys.map { FeatureCorpusPreparation.hashSplit($0, valFraction: 0.1, seed: 3) })
        let val = first.filter { $0 == .val }.count
        XCTAssertTrue((140...260).contains(val), "about 10 % of 2000 in val, got \(val)")
        XCTAssertNotEqual(first, keys.map { FeatureCorpusPreparation.hashSplit($0, valFraction: 0.1, seed: 4) })
    }

    func testMissingStatisticsIsAnErrorNamingTheFile() throws {
        let out = directory.appendingPathComponent("corpus")
        try FeatureCorpusPreparation.prepare(input: try writeAudio(), output: out)
        try FileManager.default.removeItem(at: out.appendingPathComponent("normalization.safetensors"))
        XCTAssertThrowsError(try FeatureCorpus.load(out)) { error in
            XCTAssertTrue("\(error)".contains("normalization.safetensors") && "\(error)".contains("missing"), "\(error)")
        }
    }

    func testFbankOptionsRoundTripThroughJSONWithTorchaudioNames() throws {
        var options = FbankOptions()
        options.numMelBins = 64
        options.window = .hanning
        options.snipEdges = false
        let json = try JSONEncoder().encode(options)
        XCTAssertTrue(String(decoding: json, as: UTF8.self).contains("\"num_mel_bins\":64"))
        XCTAssertEqual(try JSONDecoder().decode(FbankOptions.self, from: json), options)
    }
}

/// A mono 16 kHz 16-bit PCM WAV file.
func writeTestWAV(_ samples: [Float], to url: URL, rate: Int = 16_000) throws {
    var data = Data()
    func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
    data.append(contentsOf: Array("RIFF".utf8)); append(UInt32(36 + 2 * samples.count))
    data.append(contentsOf: Array("WAVEfmt ".utf8)); append(UInt32(16)); append(UInt16(1)); append(UInt16(1))
    append(UInt32(rate)); append(UInt32(2 * rate)); append(UInt16(2)); append(UInt16(16))
    data.append(contentsOf: Array("data".utf8)); append(UInt32(2 * samples.count))
    for sample in samples { append(Int16(max(-32_768, min(32_767, (sample * 32_768).rounded())))) }
    try data.write(to: url)
}
