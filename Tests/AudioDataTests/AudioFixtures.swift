import AudioData
import Foundation
import SafeTensors
import TestSupport
import XCTest

/// Fixtures written by scripts/make_audio_fixtures.py (torchaudio 2.11's Kaldi-compliance features).
enum AudioFixtures {
    static let directory = fixtureURL("AudioDataTests")
    static let audio = directory.appendingPathComponent("audio")

    static func file() throws -> SafeTensorsFile {
        try SafeTensorsFile(contentsOf: directory.appendingPathComponent("kaldi_features.safetensors"))
    }

    /// A reference case: the source file, "fbank" or "mfcc", the file's rate and torchaudio's keyword arguments.
    struct Case {
        var name: String
        var file: String
        var kind: String
        var rate: Int
        var arguments: [String: Any]
        var expected: (shape: [Int], values: [Float])
    }

    static func cases(kind: String) throws -> [Case] {
        let file = try file()
        return try file.metadata.keys.sorted().compactMap { name in
            guard let json = file.metadata[name]!.data(using: .utf8),
                  let settings = try? JSONSerialization.jsonObject(with: json) as? [String: Any],
                  settings["kind"] as? String == kind else { return nil }
            return Case(name: name, file: settings["file"] as! String, kind: kind, rate: settings["rate"] as! Int,
                        arguments: settings["options"] as! [String: Any], expected: try file.floats(name))
        }
    }

    /// The file as decoded and mixed to mono at its own rate (what the reference saw).
    static func samples(_ name: String) throws -> (samples: [Float], rate: Int) {
        let decoded = try AudioDecoder.decode(audio.appendingPathComponent(name))
        return (decoded.monoMixdown(), decoded.sampleRate)
    }

    /// torchaudio keyword arguments → FbankOptions (dither 0, sample rate of the file).
    static func fbankOptions(_ arguments: [String: Any], rate: Int) -> FbankOptions {
        var options = FbankOptions()
        options.sampleRate = Double(rate)
        for (key, value) in arguments {
            let number = (value as? NSNumber)?.doubleValue ?? 0
            let flag = (value as? Bool) ?? false
            switch key {
            case "num_mel_bins": options.numMelBins = Int(number)
            case "snip_edges": options.snipEdges = flag
            case "window_type": options.window = FeatureWindow(rawValue: value as! String)!
            case "low_freq": options.lowFrequency = number
            case "high_freq": options.highFrequency = number
            case "use_energy": options.useEnergy = flag
            case "raw_energy": options.rawEnergy = flag
            case "energy_floor": options.energyFloor = Float(number)
            case "use_power": options.usePower = flag
            case "remove_dc_offset": options.removeDCOffset = flag
            case "preemphasis_coefficient": options.preemphasis = Float(number)
            case "round_to_power_of_two": options.roundToPowerOfTwo = flag
            case "frame_length": options.frameLength = number
            case "frame_shift": options.frameShift = number
            case "use_log_fbank": options.useLogFbank = flag
            case "num_ceps", "cepstral_lifter": break  // MFCC options, read by mfccOptions
            default: XCTFail("fixture option \(key) has no FbankOptions counterpart")
            }
        }
        return options
    }

    static func mfccOptions(_ arguments: [String: Any], rate: Int) -> MFCCOptions {
        var options = MFCCOptions()
        options.fbank = fbankOptions(arguments, rate: rate)
        if let ceps = arguments["num_ceps"] as? NSNumber { options.numCeps = ceps.intValue }
        if let lifter = arguments["cepstral_lifter"] as? NSNumber { options.cepstralLifter = lifter.doubleValue }
        return options
    }
}

/// The largest |a − b|.
func maxDifferences(_ a: [Float], _ b: [Float]) -> (absolute: Float, count: Int) {
    var absolute: Float = 0
    for (x, y) in zip(a, b) { absolute = max(absolute, abs(x - y)) }
    return (absolute, min(a.count, b.count))
}
