"""Writes Tests/SafeTensorsTests/Fixtures/python_written.safetensors with the reference implementation.

The file is the interop fixture for Tests/SafeTensorsTests/PythonInteropTests.swift: tensors of dtype
F32, F16, BF16, I64 and I32 (a scalar and an empty tensor among them) plus a `__metadata__` dict,
written by `safetensors.torch.save_file`. Every value is exact in its dtype, so the Swift test compares
with `==`. The Swift test hard-codes the same values: change both together. Regenerating may reorder
the metadata keys in the header (the reference writer keeps them in a hash map); the content is the same.

Run from the repository root (needs `pip install torch safetensors`):

    python3 scripts/make_safetensors_fixture.py
"""
import math
import pathlib

import torch
from safetensors.torch import load_file, save_file

OUTPUT = pathlib.Path(__file__).resolve().parent.parent / "Tests/SafeTensorsTests/Fixtures/python_written.safetensors"

TENSORS = {
    "f32.matrix": torch.tensor([[1.5, -2.25, 0.0], [3.0, 2.0 ** -149, 65536.0]], dtype=torch.float32),
    # 65504 is the largest F16, 2^-24 the smallest subnormal, 0.333251953125 the F16 nearest 1/3.
    "f16.values": torch.tensor([1.0, -2.0, 65504.0, 2.0 ** -24, math.inf, -math.inf, 0.333251953125, math.nan],
                               dtype=torch.float16),
    "bf16.values": torch.tensor([[1.0, -3.5], [2.0 ** 100, 2.0 ** -7]], dtype=torch.bfloat16),
    "i64.ids": torch.tensor([-1, 0, 2 ** 40, 2 ** 63 - 1], dtype=torch.int64),
    "i32.counts": torch.tensor([-(2 ** 31), 7, 2 ** 31 - 1], dtype=torch.int32),
    "scalar": torch.tensor(42.0, dtype=torch.float32),
    "empty": torch.zeros((0, 3), dtype=torch.float32),
}
METADATA = {"format": "pt", "written_by": "scripts/make_safetensors_fixture.py"}

if __name__ == "__main__":
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    save_file(TENSORS, str(OUTPUT), metadata=METADATA)
    # Read back with the reference reader so a broken fixture fails here, not in the Swift test.
    loaded = load_file(str(OUTPUT))
    for name, tensor in TENSORS.items():
        exact = torch.allclose(loaded[name].double(), tensor.double(), rtol=0, atol=0, equal_nan=True)
        assert exact and loaded[name].dtype == tensor.dtype, name
    print(f"wrote {OUTPUT}")
