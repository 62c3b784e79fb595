"""Generate tests/data/roles_example_expected.json: what torch itself reads from roles_example/.

The C++ torch reader tests (tests/unit/test_torch_file.cpp, test_role_dataset.cpp) compare
actlens' own zip/pickle/bfloat16 reader with these numbers, so no Python is needed at test time.

What it writes
--------------
{
  "n_layers": 46, "dim": 64, "dtype": "bfloat16",
  "role_files": [sorted role names of response_activations/*.pt, "default" excluded],
  "first_role": "accountant",                       # first role file in sorted order
  "first_role_keys": [all keys of that file, insertion order],
  "first_role_scores": {key: score as in extract_scores (int or "REFUSAL")},
  "first_role_rows": {layer (as a string): {key: [64 floats]}}
        layer "22": every key of the first role file; layers "0" and "45": its first 3 keys.
        Values: torch.load(...)[key][layer].float() as Python floats (bf16 widened exactly).
  "pca_file": {
    "layer": 22,
    "roles": {"pos_2": [...], "pos_3": [...]},
    "vectors_layer22": {"pos_2/0": [64 floats], "pos_3/0": [64 floats], "pos_3/-1": [...]}
        (float32 role mean vectors at layer 22: first pos_2, first and last pos_3),
    "pca_components_shape": [n_pcs, 64],
    "pca_components_rows": [[64 float64] first row, [64 float64] second row]
  }
}
Floats are written with repr precision (float64 round-trips exactly; float32/bf16 values are
exactly representable in float64).

Re-run (from the repo root):  .venv-ref/bin/python tests/reference/make_torch_reader_expected.py
"""

import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import seed_lda  # noqa: E402,F401  (registers utils.pca_utils.L2MeanScaler for the pca file)

REPO = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(REPO, "tests", "data", "roles_example")
OUT = os.path.join(REPO, "tests", "data", "roles_example_expected.json")
LAYER = 22


def floats(t):
    return [float(v) for v in t.detach().to(torch.float64).reshape(-1).tolist()]


def main():
    acts = os.path.join(DATA, "response_activations")
    roles = sorted(f[:-3] for f in os.listdir(acts) if f.endswith(".pt") and "default" not in f)
    first = roles[0]
    obj = torch.load(os.path.join(acts, f"{first}.pt"), weights_only=True)
    with open(os.path.join(DATA, "extract_scores", f"{first}.json")) as f:
        scores = json.load(f)
    keys = list(obj.keys())
    t0 = obj[keys[0]]
    rows = {str(LAYER): {k: floats(obj[k][LAYER]) for k in keys}}
    for layer in (0, t0.shape[0] - 1):
        rows[str(layer)] = {k: floats(obj[k][layer]) for k in keys[:3]}

    pca_path = os.path.join(DATA, "pca", f"layer{LAYER}_pos23.pt")
    pca_obj = torch.load(pca_path, weights_only=False)
    comps = pca_obj["pca"].components_
    vec = pca_obj["vectors"]
    expected = {
        "n_layers": int(t0.shape[0]),
        "dim": int(t0.shape[1]),
        "dtype": str(t0.dtype).replace("torch.", ""),
        "role_files": roles,
        "first_role": first,
        "first_role_keys": keys,
        "first_role_scores": {k: scores[k] for k in keys},
        "first_role_rows": rows,
        "pca_file": {
            "layer": LAYER,
            "roles": {k: list(v) for k, v in pca_obj["roles"].items()},
            "vectors_layer22": {
                "pos_2/0": floats(vec["pos_2"][0][LAYER]),
                "pos_3/0": floats(vec["pos_3"][0][LAYER]),
                "pos_3/-1": floats(vec["pos_3"][-1][LAYER]),
            },
            "pca_components_shape": list(comps.shape),
            "pca_components_rows": [[float(v) for v in comps[i]] for i in range(2)],
        },
    }
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(expected, f, indent=1, allow_nan=False)
        f.write("\n")
    print(f"wrote {OUT}: {first}.pt {len(keys)} keys, [{expected['n_layers']}, "
          f"{expected['dim']}] {expected['dtype']}; pca roles "
          f"{len(expected['pca_file']['roles']['pos_2'])}+"
          f"{len(expected['pca_file']['roles']['pos_3'])}, components_ {list(comps.shape)}")


if __name__ == "__main__":
    main()
