import Foundation

/// The analysis windows of Kaldi's feature-window.cc, as torchaudio.compliance.kaldi builds them (symmetric).
public enum FeatureWindow: String, CaseIterable {
    case povey, hanning, hamming, rectangular, blackman

    /// The window's `size` weights. `blackmanCoefficient` is Kaldi's generalised Blackman constant (0.42).
    /// Double, as the frames they multiply (see RealFFT for why).
    public func weights(size: Int, blackmanCoefficient: Double = 0.42) -> [Double] {
        let a = 2 * Double.pi / Double(size - 1)
        return (0..<size).map { n in
            let x = Double(n)
            // hann with periodic=False, as torch.hann_window builds it: 0.5 - 0.5 cos(2πn / (N - 1)).
            let hann = 0.5 - 0.5 * cos(a * x)
            switch self {
            case .hanning: return hann
            case .povey: return pow(hann, 0.85)  // like hanning but reaches zero at the edges more gently
            case .hamming: return 0.54 - 0.46 * cos(a * x)
            case .rectangular: return 1
            case .blackman:
                return blackmanCoefficient - 0.5 * cos(a * x) + (0.5 - blackmanCoefficient) * cos(2 * a * x)
            }
        }
    }
}
