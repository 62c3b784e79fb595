#!/usr/bin/env python3
"""Writes the small I/O fixtures the C++ readers are tested against (tests/unit/test_npy.cpp,
test_zip_archive.cpp, test_safetensors.cpp, test_array.cpp).

Everything is written by the REAL writers (numpy.save / np.lib.format.write_array / np.savez /
np.savez_compressed, safetensors.torch.save_file), so the tests check that actlens reads what
the Python ecosystem produces, not what actlens itself believes the formats to be.

Output, all under tests/data/io/ (a few KB in total):
  npy/<dtype>.npy        one file per dtype: float32, float64, float16 (incl. subnormals and the
                         largest finite half), int64, int32, int16, int8, uint8, bool
  npy/fortran_2d.npy     float32 [2, 3] saved in Fortran order (fortran_order: True)
  npy/fortran_3d.npy     int32 [2, 3, 4] in Fortran order (checks the general transpose)
  npy/big_endian_f8.npy  '>f8' [5];  npy/big_endian_i4.npy '>i4' [2, 2]
  npy/array_3d.npy       float32 [2, 3, 4]
  npy/scalar.npy         0-d float64
  npy/empty.npy          float32 [0, 3]
  npy/version2.npy, npy/version3.npy   format versions 2.0 and 3.0 (write_array(version=...))
  arrays.npz             np.savez: "weights" float32 [3, 4], "labels" int64 [3], "mask" bool [3]
  arrays_compressed.npz  np.savez_compressed of the same arrays (deflated members)
  tensors.safetensors    F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL tensors + __metadata__
  expected.json          for every file and key: dtype name (as actlens names it), shape and the
                         values flattened in C order as float64 (all exactly representable)

expected.json layout:
  {"npy": {"npy/float32.npy": {"dtype", "shape", "values"}, ...},
   "npz": {"arrays.npz": {"weights": {...}, ...}, ...},
   "safetensors": {"tensors.safetensors": {"tensors": {key: {...}}, "metadata": {...}}}}

Deterministic (fixed seeds, fixed values). Re-run from the repository root with:
  .venv-ref/bin/python tests/reference/make_io_fixtures.py
"""
import json
import pathlib
import re
import time
from unittest import mock

import numpy as np
import torch
from safetensors.torch import save_file

ROOT = pathlib.Path(__file__).resolve().parents[1] / "data" / "io"

# numpy dtype name -> the name actlens::io::dtype_name() gives.
DTYPE_NAMES = {
    "float64": "float64", "float32": "float32", "float16": "float16", "int64": "int64",
    "int32": "int32", "int16": "int16", "int8": "int8", "uint8": "uint8", "bool": "bool",
}
TORCH_DTYPE_NAMES = {
    torch.float64: "float64", torch.float32: "float32", torch.float16: "float16",
    torch.bfloat16: "bfloat16", torch.int64: "int64", torch.int32: "int32",
    torch.int16: "int16", torch.int8: "int8", torch.uint8: "uint8", torch.bool: "bool",
}


def describe(arr: np.ndarray) -> dict:
    """Expected entry for a numpy array: values in C order as float64."""
    return {
        "dtype": DTYPE_NAMES[arr.dtype.name],
        "shape": list(arr.shape),
        "values": [float(v) for v in np.ascontiguousarray(arr).astype(np.float64).ravel()],
    }


def describe_tensor(t: torch.Tensor) -> dict:
    return {
        "dtype": TORCH_DTYPE_NAMES[t.dtype],
        "shape": list(t.shape),
        "values": [float(v) for v in t.to(torch.float64).flatten().tolist()],
    }


def npy_arrays(rng: np.random.Generator) -> dict:
    """name -> array for the single-file .npy fixtures."""
    # Small integers over 8 make every float exactly representable in all float types.
    halves = np.array([0.0, -0.0, 1.0, -2.5, 65504.0, 2.0**-14, 2.0**-24, 3 * 2.0**-24, 0.333],
                      dtype=np.float16)
    arrays = {
        "float32": (rng.integers(-64, 64, size=(2, 3)) / 8).astype(np.float32),
        "float64": np.array([0.1, -1e300, 2.0**-1074, 1.5, -0.0], dtype=np.float64),
        "float16": halves,
        "int64": np.array([-(2**53), -1, 0, 7, 2**53], dtype=np.int64),
        "int32": np.array([[-(2**31), -5], [0, 2**31 - 1]], dtype=np.int32),
        "int16": np.array([-32768, -1, 0, 32767], dtype=np.int16),
        "int8": np.array([-128, -1, 0, 127], dtype=np.int8),
        "uint8": np.array([0, 1, 128, 255], dtype=np.uint8),
        "bool": np.array([[True, False, True], [False, False, True]]),
        "array_3d": (rng.integers(-100, 100, size=(2, 3, 4)) / 4).astype(np.float32),
        "scalar": np.array(3.5),
        "empty": np.zeros((0, 3), dtype=np.float32),
    }
    return arrays


def write_npy_fixtures(rng: np.random.Generator) -> dict:
    expected = {}
    out = ROOT / "npy"
    out.mkdir(parents=True, exist_ok=True)

    def save(name: str, arr: np.ndarray, **write_kwargs) -> None:
        path = out / f"{name}.npy"
        if write_kwargs:
            with open(path, "wb") as f:
                np.lib.format.write_array(f, arr, **write_kwargs)
        else:
            np.save(path, arr)
        back = np.load(path)  # what numpy itself reads back is the ground truth
        expected[f"npy/{name}.npy"] = describe(back)

    for name, arr in npy_arrays(rng).items():
        save(name, arr)
    f2 = np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3) * 0.5)
    f3 = np.asfortranarray(np.arange(24, dtype=np.int32).reshape(2, 3, 4) - 12)
    assert f2.flags.f_contiguous and not f2.flags.c_contiguous
    save("fortran_2d", f2)
    save("fortran_3d", f3)
    save("big_endian_f8", np.array([1.0, -2.0, 0.25, 1e10, -3.5], dtype=">f8"))
    save("big_endian_i4", np.array([[1, -2], [65536, -(2**31)]], dtype=">i4"))
    save("version2", np.arange(4, dtype=np.float32) - 1.5, version=(2, 0))
    save("version3", np.arange(6, dtype=np.int16).reshape(3, 2), version=(3, 0))
    # Big-endian arrays read back as native floats/ints; the dtype name is the logical one.
    for key in ("npy/big_endian_f8.npy", "npy/big_endian_i4.npy"):
        arr = np.load(ROOT / key)
        expected[key]["dtype"] = DTYPE_NAMES[arr.dtype.newbyteorder("=").name]
    return expected


def write_npz_fixtures(rng: np.random.Generator) -> dict:
    arrays = {
        "weights": (rng.integers(-32, 32, size=(3, 4)) / 16).astype(np.float32),
        "labels": np.array([2, 0, 1], dtype=np.int64),
        "mask": np.array([True, False, True]),
    }
    # zipfile stamps members with the local time; pin it so re-runs give identical bytes.
    fixed = time.struct_time((2024, 6, 1, 0, 0, 0, 5, 153, 0))
    with mock.patch("time.localtime", return_value=fixed):
        np.savez(ROOT / "arrays.npz", **arrays)
        np.savez_compressed(ROOT / "arrays_compressed.npz", **arrays)
    expected = {}
    for name in ("arrays.npz", "arrays_compressed.npz"):
        with np.load(ROOT / name) as z:
            expected[name] = {key: describe(z[key]) for key in z.files}
    return expected


def write_safetensors_fixture() -> dict:
    gen = torch.Generator().manual_seed(1234)
    base = torch.randint(-40, 40, (2, 3), generator=gen).to(torch.float64) / 8
    tensors = {
        "f64": base.clone(),
        "f32": base.to(torch.float32) * 2,
        "f16": torch.tensor([0.0, 1.0, -2.5, 65504.0, 2.0**-24], dtype=torch.float16),
        # bf16 values with a full 8-bit mantissa pattern and a large exponent.
        "bf16": torch.tensor([[1.0, -3.140625], [2.0**100, -(2.0**-100)]], dtype=torch.bfloat16),
        "i64": torch.tensor([-(2**40), 0, 2**40], dtype=torch.int64),
        "i32": torch.tensor([[-7, 8], [9, -10]], dtype=torch.int32),
        "i16": torch.tensor([-300, 300], dtype=torch.int16),
        "i8": torch.tensor([-100, 100], dtype=torch.int8),
        "u8": torch.tensor([0, 200, 255], dtype=torch.uint8),
        "mask": torch.tensor([True, False, True, True]),
        "acts": torch.randint(-8, 8, (4, 2, 3), generator=gen).to(torch.bfloat16) / 4,
    }
    metadata = {"format": "pt", "source": "actlens io fixtures"}
    path = ROOT / "tensors.safetensors"
    save_file(tensors, str(path), metadata=metadata)
    return {"tensors.safetensors": {
        "tensors": {key: describe_tensor(t) for key, t in tensors.items()},
        "metadata": metadata,
    }}


def main() -> None:
    ROOT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20240601)
    expected = {
        "npy": write_npy_fixtures(rng),
        "npz": write_npz_fixtures(rng),
        "safetensors": write_safetensors_fixture(),
    }
    text = json.dumps(expected, indent=1, sort_keys=True, allow_nan=False)
    # One line per number list keeps the file short and diffable.
    text = re.sub(r"\[[-+0-9.e,\s]*\]", lambda m: re.sub(r"\s+", "", m.group(0)), text)
    (ROOT / "expected.json").write_text(text + "\n")
    total = sum(p.stat().st_size for p in ROOT.rglob("*") if p.is_file())
    print(f"wrote {ROOT} ({total} bytes)")


if __name__ == "__main__":
    main()
