import AudioData
import Foundation
import SafeTensors
import Tensors

/// A unit-to-mel decoder fitted by least squares: each normalised log-mel frame is b + Σ_{j=−c…c} W_j[u_{t+j}], the
/// units of the 2c + 1 frames around it (the first and last unit repeated past the ends) each adding a learnt frame.
/// With c = 0 it is the centroid of each unit's frames; the context lets a unit sound different beside different
/// neighbours (coarticulation), which one centroid per unit cannot. Ridge-regularised normal equations, solved by
/// Cholesky in Double: one pass over the train frames, no iterations.
public struct UnitMelDecoder: Equatable {
    public var context: Int
    public var unitCount: Int
    public var dimension: Int
    /// ((2c + 1)·unitCount + 1, dimension) row-major: W_{−c}, …, W_c, then b.
    public var weights: [Float]

    public static let fileName = "unit_decoder.safetensors"

    var featureCount: Int { (2 * context + 1) * unitCount + 1 }

    /// The active features of frame t: one unit per context offset, then the bias.
    func features(_ units: [Int], _ t: Int) -> [Int] {
        (-context...context).enumerated().map { slot, offset in
            slot * unitCount + units[min(max(t + offset, 0), units.count - 1)]
        } + [featureCount - 1]
    }

    /// Fits the decoder to utterances of (units, normalised frames (T, dimension)), one unit per frame.
    public static func fit(_ utterances: [(units: [Int], frames: FeatureMatrix)], unitCount: Int, context: Int,
                           ridge: Double = 1) -> UnitMelDecoder {
        precondition(context >= 0 && unitCount >= 1 && !utterances.isEmpty, "a decoder needs units, a context ≥ 0 and utterances")
        let d = utterances[0].frames.dimension
        var decoder = UnitMelDecoder(context: context, unitCount: unitCount, dimension: d, weights: [])
        let n = decoder.featureCount
        var gram = [Double](repeating: 0, count: n * n), moments = [Double](repeating: 0, count: n * d)
        for (units, frames) in utterances {
            precondition(units.count == frames.frameCount && frames.dimension == d, "one unit per frame of \(d) bins")
            for t in 0..<units.count {
                let active = decoder.features(units, t)
                for a in active {
                    for b in active { gram[a * n + b] += 1 }
                    for j in 0..<d { moments[a * d + j] += Double(frames[t, j]) }
                }
            }
        }
        for a in 0..<(n - 1) { gram[a * n + a] += ridge }      // the bias is not shrunk
        // Ridge makes the Gram matrix positive definite, so the factor exists.
        let factor = Cholesky.factor(gram, size: n)!
        decoder.weights = Cholesky.solve(factor: factor, size: n, moments, columns: d).map(Float.init)
        return decoder
    }

    /// Units (one per frame) → normalised frames (T, dimension).
    public func decode(_ units: [Int]) -> FeatureMatrix {
        var values = [Float](repeating: 0, count: units.count * dimension)
        for t in 0..<units.count {
            for feature in features(units, t) {
                for j in 0..<dimension { values[t * dimension + j] += weights[feature * dimension + j] }
            }
        }
        return FeatureMatrix(frameCount: units.count, dimension: dimension, values: values)
    }

    public func write(to url: URL) throws {
        var writer = SafeTensorsWriter(metadata: ["context": String(context), "unit_count": String(unitCount)])
        try weights.withUnsafeBufferPointer { try writer.add("weights", shape: [featureCount, dimension], floats: $0) }
        try writer.write(to: url)
    }

    /// Reads a decoder file; a file of another shape or without its metadata is an error naming it.
    public static func read(_ url: URL) throws -> UnitMelDecoder {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(contentsOf: url) } catch { throw TrainingError("\(url.path): cannot read the unit-to-mel decoder: \(error)") }
        guard file.names.contains("weights"), let (shape, values) = try? file.floats("weights"), shape.count == 2,
              let context = file.metadata["context"].flatMap(Int.init), let unitCount = file.metadata["unit_count"].flatMap(Int.init),
              context >= 0, unitCount >= 1, shape[0] == (2 * context + 1) * unitCount + 1 else {
            throw TrainingError("\(url.path): not a unit-to-mel decoder of pretrain tts units")
        }
        return UnitMelDecoder(context: context, unitCount: unitCount, dimension: shape[1], weights: values)
    }
}
