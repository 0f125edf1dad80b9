#!/usr/bin/env python3
"""Text-to-speech mel spectrogram and Griffin-Lim fixture for Sources/AudioData (TTSMelSpectrogram.swift,
GriffinLim.swift), from torchaudio's transforms in float64 (torch.set_default_dtype, so that the Hann window and the
mel filters are built in float64 too; torchaudio builds them in float32 otherwise, and the difference each makes is
printed: the float32 window's leakage floor moves the log of near-silent bins by a few 1e-3):

    log_mel            log(clamp(MelSpectrogram(sample_rate=16000, n_fft=1024, win_length=1024, hop_length=256,
                       f_min=0, f_max=8000, n_mels=80, power=1, norm="slaney", mel_scale="slaney", center=True,
                       pad_mode="reflect")(x), min=1e-5)), (frames, 80)
    linear_magnitude   InverseMelScale(n_stft=513, ...same mel settings, driver="gels")(exp(log_mel)), (frames, 513)
    griffin_lim        GriffinLim(n_fft=1024, win_length=1024, hop_length=256, power=1, n_iter=8, momentum=0.99,
                       length=len(x), rand_init=False)(linear_magnitude), (len(x))

x is 0.4 s at 16 kHz of a linear chirp from 150 Hz to 2.5 kHz with its second and third harmonics, no randomness,
stored as 16-bit integers (signal_pcm16; the signal is pcm16 / 32768 exactly, in float32 and float64 alike). Every
stage reads the previous stage's values as written (rounded to 7 significant digits) and then rounded to float32, as
the Swift tests hold them in a FeatureMatrix: Griffin-Lim magnifies a change of its input a thousandfold (float32
rounding of the magnitudes alone moves torchaudio's 8-iteration waveform by 2e-4), so each stage must start from
exactly the values the Swift side starts from. Writes Tests/AudioDataTests/Fixtures/tts_mel.json.

Needs torch and torchaudio (make fixtures installs them). Run: python3 scripts/make_tts_audio_fixtures.py
"""
import json
import math
import pathlib
import sys

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from torchaudio_import import stub_torchaudio_extension  # noqa: E402

stub_torchaudio_extension()
import torchaudio  # noqa: E402

OPTIONS = dict(sample_rate=16000, n_fft=1024, hop_length=256, win_length=1024, n_mels=80, f_min=0.0, f_max=8000.0,
               log_floor=1e-5)
N_ITER, MOMENTUM = 8, 0.99


def rounded(tensor):
    """The values to 7 significant digits: what is written."""
    values = [float(f"{v:.7g}") for v in tensor.flatten().tolist()]
    return torch.tensor(values, dtype=torch.float64).reshape(tensor.shape)


def as_read(written):
    """What a Swift FeatureMatrix holds of the written values (Float), in float64."""
    return written.to(torch.float32).to(torch.float64)


def signal():
    sr, n = OPTIONS["sample_rate"], int(0.4 * OPTIONS["sample_rate"])
    t = torch.arange(n, dtype=torch.float64) / sr
    f0, f1, duration = 150.0, 2500.0, n / sr
    phase = 2 * math.pi * (f0 * t + (f1 - f0) * t * t / (2 * duration))
    x = 0.5 * torch.sin(phase) + 0.25 * torch.sin(2 * phase + 0.3) + 0.12 * torch.sin(3 * phase + 1.1)
    return torch.round(x * 32767).to(torch.int64)


def mel_transform():
    o = OPTIONS
    return torchaudio.transforms.MelSpectrogram(
        sample_rate=o["sample_rate"], n_fft=o["n_fft"], win_length=o["win_length"], hop_length=o["hop_length"],
        f_min=o["f_min"], f_max=o["f_max"], n_mels=o["n_mels"], power=1, norm="slaney", mel_scale="slaney",
        center=True, pad_mode="reflect")


def log_mel(transform, x):
    """(frames, n_mels)."""
    return torch.log(torch.clamp(transform(x), min=OPTIONS["log_floor"])).T


def main():
    pcm = signal()
    x = pcm.to(torch.float64) / 32768

    # torchaudio builds its window and filters in float32 by default: how far each is from the float64 values.
    float32_transform = mel_transform().double()

    torch.set_default_dtype(torch.float64)
    o = OPTIONS
    reference = log_mel(mel_transform(), x)
    for name, part in [("Hann window", "spectrogram.window"), ("mel filters", "mel_scale.fb")]:
        transform = mel_transform()
        owner, attribute = part.split(".")
        setattr(getattr(transform, owner), attribute, getattr(getattr(float32_transform, owner), attribute).clone())
        print(f"log-mel with torchaudio's float32-built {name}: max |difference| "
              f"{(log_mel(transform, x) - reference).abs().max().item():.2e}")
    log_mel_written = rounded(reference)

    inverse_mel = torchaudio.transforms.InverseMelScale(
        n_stft=o["n_fft"] // 2 + 1, n_mels=o["n_mels"], sample_rate=o["sample_rate"], f_min=o["f_min"], f_max=o["f_max"],
        norm="slaney", mel_scale="slaney")
    magnitude = inverse_mel(torch.exp(as_read(log_mel_written).T)).T          # (frames, bins)
    magnitude_written = rounded(magnitude)

    griffin_lim = torchaudio.transforms.GriffinLim(
        n_fft=o["n_fft"], n_iter=N_ITER, win_length=o["win_length"], hop_length=o["hop_length"], power=1,
        momentum=MOMENTUM, length=len(x), rand_init=False)
    waveform = griffin_lim(as_read(magnitude_written).T)
    waveform_written = rounded(waveform)

    out = pathlib.Path(__file__).resolve().parent.parent / "Tests/AudioDataTests/Fixtures/tts_mel.json"
    out.write_text(json.dumps(dict(
        options=OPTIONS, griffin_lim=dict(n_iter=N_ITER, momentum=MOMENTUM, length=len(x)),
        signal_pcm16=pcm.tolist(), log_mel=log_mel_written.tolist(), linear_magnitude=magnitude_written.tolist(),
        griffin_lim_waveform=waveform_written.tolist()), separators=(",", ":")))
    print(f"wrote {out} ({out.stat().st_size // 1024} KB): {reference.shape[0]} frames x {o['n_mels']} mels, "
          f"magnitude peak {magnitude.max().item():.4f}, waveform peak {waveform.abs().max().item():.4f}")


if __name__ == "__main__":
    main()
