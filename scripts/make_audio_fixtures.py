"""Audio fixtures for Tests/AudioDataTests: short synthetic WAVs and torchaudio's Kaldi fbank/MFCC of them.

Writes Tests/AudioDataTests/Fixtures/audio/*.wav and Tests/AudioDataTests/Fixtures/kaldi_features.safetensors:
one tensor per case (key = case name) and, in the metadata, the case's settings as JSON (key = case name).
The reference is torchaudio run in float64 (stored as float32): Kaldi's semantics without float32 FFT noise.
The reference waveform is the file as decoded (int16 / 32768, float32 as stored; stereo averaged), times 32768
(Kaldi's 16-bit scale), at the file's own rate. Needs torch, torchaudio, scipy, safetensors.

torchaudio 2.11's CPU-only use: its compiled extension may be built for CUDA and fail to load; kaldi.py is pure
Python, so the extension is stubbed out before import when it cannot load.
"""
import json
import sys
import types
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from scipy.io import wavfile


from torchaudio_import import import_torchaudio  # noqa: E402


torchaudio, kaldi = import_torchaudio()
ROOT = Path(__file__).resolve().parent.parent / "Tests/AudioDataTests/Fixtures"
AUDIO = ROOT / "audio"
rng = np.random.default_rng(6)


def chirp(rate, seconds, f0, f1):
    t = np.arange(int(rate * seconds)) / rate
    phase = 2 * np.pi * (f0 * t + (f1 - f0) * t * t / (2 * seconds))
    return np.sin(phase)


def sine(rate, seconds, hz):
    return np.sin(2 * np.pi * hz * np.arange(int(rate * seconds)) / rate)


def int16(x):
    return np.clip(np.round(x * 32767), -32768, 32767).astype(np.int16)


# name → (rate, samples as stored: int16 or float32, (n) or (n, channels)).
files = {
    "chirp16k_int16.wav": (16000, int16(0.5 * chirp(16000, 1.5, 100, 6000) + 0.02 * rng.standard_normal(24000))),
    "noise8k_int16.wav": (8000, int16(0.3 * rng.standard_normal(5600) + 0.2 * sine(8000, 0.7, 440))),
    "tone22k_float32.wav": (22050, (0.4 * sine(22050, 1.0, 440) + 0.3 * chirp(22050, 1.0, 2000, 9000)
                                    + 0.01 * rng.standard_normal(22050) + 0.05).astype(np.float32)),
    "stereo44k_int16.wav": (44100, int16(np.stack([0.5 * sine(44100, 0.5, 1000), 0.5 * sine(44100, 0.5, 3000)], 1))),
}

AUDIO.mkdir(parents=True, exist_ok=True)
waveforms = {}
for name, (rate, stored) in files.items():
    wavfile.write(AUDIO / name, rate, stored)
    x = torch.from_numpy(stored.astype(np.float32) / (32768.0 if stored.dtype == np.int16 else 1.0))
    if x.dim() == 2:
        x = x.mean(dim=1)
    waveforms[name] = (rate, x)

# Each case: file, kind and the torchaudio keyword arguments (sample_frequency is the file's rate).
cases = {
    "fbank_default_16k": ("chirp16k_int16.wav", "fbank", {}),
    "fbank_80_nosnip_16k": ("chirp16k_int16.wav", "fbank", {"num_mel_bins": 80, "snip_edges": False}),
    "fbank_128_hamming_band_16k": ("chirp16k_int16.wav", "fbank",
                                   {"num_mel_bins": 128, "window_type": "hamming", "low_freq": 50.0, "high_freq": -400.0}),
    "fbank_hanning_nosnip_8k": ("noise8k_int16.wav", "fbank",
                                {"window_type": "hanning", "snip_edges": False, "high_freq": 3500.0}),
    "fbank_rect_energy_22k": ("tone22k_float32.wav", "fbank",
                              {"num_mel_bins": 80, "window_type": "rectangular", "use_energy": True,
                               "raw_energy": False, "energy_floor": 0.0}),
    "fbank_blackman_magnitude_44k": ("stereo44k_int16.wav", "fbank",
                                     {"num_mel_bins": 128, "window_type": "blackman", "use_power": False,
                                      "remove_dc_offset": False, "preemphasis_coefficient": 0.0}),
    "fbank_unrounded_hamming_16k": ("chirp16k_int16.wav", "fbank",
                                    {"window_type": "hamming", "round_to_power_of_two": False, "frame_length": 20.0,
                                     "frame_shift": 12.5}),
    "fbank_linear_16k": ("chirp16k_int16.wav", "fbank", {"use_log_fbank": False}),
    "mfcc_default_16k": ("chirp16k_int16.wav", "mfcc", {}),
    "mfcc_energy_8k": ("noise8k_int16.wav", "mfcc", {"num_mel_bins": 40, "num_ceps": 20, "use_energy": True}),
    "mfcc_80_nosnip_nolifter_44k": ("stereo44k_int16.wav", "mfcc",
                                    {"num_mel_bins": 80, "num_ceps": 30, "snip_edges": False, "cepstral_lifter": 0.0}),
}

tensors, metadata = {}, {}
for case, (name, kind, kwargs) in cases.items():
    rate, x = waveforms[name]
    function = kaldi.fbank if kind == "fbank" else kaldi.mfcc
    out = function((x.double() * 32768.0).unsqueeze(0), sample_frequency=float(rate), dither=0.0, **kwargs).float()
    tensors[case] = out.contiguous()
    # For the record: how far torchaudio's own float32 run is from this float64 one.
    out32 = function((x * 32768.0).unsqueeze(0), sample_frequency=float(rate), dither=0.0, **kwargs)
    metadata[case] = json.dumps({"file": name, "kind": kind, "rate": rate, "options": kwargs}, sort_keys=True)
    print(f"{case}: {tuple(out.shape)}, torchaudio float32 vs float64: max |Δ| {(out32 - out).abs().max().item():.2e}")

# A reference resampling of the stereo file's mono mix to 16 kHz (torchaudio's sinc resampler; soxr differs slightly).
rate, x = waveforms["stereo44k_int16.wav"]
tensors["resampled_stereo44k_to_16k"] = torchaudio.functional.resample(x, rate, 16000).contiguous()
metadata["torchaudio"] = torchaudio.__version__
save_file(tensors, ROOT / "kaldi_features.safetensors", metadata=metadata)
total = sum(p.stat().st_size for p in ROOT.rglob("*") if p.is_file())
print(f"wrote {ROOT} ({total / 1e6:.2f} MB)")
