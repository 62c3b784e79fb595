"""Generate tests/data/roles_example/: a small, deterministic "role activations" dataset.

What it writes
--------------
The exact on-disk layout the LDA seed (/work/shared/seeds/lda-role-activations.txt) reads, all
written with genuine ``torch.save`` (default zip format, default pickle protocol) and
``json.dump(indent=2)``:

  response_activations/{role}.pt   12 roles (accountant, alien, angel, chef, detective, judge,
                                   nurse, pirate, poet, robot, teacher, wizard).  Each a dict in
                                   insertion order  "pos_p{i}_q{j}" (i = 0..4 prompt variants,
                                   j = 0..n_q-1, n_q = 6..10 per role, so 30..50 keys) ->
                                   torch.bfloat16 tensor [46, 64] (46 layers, d = 64).
  response_activations/default.pt  keys "default_p0_q{j}", j = 0..9; must be skipped by readers
                                   (its file name contains "default").
  extract_scores/{role}.json       same keys -> 0, 1, 2, 3 or "REFUSAL" (mostly 3 and 2).
  extract_scores/default.json      scores for default.pt's keys.
  pca/layer22_pos23.pt             dict like the real pipeline's PCA file (needs
                                   torch.load(weights_only=False)):
      vectors   {"pos_2": [float32 [46,64] per-role mean of score-2 responses, roles with >= 1],
                 "pos_3": [same for score 3]}
      roles     {"pos_2": [role names], "pos_3": [role names]}   (sorted role order)
      pca       sklearn PCA fitted on StandardScaler-scaled layer-22 vectors (pos_2 then pos_3)
      scaler    that fitted sklearn StandardScaler
      pca_transformed (numpy [n_vec, n_comp]), variance_explained (numpy), n_components
      (numpy.int64), layer (22), l2_scaler (utils.pca_utils.L2MeanScaler fitted on the same
      layer-22 vectors; the module is a stand-in registered by seed_lda.py).

Class structure (so LDA is meaningful): role means live mostly in an 8-dim latent subspace with
decaying scales and rotate smoothly with the layer (and grow from layer 0 to the middle layers);
score-3 responses get an extra offset (shared "role-play intensity" direction plus a small per-role
part); noise is anisotropic; dims 3, 17, 41 carry large means (20..50) like residual-stream
outlier dimensions.

Score-2 counts are chosen so the seed's min_samples = 10 filter matters: judge has exactly 10
(kept), angel 9 and robot 4 (dropped), alien 0 (no pos_2 entry at all); every role keeps >= 10
score-3 responses.

Why: a fixture for actlens' torch-zip/bfloat16 reader, the roles loader and the `lda` analysis
(reference outputs are produced from this data by make_lda_fixtures.py).

Re-run (from the repo root):  .venv-ref/bin/python tests/reference/make_roles_example.py
Deterministic: fixed NumPy seed; re-running rewrites identical tensors/JSON (torch zip archives
embed no timestamps that matter to readers).
"""

import json
import os
import shutil
import sys

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from seed_lda import L2MeanScaler  # noqa: E402  (also installs utils.pca_utils)

REPO = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(REPO, "tests", "data", "roles_example")

N_LAYERS = 46
D = 64
PCA_LAYER = 22
N_PROMPTS = 5
ROLES = ["accountant", "alien", "angel", "pirate", "poet", "detective",
         "chef", "robot", "wizard", "nurse", "teacher", "judge"]
# questions per prompt variant (keys = 5 * n_q) and number of score-2 / "other" responses
N_Q = {"accountant": 8, "alien": 7, "angel": 9, "pirate": 10, "poet": 6, "detective": 8,
       "chef": 7, "robot": 9, "wizard": 8, "nurse": 10, "teacher": 6, "judge": 8}
N_SCORE2 = {"accountant": 14, "alien": 0, "angel": 9, "pirate": 16, "poet": 11,
            "detective": 13, "chef": 12, "robot": 4, "wizard": 15, "nurse": 18,
            "teacher": 10, "judge": 10}
N_OTHER = {"accountant": 3, "alien": 2, "angel": 4, "pirate": 2, "poet": 1, "detective": 3,
           "chef": 2, "robot": 5, "wizard": 1, "nurse": 3, "teacher": 2, "judge": 4}
OUTLIER_DIMS = np.array([3, 17, 41])
OUTLIER_BASE = np.array([20.0, -35.0, 50.0])


def main():
    rng = np.random.default_rng(20250601)
    layers = np.arange(N_LAYERS)
    t = layers / (N_LAYERS - 1)

    # latent role subspace: two orthonormal 8-dim bases blended by layer (smooth rotation)
    Q, _ = np.linalg.qr(rng.standard_normal((D, 16)))
    UA, UB = Q[:, :8], Q[:, 8:]
    scales = np.array([4.0, 3.0, 2.3, 1.7, 1.3, 1.0, 0.75, 0.5])
    amp = 0.35 + 0.65 * np.sin(np.pi * np.minimum(t, 0.6) / 1.2)        # grows, then flat
    theta = 0.5 * np.pi * t
    intensity = rng.standard_normal(D)
    intensity /= np.linalg.norm(intensity)
    intensity *= 1.8
    # anisotropic noise: random rotation times per-axis std 0.5..1.6
    R, _ = np.linalg.qr(rng.standard_normal((D, D)))
    noise_sd = np.linspace(0.5, 1.6, D)
    drift = np.outer(np.sin(2 * np.pi * t), rng.standard_normal(D)) * 0.8  # shared layer drift
    outlier_mean = np.zeros((N_LAYERS, D))
    outlier_mean[:, OUTLIER_DIMS] = np.outer(0.4 + 0.6 * t, OUTLIER_BASE)

    def role_mean(za, zb):
        a = UA @ (scales * za)
        b = UB @ (scales * zb)
        return (amp[:, None] * (np.cos(theta)[:, None] * a + np.sin(theta)[:, None] * b)
                + drift + outlier_mean)

    def sample(mean_ld, n):
        eps = rng.standard_normal((n, N_LAYERS, D)) * noise_sd
        eps = eps @ R.T
        eps[:, :, OUTLIER_DIMS] *= 2.0
        return mean_ld[None] + eps

    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(os.path.join(OUT, "response_activations"))
    os.makedirs(os.path.join(OUT, "extract_scores"))
    os.makedirs(os.path.join(OUT, "pca"))

    means2, means3 = {}, {}
    summary = []
    for role in ROLES:
        za, zb = rng.standard_normal(8), rng.standard_normal(8)
        base = role_mean(za, zb)
        off3 = intensity + 0.4 * rng.standard_normal(D)
        keys = [f"pos_p{i}_q{j}" for i in range(N_PROMPTS) for j in range(N_Q[role])]
        n = len(keys)
        n2, no = N_SCORE2[role], N_OTHER[role]
        n3 = n - n2 - no
        assert n3 >= 10, role
        others = list(rng.choice([0, 1, "REFUSAL"], size=no))
        labels = [3] * n3 + [2] * n2 + [o if o == "REFUSAL" else int(o) for o in others]
        labels = [labels[p] for p in rng.permutation(n)]
        acts = sample(base, n)
        ramp = (0.3 + 0.7 * t)[:, None]
        obj, scores = {}, {}
        for key, s, a in zip(keys, labels, acts):
            if s == 3:
                a = a + ramp * off3
            elif s in (0, 1, "REFUSAL"):
                a = a - 0.5 * ramp * off3
            obj[key] = torch.from_numpy(a.astype(np.float32)).to(torch.bfloat16).clone()
            scores[key] = s
        torch.save(obj, os.path.join(OUT, "response_activations", f"{role}.pt"))
        with open(os.path.join(OUT, "extract_scores", f"{role}.json"), "w") as f:
            json.dump(scores, f, indent=2)
        st2 = [obj[k].float() for k in keys if scores[k] == 2]
        st3 = [obj[k].float() for k in keys if scores[k] == 3]
        if st2:
            means2[role] = torch.stack(st2).mean(dim=0)
        means3[role] = torch.stack(st3).mean(dim=0)
        summary.append((role, n, n3, n2, no))

    # default.pt (assistant responses): must be skipped by the seed's loader
    dkeys = [f"default_p0_q{j}" for j in range(10)]
    dbase = role_mean(np.zeros(8), np.zeros(8))
    dacts = sample(dbase, len(dkeys))
    dobj = {k: torch.from_numpy(a.astype(np.float32)).to(torch.bfloat16).clone()
            for k, a in zip(dkeys, dacts)}
    torch.save(dobj, os.path.join(OUT, "response_activations", "default.pt"))
    with open(os.path.join(OUT, "extract_scores", "default.json"), "w") as f:
        json.dump({k: 3 for k in dkeys}, f, indent=2)

    # pca/layer22_pos23.pt
    roles_sorted = sorted(ROLES)
    roles2 = [r for r in roles_sorted if r in means2]
    roles3 = [r for r in roles_sorted if r in means3]
    vec2 = [means2[r].contiguous() for r in roles2]
    vec3 = [means3[r].contiguous() for r in roles3]
    stacked = torch.cat([torch.stack(vec2), torch.stack(vec3)])[:, PCA_LAYER, :].float().numpy()
    scaler = StandardScaler()
    scaled = scaler.fit_transform(stacked)
    pca = PCA()
    pca_transformed = pca.fit_transform(scaled)
    l2 = L2MeanScaler().fit(stacked)
    pca_results = {
        "vectors": {"pos_2": vec2, "pos_3": vec3},
        "roles": {"pos_2": roles2, "pos_3": roles3},
        "pca": pca,
        "scaler": scaler,
        "pca_transformed": pca_transformed,
        "variance_explained": pca.explained_variance_ratio_,
        "n_components": np.int64(pca.n_components_),
        "layer": PCA_LAYER,
        "l2_scaler": l2,
    }
    torch.save(pca_results, os.path.join(OUT, "pca", f"layer{PCA_LAYER}_pos23.pt"))

    # summary
    total = 0
    print(f"wrote {OUT}")
    print(f"  {'role':<12} keys  n3  n2  other")
    for role, n, n3, n2, no in summary:
        print(f"  {role:<12} {n:4d} {n3:3d} {n2:3d} {no:4d}")
    print(f"  default.pt: {len(dkeys)} keys (skipped by the loader)")
    print(f"  pca: pos_2 {len(roles2)} roles, pos_3 {len(roles3)} roles, "
          f"components_ {pca.components_.shape}, "
          f"top var ratio {np.round(pca.explained_variance_ratio_[:4], 3).tolist()}")
    for dp, _, files in os.walk(OUT):
        for fn in files:
            total += os.path.getsize(os.path.join(dp, fn))
    print(f"  total size {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
