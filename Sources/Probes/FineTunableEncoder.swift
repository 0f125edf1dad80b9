import AudioData
import Layers
import Tensors

/// A speech encoder whose weights a downstream task trains (CTC fine-tuning): its input for one 16 kHz waveform,
/// computed once per utterance, and its last layer's states along time with gradients. Feature encoders (frames,
/// patches) conform through `FeatureEncoderFineTuning`; a waveform encoder conforms by returning its samples as a
/// (samples, 1) matrix and encoding those.
public protocol FineTunableEncoder: AnyObject {
    /// The parameters fine-tuning trains; `train()`/`eval()` switch its dropout.
    var module: Module { get }
    /// Channels of a state (the CTC head's input).
    var dimension: Int { get }
    /// One utterance's encoder input: (rows, columns) along time.
    func input(_ waveform: Waveform) throws -> FeatureMatrix
    /// Inputs → (B, T', C) last-layer states, zero after each row's `lengths[b]` valid steps. Records gradients
    /// unless called under `noGrad`.
    func states(_ inputs: [FeatureMatrix]) -> (states: Tensor, lengths: [Int])
}

/// An `AudioEncoder` over normalised fbank frames (TERA/HuBERT frames or SSAST/BEATs patches) for fine-tuning:
/// the checkpoint's feature options and statistics make the input; an utterance longer than the position table is
/// encoded in consecutive windows whose states are joined along time (as `LoadedAudioEncoder.timeStates` does for
/// probes); a patch encoder's states are averaged over each time column's frequency rows.
public final class FeatureEncoderFineTuning: FineTunableEncoder {
    public let encoder: AudioEncoder
    public let normalization: FeatureNormalization
    let computer: FbankComputer

    public init(encoder: AudioEncoder, normalization: FeatureNormalization, featureOptions: FbankOptions) throws {
        self.encoder = encoder
        self.normalization = normalization
        computer = try FbankComputer(options: featureOptions)
    }

    public var module: Module { encoder }
    public var dimension: Int { encoder.config.hiddenSize }

    /// Frames per encoder time step (frame stack, or patch width).
    var unit: Int { encoder.timeUnit }
    /// Frequency rows per time step (1 for a frame encoder).
    var rows: Int { encoder.frequencyRows }

    /// Normalised fbank frames; an utterance shorter than one patch is padded with zeros (the mean) to one patch.
    public func input(_ waveform: Waveform) throws -> FeatureMatrix {
        var features = try normalization.normalize(try computer.compute(waveform))
        if features.frameCount < unit {
            features.values += [Float](repeating: 0, count: (unit - features.frameCount) * features.dimension)
            features.frameCount = unit
        }
        return features
    }

    /// Window boundaries (in frames) of an input of `frames` frames: equal windows, each a multiple of the time
    /// unit and at most `maxFrames`; a last window shorter than one unit is left out (a patch needs a whole unit).
    func windows(frames: Int) -> [Range<Int>] {
        let limit = encoder.config.maxFrames
        guard frames > limit else { return [0..<frames] }
        let count = (frames + limit - 1) / limit
        let size = min(limit / unit * unit, ((frames + count - 1) / count + unit - 1) / unit * unit)
        return stride(from: 0, to: frames, by: size).map { $0..<min($0 + size, frames) }.filter { $0.count >= unit }
    }

    public func states(_ inputs: [FeatureMatrix]) -> (states: Tensor, lengths: [Int]) {
        let bins = encoder.config.featureDimension
        // Every window of every utterance is one row of a single encoder batch.
        var pieces: [(utterance: Int, frames: Range<Int>)] = []
        for (index, input) in inputs.enumerated() {
            precondition(input.dimension == bins, "inputs of \(input.dimension) bins for an encoder of \(bins)")
            pieces += windows(frames: input.frameCount).map { (index, $0) }
        }
        let longest = pieces.map(\.frames.count).max()!
        let batch = Tensor(zeros: [pieces.count, longest, bins])
        for (row, piece) in pieces.enumerated() {
            inputs[piece.utterance].values.withUnsafeBufferPointer { values in
                (batch.data + row * longest * bins).update(from: values.baseAddress! + piece.frames.lowerBound * bins,
                                                           count: piece.frames.count * bins)
            }
        }
        let output = encoder(batch, lengths: pieces.map(\.frames.count))
        let last = output.lastHiddenState                                                  // (P, N, C)
        let (positions, channels) = (last.size(1), last.size(2))
        let steps = rows == 1 ? last : mean(last.reshaped([pieces.count, positions / rows, rows, channels]), axes: [2])
        let valid = (0..<pieces.count).map { row in
            (0..<positions).reduce(0) { $0 + Int(output.attentionMask.values[row * positions + $1]) } / rows
        }
        // Join each utterance's windows along time, then pad the utterances to one length.
        var joined: [Tensor] = [], lengths: [Int] = []
        for utterance in inputs.indices {
            let rowsOfUtterance = pieces.indices.filter { pieces[$0].utterance == utterance }
            let parts = rowsOfUtterance.map { row in
                slice(slice(steps, axis: 0, range: row..<(row + 1)), axis: 1, range: 0..<valid[row]).reshaped([valid[row], channels])
            }
            let states = parts.count == 1 ? parts[0] : concat(parts, axis: 0)
            joined.append(states)
            lengths.append(states.size(0))
        }
        let frames = max(lengths.max()!, 1)
        let padded = joined.map { states in
            states.size(0) == frames ? states : concat([states, Tensor(zeros: [frames - states.size(0), channels])], axis: 0)
        }
        return (concat(padded.map { $0.reshaped([1, frames, channels]) }, axis: 0), lengths)
    }
}
