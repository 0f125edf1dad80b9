import ArgumentParser
import Foundation
import Tensors

/// A command's `--precision` value: parsed, set for every product, and the fallback said on stderr when the CPU runs
/// another precision (bf16 without AVX512-BF16 or AMX).
enum PrecisionOption {
    static let help = "fp32, bf16 (falls back to fp32 without bf16 instructions) or bf16-emulated."

    /// Sets the precision `value` names and returns it with the precision in effect; an unknown value throws
    /// `invalid` of the message (a usage error, or a one-line one).
    static func apply(_ value: String, invalid: (String) -> Error = { ValidationError($0) }) throws
        -> (requested: MatmulPrecision, effective: MatmulPrecision) {
        guard let requested = MatmulPrecision(rawValue: value) else {
            throw invalid("--precision must be one of \(MatmulPrecision.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let effective = Matmul.setPrecision(requested)
        if effective.precision != requested { FileHandle.standardError.write(Data((effective.message + "\n").utf8)) }
        return (requested, effective.precision)
    }
}
