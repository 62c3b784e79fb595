"""Generate tests/data/bad/: awkward and hostile inputs for actlens' readers.

What it writes (all tiny)
-------------------------
nan_roles/                 roles dataset in the seed layout (response_activations/{role}.pt via
                           torch.save, extract_scores/{role}.json): roles alpha, beta, gamma;
                           15 responses each, keys "pos_p{i}_q{j}" (i = 0..2, j = 0..4), all
                           score 3; values float32 [4 layers, 8].  beta["pos_p0_q3"][2, 5] = NaN,
                           gamma["pos_p0_q1"][1, 0] = +Inf.  A loader / analysis must report
                           these, not silently propagate them.
legacy.pt                  torch.save({'a': torch.ones(3)}, f, _use_new_zipfile_serialization=False)
                           (pre-1.6 non-zip format; expected to be rejected with a clear message).
malicious.pt               zip (ZIP_STORED) laid out like torch.save: "archive/data.pkl",
                           "archive/version" = "3\\n", no "archive/data/".  data.pkl is a
                           hand-built protocol-2 pickle: GLOBAL 'os system', BINUNICODE
                           'touch /tmp/actlens_pwned', TUPLE1, REDUCE, STOP.  A safe reader must
                           refuse it (GLOBAL outside the allow-list) and never create the file.
malicious.pkl              the same pickle bytes as a plain file.
torch_types/               genuine torch.save files for reader tests:
    dtypes.pt              dict: one tensor per dtype float32/float16/bfloat16/float64/int64/
                           int32/uint8/bool, plus a 0-d float32 tensor, a 0-d int64 tensor and an
                           empty float32 [0, 3] tensor
    views.pt               dict: base = arange(20).reshape(4, 5) float32 and views sharing its
                           storage: t[1:], t.T, t[:, 2], t[::2] (one storage in the archive)
    proto{2,3,4,5}.pt      the same small dict saved with torch.save(..., pickle_protocol=p)
                           (a protocol torch refuses is skipped and reported)
    nested.pt              OrderedDict with nested dicts/lists/tuples, ints (incl. > 2^31 and
                           negative), floats, strings, None, bools, a tensor, a numpy float64
                           array, a numpy int64 scalar and a numpy float32 scalar
    sklearn.pt             {"pca": fitted sklearn PCA(n_components=3) on a 10x5 random matrix,
                           "scaler": fitted StandardScaler on the same matrix}
    expected.json          {file: {key_path: value}}; key paths joined with "/", list/tuple
                           indices as numbers.  Tensors / ndarrays / numpy scalars ->
                           {"kind": "tensor"|"ndarray"|"numpy_scalar", "dtype": name,
                           "shape": [...], "values": [flattened, row-major, as float64]}
                           (tensors also carry "stride" and "storage_offset"); plain Python
                           scalars / strings / None are stored as JSON values.  For sklearn.pt:
                           "pca/components_", "pca/mean_", "pca/explained_variance_",
                           "scaler/mean_", "scaler/scale_" (ndarrays).

The malicious pickle is NEVER loaded here (only disassembled with pickletools).

Re-run (from the repo root):  .venv-ref/bin/python tests/reference/make_bad_fixtures.py
"""

import collections
import io
import json
import os
import pickletools
import shutil
import struct
import zipfile

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(REPO, "tests", "data", "bad")


def write_nan_roles(root):
    rng = np.random.default_rng(7)
    ra = os.path.join(root, "response_activations")
    es = os.path.join(root, "extract_scores")
    os.makedirs(ra)
    os.makedirs(es)
    keys = [f"pos_p{i}_q{j}" for i in range(3) for j in range(5)]
    for r, role in enumerate(["alpha", "beta", "gamma"]):
        obj = {}
        for key in keys:
            a = (rng.standard_normal((4, 8)) + r).astype(np.float32)
            obj[key] = torch.from_numpy(a)
        if role == "beta":
            obj["pos_p0_q3"][2, 5] = float("nan")
        if role == "gamma":
            obj["pos_p0_q1"][1, 0] = float("inf")
        torch.save(obj, os.path.join(ra, f"{role}.pt"))
        with open(os.path.join(es, f"{role}.json"), "w") as f:
            json.dump({k: 3 for k in keys}, f, indent=2)
    print("  nan_roles: alpha/beta/gamma x 15 keys, float32 [4, 8]; "
          "NaN beta/pos_p0_q3[2,5], +Inf gamma/pos_p0_q1[1,0]")


def malicious_pickle():
    cmd = b"touch /tmp/actlens_pwned"
    data = (b"\x80\x02"                      # PROTO 2
            + b"cos\nsystem\n"               # GLOBAL 'os system'
            + b"X" + struct.pack("<I", len(cmd)) + cmd   # BINUNICODE
            + b"\x85"                        # TUPLE1
            + b"R"                           # REDUCE
            + b".")                          # STOP
    out = io.StringIO()
    pickletools.dis(data, out=out)          # parse only, never execute
    return data, out.getvalue()


def write_malicious(root):
    data, dis = malicious_pickle()
    with open(os.path.join(root, "malicious.pkl"), "wb") as f:
        f.write(data)
    with zipfile.ZipFile(os.path.join(root, "malicious.pt"), "w", zipfile.ZIP_STORED) as z:
        z.writestr(zipfile.ZipInfo("archive/data.pkl", date_time=(1980, 1, 1, 0, 0, 0)), data)
        z.writestr(zipfile.ZipInfo("archive/version", date_time=(1980, 1, 1, 0, 0, 0)), b"3\n")
    print("  malicious.pkl / malicious.pt data.pkl disassembly:")
    for line in dis.rstrip().splitlines():
        print("     " + line)


# ---------------------------------------------------------------------------------------------
# expected.json helpers
# ---------------------------------------------------------------------------------------------
def tensor_entry(t):
    return {"kind": "tensor", "dtype": str(t.dtype).replace("torch.", ""),
            "shape": list(t.shape), "stride": list(t.stride()),
            "storage_offset": int(t.storage_offset()),
            "values": [float(v) for v in t.detach().to(torch.float64).reshape(-1).tolist()]}


def array_entry(a, kind="ndarray"):
    a = np.asarray(a)
    return {"kind": kind, "dtype": a.dtype.name, "shape": list(a.shape),
            "values": [float(v) for v in a.astype(np.float64).reshape(-1)]}


def flatten(obj, prefix, out):
    if isinstance(obj, torch.Tensor):
        out[prefix] = tensor_entry(obj)
    elif isinstance(obj, np.ndarray):
        out[prefix] = array_entry(obj)
    elif isinstance(obj, np.generic):
        out[prefix] = array_entry(obj, kind="numpy_scalar")
    elif isinstance(obj, dict):
        for k, v in obj.items():
            assert isinstance(k, str) and "/" not in k
            flatten(v, f"{prefix}/{k}" if prefix else k, out)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            flatten(v, f"{prefix}/{i}" if prefix else str(i), out)
    elif obj is None or isinstance(obj, (bool, int, float, str)):
        out[prefix] = obj
    else:
        raise TypeError(f"{prefix}: {type(obj)}")


def write_torch_types(root):
    d = os.path.join(root, "torch_types")
    os.makedirs(d)
    expected = {}

    base = torch.tensor([[1.5, -2.25, 3.0], [0.125, 1024.0, -0.0078125]])
    dtypes = {
        "float32": base.clone(),
        "float16": base.to(torch.float16),
        "bfloat16": base.to(torch.bfloat16),
        "float64": torch.tensor([[1.0 / 3.0, -2.0e300, 5e-324]], dtype=torch.float64),
        "int64": torch.tensor([0, -1, 2**40, -(2**62)], dtype=torch.int64),
        "int32": torch.tensor([[7, -8], [2**31 - 1, -(2**31)]], dtype=torch.int32),
        "uint8": torch.tensor([0, 1, 127, 255], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "scalar_float32": torch.tensor(3.5),
        "scalar_int64": torch.tensor(-42),
        "empty_float32": torch.zeros(0, 3),
    }
    torch.save(dtypes, os.path.join(d, "dtypes.pt"))
    expected["dtypes.pt"] = {}
    flatten(dtypes, "", expected["dtypes.pt"])

    t = torch.arange(20, dtype=torch.float32).reshape(4, 5)
    views = {"base": t, "slice_1": t[1:], "transpose": t.T, "column_2": t[:, 2],
             "rows_step2": t[::2]}
    torch.save(views, os.path.join(d, "views.pt"))
    with zipfile.ZipFile(os.path.join(d, "views.pt")) as z:
        n_storages = sum(1 for n in z.namelist() if "/data/" in n and "/.data/" not in n)
    assert n_storages == 1, n_storages
    expected["views.pt"] = {}
    flatten(views, "", expected["views.pt"])

    proto_obj = {"w": torch.tensor([[1.0, 2.0], [3.0, 4.0]]), "b": torch.tensor([0.5, -0.5]),
                 "name": "protocol test", "n": 3}
    for p in (2, 3, 4, 5):
        path = os.path.join(d, f"proto{p}.pt")
        try:
            torch.save(proto_obj, path, pickle_protocol=p)
        except Exception as exc:  # noqa: BLE001
            print(f"  proto{p}.pt: torch refused pickle_protocol={p}: {exc!r} (skipped)")
            if os.path.exists(path):
                os.remove(path)
            continue
        with zipfile.ZipFile(path) as z:
            pkl = z.read(next(n for n in z.namelist() if n.endswith("/data.pkl")))
        print(f"  proto{p}.pt: data.pkl starts with {pkl[:2].hex()} (PROTO {pkl[1]})")
        expected[f"proto{p}.pt"] = {}
        flatten(proto_obj, "", expected[f"proto{p}.pt"])

    nested = collections.OrderedDict()
    nested["a"] = {"b": [torch.tensor([1.0, 2.0, 3.0]), 1, 2.5, "str"],
                   "c": (None, True, False, -7)}
    nested["ints"] = [0, -1, 2**31, -(2**31) - 1, 2**62]
    nested["floats"] = (0.1, -1e-300, 1e300, float(np.float32(1.1)))
    nested["strings"] = ["", "ascii", "ünïcødé ✓", "with/slash?"]
    nested["deep"] = {"l1": {"l2": {"l3": [[1, 2], (3, [4, "five"])]}}}
    nested["np"] = {"f64_array": np.array([[1.25, -2.5], [3.75, 1e-10]], dtype=np.float64),
                    "i64_scalar": np.int64(-1234567890123),
                    "f32_scalar": np.float32(0.3)}
    nested["none"] = None
    nested["flag"] = True
    torch.save(nested, os.path.join(d, "nested.pt"))
    expected["nested.pt"] = {}
    flatten(nested, "", expected["nested.pt"])

    rng = np.random.default_rng(11)
    X = rng.standard_normal((10, 5)) * np.array([1.0, 2.0, 0.5, 3.0, 1.5]) + 4.0
    pca = PCA(n_components=3).fit(X)
    scaler = StandardScaler().fit(X)
    torch.save({"pca": pca, "scaler": scaler}, os.path.join(d, "sklearn.pt"))
    expected["sklearn.pt"] = {
        "pca/components_": array_entry(pca.components_),
        "pca/mean_": array_entry(pca.mean_),
        "pca/explained_variance_": array_entry(pca.explained_variance_),
        "scaler/mean_": array_entry(scaler.mean_),
        "scaler/scale_": array_entry(scaler.scale_),
    }

    with open(os.path.join(d, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, indent=2, ensure_ascii=False, allow_nan=False)
        f.write("\n")
    for name, ent in expected.items():
        print(f"  torch_types/{name}: {len(ent)} key paths")

    # self-check: reload the genuine torch files and compare with expected.json
    for name in expected:
        obj = torch.load(os.path.join(d, name), weights_only=False)
        got = {}
        if name == "sklearn.pt":
            got = {f"{k}/{a}": array_entry(getattr(obj[k], a)) for k, a in
                   (("pca", "components_"), ("pca", "mean_"), ("pca", "explained_variance_"),
                    ("scaler", "mean_"), ("scaler", "scale_"))}
        else:
            flatten(obj, "", got)
        assert got == expected[name], name
    print("  torch_types reload check: OK")


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    print(f"writing {OUT}")
    write_nan_roles(os.path.join(OUT, "nan_roles"))
    with open(os.path.join(OUT, "legacy.pt"), "wb") as f:
        torch.save({'a': torch.ones(3)}, f, _use_new_zipfile_serialization=False)
    with open(os.path.join(OUT, "legacy.pt"), "rb") as f:
        head = f.read(4)
    assert not head.startswith(b"PK"), head
    print(f"  legacy.pt: non-zip, starts with {head.hex()}")
    write_malicious(OUT)
    write_torch_types(OUT)
    total = sum(os.path.getsize(os.path.join(dp, fn))
                for dp, _, fs in os.walk(OUT) for fn in fs)
    print(f"total {total / 1e3:.1f} kB")


if __name__ == "__main__":
    main()
