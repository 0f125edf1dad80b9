import Foundation
import Layers
import Tensors
import Training

/// Loss and bits per byte of any `NextTokenModel` (one decoder or a composition) on evaluation windows, as `pretrain
/// eval` reports a checkpoint's: every (T+1)-token window predicts its last T tokens from the ones before; the mean
/// is over predicted tokens.
public enum NextTokenEvaluation {
    /// windows: (B, T+1) each (`evaluationBatches`), T ≤ the model's context.
    public static func evaluate(_ model: any NextTokenModel, windows: [IntTensor], bytesPerToken: Double?) -> Evaluation {
        var total = 0.0, predicted = 0
        model.inEvaluationMode {
            for window in windows {
                let (rows, length) = (window.shape[0], window.shape[1] - 1)
                precondition(length <= model.contextLength, "windows of \(length) tokens exceed the context of \(model.contextLength)")
                var inputs = [Int32](), targets = [Int]()
                inputs.reserveCapacity(rows * length)
                for b in 0..<rows {
                    let row = window.values[(b * (length + 1))..<((b + 1) * (length + 1))]
                    inputs += row.dropLast()
                    targets += row.dropFirst().map(Int.init)
                }
                let scores = model.nextTokenScores(tokens: IntTensor(inputs, shape: [rows, length]),
                                                   rows: Array(0..<(rows * length)))          // (B·T, V)
                let logProbabilities = logSoftmax(scores)
                let vocabulary = logProbabilities.size(-1)
                for (row, target) in targets.enumerated() {
                    total -= Double(logProbabilities.data[row * vocabulary + target])
                }
                predicted += targets.count
            }
        }
        let loss = predicted > 0 ? total / Double(predicted) : .nan
        return Evaluation(loss: loss, predicted: predicted, bitsPerByte: bytesPerToken.map { loss / (log(2) * $0) })
    }
}
