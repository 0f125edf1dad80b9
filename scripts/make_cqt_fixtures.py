#!/usr/bin/env python3
"""Constant-Q transform fixture: a direct NumPy evaluation of the definition in Sources/AudioData/ConstantQ.swift,

    X[m, k] = | sum_n x[m*hop - N_k//2 + n] * w_k[n] * exp(-2*pi*i*f_k*(n - N_k//2)/sr) | / sum_n w_k[n],

f_k = fmin * 2**(k/B), N_k = ceil(Q*sr/f_k), Q = filter_scale/(2**(1/B) - 1), w_k the periodic Hann window of N_k
points, x zero outside the signal, frames m = 0 .. len(x)//hop. No FFT: every inner product is summed as written, in
float64. Writes Tests/AudioDataTests/Fixtures/cqt.json (the signal, the settings, the magnitudes).
Needs numpy only. Run: python3 scripts/make_cqt_fixtures.py
"""
import json
import math
import pathlib

import numpy as np


def cqt_direct(x, sr, hop, fmin, bins_per_octave, bins, filter_scale):
    q = filter_scale / (2 ** (1 / bins_per_octave) - 1)
    frames = 1 + len(x) // hop
    out = np.zeros((frames, bins))
    for k in range(bins):
        f = fmin * 2 ** (k / bins_per_octave)
        n_k = math.ceil(q * sr / f)
        half = n_k // 2
        n = np.arange(n_k)
        window = 0.5 - 0.5 * np.cos(2 * np.pi * n / n_k)
        kernel = window * np.exp(-2j * np.pi * f * (n - half) / sr) / window.sum()
        for m in range(frames):
            index = m * hop - half + n
            valid = (index >= 0) & (index < len(x))
            segment = np.zeros(n_k)
            segment[valid] = x[index[valid]]
            out[m, k] = abs(np.dot(segment, kernel))
    return out


def main():
    sr, seconds = 16000, 0.5
    t = np.arange(int(sr * seconds)) / sr
    rng = np.random.default_rng(0)
    x = (0.5 * np.sin(2 * np.pi * 220 * t) + 0.3 * np.sin(2 * np.pi * 659.255 * t + 1.0)
         + 0.01 * rng.standard_normal(len(t))).astype(np.float32)
    settings = dict(sample_rate=sr, hop=400, fmin=65.40639132514966, bins_per_octave=12, bins=48, filter_scale=1.0)
    magnitudes = cqt_direct(x.astype(np.float64), sr, settings["hop"], settings["fmin"], settings["bins_per_octave"],
                            settings["bins"], settings["filter_scale"])
    out = pathlib.Path(__file__).resolve().parent.parent / "Tests/AudioDataTests/Fixtures/cqt.json"
    out.write_text(json.dumps(dict(settings, samples=[float(v) for v in x],
                                   magnitudes=[[float(v) for v in row] for row in magnitudes])))
    print(f"wrote {out}: {magnitudes.shape[0]} frames x {magnitudes.shape[1]} bins, peak {magnitudes.max():.4f}")


if __name__ == "__main__":
    main()
