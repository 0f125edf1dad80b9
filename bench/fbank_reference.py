"""torchaudio reference for `pretrain bench fbank`: torchaudio.compliance.kaldi.fbank (80 bins, 25/10 ms, povey,
16 kHz, dither 0) over synthetic clips of the same count and length; seconds of audio per second.

Needs torch and torchaudio. Run: python3 bench/fbank_reference.py [--clips 200 --seconds 5 --threads 2]
"""
import argparse
import json
import math
import os
import statistics
import sys
import time
import types

import torch


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from torchaudio_import import import_kaldi  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    kaldi = import_kaldi()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    length = int(a.seconds * 16000)
    t = torch.arange(length, dtype=torch.float64) / 16000
    clips = [(0.3 * torch.sin(2 * math.pi * (200 + 50 * (c % 7)) * t * (1 + t)) + 0.05 * torch.randn(length, dtype=torch.float64))
             .float().mul(32768).unsqueeze(0) for c in range(a.clips)]
    times, frames = [], 0
    for _ in range(a.repeats):
        start = time.perf_counter()
        frames = sum(kaldi.fbank(clip, num_mel_bins=80, dither=0.0, sample_frequency=16000).shape[0] for clip in clips)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    audio = a.clips * a.seconds
    print(json.dumps({"impl": "torchaudio", "clips": a.clips, "audio_seconds": audio, "frames": frames,
                      "seconds": round(median, 4), "realtime_factor": round(audio / median, 1), "threads": a.threads}))


if __name__ == "__main__":
    main()
