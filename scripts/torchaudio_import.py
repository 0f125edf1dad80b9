"""torchaudio for the fixture scripts and bench/fbank_reference.py, on a CPU-only machine.

A CUDA build of torchaudio may fail to load its compiled extension there. Everything these scripts use (the Kaldi
fbank of torchaudio.compliance.kaldi, transformers' imports) is pure Python, so the extension is replaced by a stub
that says it is unavailable.
"""
import sys
import types


def stub_torchaudio_extension():
    """Imports torchaudio, stubbing its compiled extension when that cannot load."""
    try:
        import torchaudio  # noqa: F401
    except OSError:
        for name in [m for m in sys.modules if m.startswith("torchaudio")]:
            del sys.modules[name]
        stub = types.ModuleType("torchaudio._extension")
        stub._IS_TORCHAUDIO_EXT_AVAILABLE = False
        stub._IS_ALIGN_AVAILABLE = False
        stub.fail_if_no_align = lambda f: f
        sys.modules["torchaudio._extension"] = stub


def import_torchaudio():
    """(torchaudio, torchaudio.compliance.kaldi)."""
    stub_torchaudio_extension()
    import torchaudio
    import torchaudio.compliance.kaldi as kaldi
    return torchaudio, kaldi


def import_kaldi():
    """torchaudio.compliance.kaldi."""
    return import_torchaudio()[1]
