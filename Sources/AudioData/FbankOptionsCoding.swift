import Foundation

extension FeatureWindow: Codable {}

/// FbankOptions as JSON with torchaudio.compliance.kaldi's keyword names, so a feature corpus (corpus.json) and a
/// checkpoint (features.json) say exactly how their features were computed. Every key is written; reading
/// requires every key too, since a silently defaulted option would give other features.
extension FbankOptions: Codable {
    enum CodingKeys: String, CodingKey {
        case sampleRate = "sample_frequency", frameLength = "frame_length", frameShift = "frame_shift"
        case numMelBins = "num_mel_bins", lowFrequency = "low_freq", highFrequency = "high_freq"
        case window = "window_type", blackmanCoefficient = "blackman_coeff", snipEdges = "snip_edges"
        case removeDCOffset = "remove_dc_offset", preemphasis = "preemphasis_coefficient", dither, ditherSeed = "dither_seed"
        case usePower = "use_power", useLogFbank = "use_log_fbank", useEnergy = "use_energy", rawEnergy = "raw_energy"
        case energyFloor = "energy_floor", roundToPowerOfTwo = "round_to_power_of_two", inputScale = "input_scale"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        sampleRate = try c.decode(Double.self, forKey: .sampleRate)
        frameLength = try c.decode(Double.self, forKey: .frameLength)
        frameShift = try c.decode(Double.self, forKey: .frameShift)
        numMelBins = try c.decode(Int.self, forKey: .numMelBins)
        lowFrequency = try c.decode(Double.self, forKey: .lowFrequency)
        highFrequency = try c.decode(Double.self, forKey: .highFrequency)
        window = try c.decode(FeatureWindow.self, forKey: .window)
        blackmanCoefficient = try c.decode(Double.self, forKey: .blackmanCoefficient)
        snipEdges = try c.decode(Bool.self, forKey: .snipEdges)
        removeDCOffset = try c.decode(Bool.self, forKey: .removeDCOffset)
        preemphasis = try c.decode(Float.self, forKey: .preemphasis)
        dither = try c.decode(Float.self, forKey: .dither)
        ditherSeed = try c.decode(UInt64.self, forKey: .ditherSeed)
        usePower = try c.decode(Bool.self, forKey: .usePower)
        useLogFbank = try c.decode(Bool.self, forKey: .useLogFbank)
        useEnergy = try c.decode(Bool.self, forKey: .useEnergy)
        rawEnergy = try c.decode(Bool.self, forKey: .rawEnergy)
        energyFloor = try c.decode(Float.self, forKey: .energyFloor)
        roundToPowerOfTwo = try c.decode(Bool.self, forKey: .roundToPowerOfTwo)
        inputScale = try c.decode(Float.self, forKey: .inputScale)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(sampleRate, forKey: .sampleRate)
        try c.encode(frameLength, forKey: .frameLength)
        try c.encode(frameShift, forKey: .frameShift)
        try c.encode(numMelBins, forKey: .numMelBins)
        try c.encode(lowFrequency, forKey: .lowFrequency)
        try c.encode(highFrequency, forKey: .highFrequency)
        try c.encode(window, forKey: .window)
        try c.encode(blackmanCoefficient, forKey: .blackmanCoefficient)
        try c.encode(snipEdges, forKey: .snipEdges)
        try c.encode(removeDCOffset, forKey: .removeDCOffset)
        try c.encode(preemphasis, forKey: .preemphasis)
        try c.encode(dither, forKey: .dither)
        try c.encode(ditherSeed, forKey: .ditherSeed)
        try c.encode(usePower, forKey: .usePower)
        try c.encode(useLogFbank, forKey: .useLogFbank)
        try c.encode(useEnergy, forKey: .useEnergy)
        try c.encode(rawEnergy, forKey: .rawEnergy)
        try c.encode(energyFloor, forKey: .energyFloor)
        try c.encode(roundToPowerOfTwo, forKey: .roundToPowerOfTwo)
        try c.encode(inputScale, forKey: .inputScale)
    }
}
