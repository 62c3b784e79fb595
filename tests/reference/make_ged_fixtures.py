#!/usr/bin/env python3
"""Generate reference outputs for actlens' `ged` analysis (the GED seed, two classes, per layer).

The reference algorithm is the GED seed notebook (/work/shared/seeds/ged-gpt2-him-her.txt),
Exercises 3-5, copied verbatim into seed_ged.py next to this file (see its docstring for the
quirks kept: numComps2keep is an index used as a count, projections of uncentred data,
regularisation 0.99*C + 0.01*mean(eig(C))*I of the second matrix only, eigenvector signs
arbitrary).  Class A plays the seed's "him", class B "her"; A is the label that appears first.

Writes tests/reference/ged/<case>/ :
  train.npy          float32 [N, L, D]   activations, sample-major (row i, layer l)
  train_labels.csv   header "label,text" (Python's csv module), N rows, class A rows first
  test.npy           float32 [M, L, D]
  test_labels.csv    header "label,text", M rows
  ged_results.npy    float64 [L, 7, 2]   the seed's ged_results (row 0: |t|, p of the train
                     A-filter projections, A vs B; 1: same for the B filter; 2: |r|, p of
                     pearsonr(pattern A, pattern B); 3, 4: rows 0, 1 on the test set; 5: top
                     eigenvalue of A>B, of B>A; 6: [numComps2keep, 0])
  n_components.npy   int64 [L]           numComps2keep per layer (m_l)
  filter_a.npy       float64 [L, D]      PCA_eigvecs[:, :m] @ evecsHim[:, 0] (sign arbitrary)
  filter_b.npy       float64 [L, D]      PCA_eigvecs[:, :m] @ evecsHer[:, 0]
  pattern_a.npy      float64 [L, D]      mlpPattern_him = PCA_eigvecs[:, :m] @ himProjcov @ w
                                         (same sign as filter_a)
  pattern_b.npy      float64 [L, D]      mlpPattern_her
  proj_train_a.npy   float64 [L, N]      ged_proj_him = (train @ PCA_eigvecs[:, :m]) @ w (the
                                         UNCENTRED activations; = train @ filter_a)
  proj_train_b.npy   float64 [L, N]
  proj_test_a.npy    float64 [L, M]      test projections onto filter A
  proj_test_b.npy    float64 [L, M]
  eigenvalues_a.npz  keys "layer0", "layer1", ...: float64 [m_l], evalsHim sorted descending
  eigenvalues_b.npz  same for evalsHer
  meta.json          {case, classes: [A, B], N, M, L, D, n_components, versions, notes,
                      p_underflow (list of [layer, row] with p == 0, empty if none),
                      per_layer: [{pca_solver, cum_var_at_m_minus_1, cum_var_at_m (percent,
                      the 99 % threshold sits between them), pca_gap_at_m ((lambda_{m-1} -
                      lambda_m) / lambda_0: the kept PCA subspace is well defined),
                      ged_top_gap_a / _b ((ev0 - ev1) / ev0), class_cov_rank_a / _b (rank of the
                      m x m class covariances), eig_complex_a / _b (np.linalg.eig returned a
                      complex array), max_abs_proj_vs_filter (|train @ filter - proj|)}], ...}
                     tiny_him_her also has "model", "train_texts", "test_texts",
                     "token_candidates", "token_match_train" / "token_match_test" ([p, len] per
                     text) and "max_length".

The reference runs on the STORED float32 arrays cast to float64 (the seed's trainacts is float64
filled from float32), so a C++ run on train.npy / test.npy sees exactly the reference's input.

Cases
-----
a) tiny_him_her  REAL activations of the bundled random tiny GPT-2 (tests/data/models/tiny: 2
   layers, d = 64, MLP width 256, n_positions 32), hook model.h[L].mlp.c_fc (actlens
   blocks.L.mlp.hook_pre) as in the seed: GPT2Model.from_pretrained(dir, float32, eager
   attention), eval, no_grad; GPT2Tokenizer from the same folder, pad_token = eos_token, right
   padding, tokenizer(texts, padding=True, truncation=True, max_length=32) (the model has 32
   positions; the 7 longest texts have 31-33 tokens and lose only trailing tokens, which a causal
   model never sees from earlier positions); one batch per split.
   Target row: with this 500-token BPE " him" = [221, 72, 73, 77] and " her" = [221, 72, 260]
   are NOT single tokens (encode(' him')[0] is the space token 221, which occurs before every
   word), so the seed's `ids == encode(' him')` cannot be applied.  The row is instead actlens'
   `--aggregate token:him,her` definition (capture.hpp, make_gpt2_fixtures.py): candidates
   encode(" him"), encode("him"), encode(" her"), encode("her"); the earliest start p where a
   candidate matches (the longest on a tie); the MEAN (float64, stored float32) of the hook rows
   p .. p+len-1.  Asserted: in every text the match is exactly the word " him"/" her" of its
   label (never "her" inside another word), so with a single-token tokenizer this IS the seed's
   row.
   Train: tests/data/him_her/sentences.csv (the seed's 108 sentences, 54 "him" then 54 "her").
   Test: tests/data/him_her/test_sentences.csv, written here: 48 new sentences (24 "him", then
   the same 24 with "her"), one " him"/" her" each, no other him/her, none in the training set.
   N=108, M=48, L=2, D=256.
b) synthetic_wide  N=85 (45 "a" then 40 "b"), M=30 (15 "a", 15 "b"), L=3, D=300 (D > N).
   Per layer l: 30 latent factors along random orthonormal directions with variances
   10 * decay_l^k (decay 0.62, 0.72, 0.8 for l = 0, 1, 2), a class-mean difference
   +-(0.4 + 0.8 l) * d / 2 with d = d1 + 0.5 d2, class-specific extra variance ((0.5 + 0.6 l)^2
   along u_a = unit(r + d / |d|) for class a only, (0.3 + 0.4 l)^2 along u_b for class b only;
   d1, d2, r, u_b random unit vectors), N(0, 0.01^2) noise and a per-feature offset
   N(0.3, 0.5^2).
c) synthetic_tall  N=120 (60 "a", 60 "b"), M=40 (20/20), L=2, D=24 (D < N); the same
   construction with 24 factors, decay 0.6 and 0.75, noise 0.01.
Synthetic labels.csv text is "sample <i>".  The generator asserts numComps2keep >= 2, all results
finite, the cumulative-variance threshold and the top GED eigenvalue well separated (synthetic).

Re-run (from the repo root):  .venv-ref/bin/python tests/reference/make_ged_fixtures.py
Deterministic (np.random.default_rng seeds; CPU float32 forward pass).
"""

import csv
import json
import os
import platform
import shutil
import sys

import numpy as np
import scipy
import sklearn
import torch
import transformers
from transformers import GPT2Model, GPT2Tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import seed_ged  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(HERE, "ged")
MODEL_DIR = os.path.join(REPO, "tests", "data", "models", "tiny")
TRAIN_CSV = os.path.join(REPO, "tests", "data", "him_her", "sentences.csv")
TEST_CSV = os.path.join(REPO, "tests", "data", "him_her", "test_sentences.csv")
MAX_LENGTH = 32
VERSIONS = {"numpy": np.__version__, "scipy": scipy.__version__, "sklearn": sklearn.__version__,
            "torch": torch.__version__, "transformers": transformers.__version__,
            "python": platform.python_version()}

TEST_HIM = [
    "I called him after lunch.",
    "We found him in the garden.",
    "The kids followed him to school.",
    "She paid him back on Friday.",
    "They met him at the station.",
    "I lent him my old bike.",
    "The nurse helped him stand up.",
    "We told him a funny story.",
    "My sister texted him last night.",
    "The coach picked him for the team.",
    "I heard him sing at the concert.",
    "They sent him a long letter.",
    "The waiter brought him a cold drink.",
    "We saw him on the news.",
    "I baked him a small cake.",
    "The neighbors invited him for tea.",
    "She thanked him with a smile.",
    "The boss called him into the office.",
    "I showed him the new house.",
    "They taught him to play chess.",
    "The kitten woke him up early.",
    "We drove him to the beach.",
    "I asked him about the trip.",
    "The rain caught him without a coat.",
]


def save_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def write_csv(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["label", "text"])
        w.writerows(rows)


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as f:
        return [(r["label"], r["text"]) for r in csv.DictReader(f)]


# ---------------------------------------------------------------------------------------------
# tiny_him_her: activations
# ---------------------------------------------------------------------------------------------
def write_test_sentences(train_rows):
    rows = [("him", s) for s in TEST_HIM] + [("her", s.replace(" him", " her")) for s in TEST_HIM]
    train_texts = {t for _, t in train_rows}
    for label, t in rows:
        words = t.replace(".", " ").replace(",", " ").split()
        assert words.count(label) == 1, t
        assert sum(("him" in w.lower() or "her" in w.lower()) for w in words) == 1, t
        assert t not in train_texts, t
    assert len(set(t for _, t in rows)) == 48
    write_csv(TEST_CSV, rows)
    assert read_csv(TEST_CSV) == rows
    return rows


def token_candidates(tok):
    cands = []
    for w in ["him", "her"]:
        for s in (" " + w, w):
            c = tok.encode(s)
            if c and c not in cands:
                cands.append(c)
    return cands


def token_match(ids, cands):
    for p in range(len(ids)):
        best = None
        for c in cands:
            if ids[p:p + len(c)] == c and (best is None or len(c) > len(best)):
                best = c
        if best is not None:
            return p, len(best)
    raise AssertionError(f"no him/her in {ids}")


def tiny_activations(model, tok, rows):
    """Returns (float32 [N, L, D], matches, lengths)."""
    texts = [t for _, t in rows]
    enc = tok(texts, padding=True, truncation=True, max_length=MAX_LENGTH, return_tensors="pt")
    activations = {}

    def implant_hook_mlp(layer_number):
        def hook(module, input, output):
            activations[f"mlp_{layer_number}"] = output.detach().numpy()
        return hook

    L = model.config.n_layer
    handles = [model.h[layeri].mlp.c_fc.register_forward_hook(implant_hook_mlp(layeri))
               for layeri in range(L)]
    with torch.no_grad():
        model(**enc)
    for h in handles:
        h.remove()

    cands = token_candidates(tok)
    mask = enc["attention_mask"].numpy()
    ids_all = enc["input_ids"].numpy()
    D = activations["mlp_0"].shape[-1]
    out = np.zeros((len(texts), L, D), dtype=np.float32)
    matches, lengths = [], []
    for i, (label, text) in enumerate(rows):
        n = int(mask[i].sum())
        ids = ids_all[i, :n].tolist()
        assert ids == tok.encode(text)[:MAX_LENGTH]
        p, m = token_match(ids, cands)
        assert tok.decode(ids[p:p + m]) == " " + label, (text, tok.decode(ids[p:p + m]))
        for layeri in range(L):
            out[i, layeri] = (activations[f"mlp_{layeri}"][i, p:p + m].astype(np.float64)
                              .sum(0) / m).astype(np.float32)
        matches.append([p, m])
        lengths.append(len(tok.encode(text)))
    return out, matches, lengths, cands


# ---------------------------------------------------------------------------------------------
# synthetic data
# ---------------------------------------------------------------------------------------------
def unit(rng, D):
    v = rng.standard_normal(D)
    return v / np.linalg.norm(v)


def synthetic(seed, n_a, n_b, m_a, m_b, D, decays, K, noise):
    rng = np.random.default_rng(seed)
    L = len(decays)
    train = np.zeros((n_a + n_b, L, D))
    test = np.zeros((m_a + m_b, L, D))
    for l, decay in enumerate(decays):
        q, _ = np.linalg.qr(rng.standard_normal((D, K)))
        sd = np.sqrt(10 * decay ** np.arange(K))
        d = unit(rng, D) + 0.5 * unit(rng, D)
        u_a = unit(rng, D) + d / np.linalg.norm(d)
        u_a /= np.linalg.norm(u_a)
        u_b = unit(rng, D)
        offset = 0.3 + 0.5 * rng.standard_normal(D)
        shift = (0.4 + 0.8 * l) / 2
        s_a, s_b = 0.5 + 0.6 * l, 0.3 + 0.4 * l

        def draw(n, sign, extra_sd, u):
            x = (rng.standard_normal((n, K)) * sd) @ q.T
            x += sign * shift * d + extra_sd * rng.standard_normal((n, 1)) * u
            return x + noise * rng.standard_normal((n, D)) + offset

        train[:n_a, l] = draw(n_a, +1, s_a, u_a)
        train[n_a:, l] = draw(n_b, -1, s_b, u_b)
        test[:m_a, l] = draw(m_a, +1, s_a, u_a)
        test[m_a:, l] = draw(m_b, -1, s_b, u_b)
    return train.astype(np.float32), test.astype(np.float32)


# ---------------------------------------------------------------------------------------------
# reference run and files
# ---------------------------------------------------------------------------------------------
def run_case(name, train, train_rows, test, test_rows, extra_meta, notes, strict):
    folder = os.path.join(OUT, name)
    if os.path.exists(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)
    np.save(os.path.join(folder, "train.npy"), train)
    np.save(os.path.join(folder, "test.npy"), test)
    write_csv(os.path.join(folder, "train_labels.csv"), train_rows)
    write_csv(os.path.join(folder, "test_labels.csv"), test_rows)
    train = np.load(os.path.join(folder, "train.npy"))
    test = np.load(os.path.join(folder, "test.npy"))
    assert train.dtype == np.float32 and test.dtype == np.float32
    N, L, D = train.shape
    M = test.shape[0]

    labels = [r[0] for r in train_rows]
    classes = list(dict.fromkeys(labels))
    assert len(classes) == 2
    a_idx = np.array([i for i, c in enumerate(labels) if c == classes[0]])
    b_idx = np.array([i for i, c in enumerate(labels) if c == classes[1]])
    tlabels = [r[0] for r in test_rows]
    assert set(tlabels) == set(classes)
    ta_idx = np.array([i for i, c in enumerate(tlabels) if c == classes[0]])
    tb_idx = np.array([i for i, c in enumerate(tlabels) if c == classes[1]])

    res = seed_ged.run_seed([train[:, l, :] for l in range(L)], a_idx, b_idx,
                            [test[:, l, :] for l in range(L)], ta_idx, tb_idx)
    gr = res["ged_results"]
    ms = res["numComps2keep"]
    arrays = {
        "ged_results": gr,
        "filter_a": np.stack(res["filter_him"]), "filter_b": np.stack(res["filter_her"]),
        "pattern_a": np.stack(res["mlpPattern_him"]),
        "pattern_b": np.stack(res["mlpPattern_her"]),
        "proj_train_a": np.stack(res["ged_proj_him"]),
        "proj_train_b": np.stack(res["ged_proj_her"]),
        "proj_test_a": np.stack(res["ged_proj_him_test"]),
        "proj_test_b": np.stack(res["ged_proj_her_test"]),
    }
    shapes = {"ged_results": (L, 7, 2), "filter_a": (L, D), "filter_b": (L, D),
              "pattern_a": (L, D), "pattern_b": (L, D), "proj_train_a": (L, N),
              "proj_train_b": (L, N), "proj_test_a": (L, M), "proj_test_b": (L, M)}
    for key, a in arrays.items():
        a = np.ascontiguousarray(a, dtype=np.float64)
        assert a.shape == shapes[key], (key, a.shape)
        assert np.all(np.isfinite(a)), (name, key)
        np.save(os.path.join(folder, f"{key}.npy"), a)
    np.save(os.path.join(folder, "n_components.npy"), np.array(ms, dtype=np.int64))
    for key, src in [("eigenvalues_a", "evalsHim"), ("eigenvalues_b", "evalsHer")]:
        ev = {f"layer{l}": np.ascontiguousarray(res[src][l], dtype=np.float64) for l in range(L)}
        for l, v in enumerate(ev.values()):
            assert v.shape == (ms[l],) and np.all(np.isfinite(v)) and np.all(np.diff(v) <= 0)
        np.savez(os.path.join(folder, f"{key}.npz"), **ev)

    # checks
    p_underflow = [[l, r] for l in range(L) for r in range(5) if gr[l, r, 1] == 0.0]
    per_layer = []
    for l in range(L):
        m = ms[l]
        assert m >= 2, (name, l, m)
        cum = res["cumVarExplained"][l]
        ev = res["pca_explained_variance"][l]
        Xl = train[:, l, :].astype(np.float64)
        V = seed_ged.PCA().fit(Xl).components_.T[:, :m]
        low = Xl @ V
        ranks, complexes = [], []
        for idx in (a_idx, b_idx):
            C = np.cov(low[idx].T)
            ranks.append(int(np.linalg.matrix_rank(C)))
            complexes.append(bool(np.iscomplexobj(np.linalg.eig(C)[0])))
        ea, eb = res["evalsHim"][l], res["evalsHer"][l]
        info = {
            "pca_solver": res["pca_solver"][l],
            "cum_var_at_m_minus_1": float(cum[m - 1]),
            "cum_var_at_m": float(cum[m]),
            "pca_gap_at_m": float((ev[m - 1] - ev[m]) / ev[0]),
            "ged_top_gap_a": float((ea[0] - ea[1]) / ea[0]),
            "ged_top_gap_b": float((eb[0] - eb[1]) / eb[0]),
            "class_cov_rank_a": ranks[0], "class_cov_rank_b": ranks[1],
            "eig_complex_a": complexes[0], "eig_complex_b": complexes[1],
            "max_abs_proj_vs_filter": float(max(
                np.max(np.abs(Xl @ arrays["filter_a"][l] - arrays["proj_train_a"][l])),
                np.max(np.abs(Xl @ arrays["filter_b"][l] - arrays["proj_train_b"][l])))),
        }
        assert cum[m - 1] <= 99 < cum[m]
        if strict:
            assert 99 - cum[m - 1] > 1e-3 and cum[m] - 99 > 1e-3, (name, l, cum[m - 1], cum[m])
            assert info["pca_gap_at_m"] > 1e-4, (name, l, info)
            assert info["ged_top_gap_a"] > 1e-3 and info["ged_top_gap_b"] > 1e-3, (name, l, info)
        per_layer.append(info)

    meta = {"case": name, "classes": classes, "N": N, "M": M, "L": L, "D": D,
            "n_components": ms, "versions": VERSIONS, "notes": notes,
            "p_underflow": p_underflow}
    meta.update(extra_meta)
    meta["per_layer"] = per_layer
    save_json(os.path.join(folder, "meta.json"), meta)

    print(f"{name}: N={N} ({len(a_idx)} {classes[0]}, {len(b_idx)} {classes[1]}) M={M} L={L} "
          f"D={D} numComps2keep={ms}")
    for l in range(L):
        g = gr[l]
        i = per_layer[l]
        print(f"  layer {l}: train |t| {g[0, 0]:.3f} (p {g[0, 1]:.2e}), {g[1, 0]:.3f} "
              f"(p {g[1, 1]:.2e}); |r| {g[2, 0]:.3f} (p {g[2, 1]:.2e}); test |t| {g[3, 0]:.3f} "
              f"(p {g[3, 1]:.2e}), {g[4, 0]:.3f} (p {g[4, 1]:.2e}); top ev {g[5, 0]:.4g}, "
              f"{g[5, 1]:.4g}")
        print(f"           cum% {i['cum_var_at_m_minus_1']:.5f} | {i['cum_var_at_m']:.5f}; "
              f"pca gap {i['pca_gap_at_m']:.2e}; ged gaps {i['ged_top_gap_a']:.2e} "
              f"{i['ged_top_gap_b']:.2e}; class cov ranks {i['class_cov_rank_a']}, "
              f"{i['class_cov_rank_b']} of {ms[l]}; complex eig {i['eig_complex_a']}, "
              f"{i['eig_complex_b']}; solver {i['pca_solver']}")
    if p_underflow:
        print(f"  p underflows to 0 at [layer, row] {p_underflow}")


def main():
    transformers.utils.logging.disable_progress_bar()
    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)

    # a) tiny_him_her
    train_rows = read_csv(TRAIN_CSV)
    assert len(train_rows) == 108
    test_rows = write_test_sentences(train_rows)
    model = GPT2Model.from_pretrained(MODEL_DIR, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    tok = GPT2Tokenizer.from_pretrained(MODEL_DIR)
    tok.pad_token = tok.eos_token
    tok.padding_side = "right"
    train, match_tr, len_tr, cands = tiny_activations(model, tok, train_rows)
    test, match_te, len_te, _ = tiny_activations(model, tok, test_rows)
    print(f"tiny tokenizer: candidates {cands}; train lengths {min(len_tr)}..{max(len_tr)} "
          f"(> {MAX_LENGTH}: {sum(n > MAX_LENGTH for n in len_tr)}), test lengths "
          f"{min(len_te)}..{max(len_te)}")
    run_case("tiny_him_her", train, train_rows, test, test_rows, {
        "model": "models/tiny", "hook": "blocks.L.mlp.hook_pre (h[L].mlp.c_fc output)",
        "aggregate": "token:him,her", "max_length": MAX_LENGTH,
        "train_texts": "him_her/sentences.csv", "test_texts": "him_her/test_sentences.csv",
        "token_candidates": cands, "token_match_train": match_tr, "token_match_test": match_te,
    }, "Real tiny-GPT-2 MLP pre-activations. The row of each text is the mean over the tokens of "
       "its ' him'/' her' (actlens token:him,her; multi-token words under this tokenizer). "
       "Eigenvector signs are arbitrary: filter/pattern/projection of a class share one sign.",
        strict=False)

    # b) synthetic_wide
    tr, te = synthetic(9001, 45, 40, 15, 15, 300, [0.62, 0.72, 0.8], 30, 0.01)
    rows = lambda na, nb: ([("a", f"sample {i}") for i in range(na)]
                           + [("b", f"sample {na + i}") for i in range(nb)])
    note = ("Synthetic: low-rank factors + class-mean shift + class-specific variance + noise. "
            "Eigenvector signs are arbitrary: filter/pattern/projection of a class share one "
            "sign.")
    run_case("synthetic_wide", tr, rows(45, 40), te, rows(15, 15), {}, note, strict=True)

    # c) synthetic_tall
    tr, te = synthetic(9002, 60, 60, 20, 20, 24, [0.6, 0.75], 24, 0.01)
    run_case("synthetic_tall", tr, rows(60, 60), te, rows(20, 20), {}, note, strict=True)

    total = 0
    for root, _, files in sorted(os.walk(OUT)):
        for f in sorted(files):
            total += os.path.getsize(os.path.join(root, f))
    print(f"total {total} bytes in tests/reference/ged (+ {os.path.getsize(TEST_CSV)} bytes "
          f"tests/data/him_her/test_sentences.csv)")


if __name__ == "__main__":
    main()
