#!/usr/bin/env python3
"""Generate reference outputs for actlens' `pca` analysis with scikit-learn's PCA.

Writes tests/reference/pca/<case>/ .  The reference is the PCA seed (pca-gpt2-days): normalise the
activations, then ``PCA(n_components=k).fit_transform``.  Every case stores its input and
sklearn's fitted attributes:

  X.npy                       input as given to actlens, [N, D] (float64, or float32 where noted)
  labels.csv                  header "label,text" (Python's csv module), one row per row of X
  components.npy              float64 [k, D]   pca.components_
  explained_variance.npy      float64 [k]      pca.explained_variance_
  explained_variance_ratio.npy float64 [k]     pca.explained_variance_ratio_ (of the total
                                               variance, i.e. of the FULL spectrum)
  singular_values.npy         float64 [k]      pca.singular_values_
  mean.npy                    float64 [D]      pca.mean_ (of the NORMALISED data)
  projections.npy             float64 [N, k]   pca.fit_transform(Xn)
  spectrum.npy                float64 [min(N, D)]  explained_variance_ of
                                               PCA(svd_solver="full").fit(Xn): every eigenvalue
  meta.json                   {case, normalize, n_components (int or null = all), svd_solver,
                               random_state (int or null), N, D, k, x_dtype, versions,
                               components_for {"70","80","90","95","99"}, elbow, check {...}}

Normalisation (Xn, always float64): X is read (float32 or float64), cast to float64, then
  "none"      Xn = X
  "l2"        Xn = X / (np.linalg.norm(X, axis=1, keepdims=True) + 1e-8)   (the seed's formula)
  "standard"  Xn = StandardScaler().fit_transform(X)  (population std; a constant column keeps
              scale 1, so it becomes exactly 0 after centering)

components_for[p] (p = 70, 80, 90, 95, 99): the smallest m such that
  sum(ratio[0..m-1]) >= p / 100, ratio = spectrum / sum(spectrum) (the full spectrum).
The generator asserts that no threshold lies within 1e-9 of a cumulative sum.

elbow: on the full spectrum's ratio r[0..n-1] (n = min(N, D) >= 3) take the points (i, r[i]);
the elbow is the 1-based count i + 1 of the point with the largest perpendicular distance to the
straight line from (0, r[0]) to (n - 1, r[n - 1]):
  dist_i = |(r[n-1] - r[0]) * i - (n - 1) * (r[i] - r[0])| / sqrt((n - 1)^2 + (r[n-1] - r[0])^2)
ties -> the smallest i.  meta.check.elbow_margin = (best - second best distance) / best.

Sign convention (sklearn 1.9.1, decomposition/_pca.py): the "full", "covariance_eigh", "arpack"
and "randomized" solvers all call svd_flip(U, Vt, u_based_decision=False) (randomized_svd is
run with flip_sign=False and flipped afterwards): for each row of Vt, the entry with the largest
absolute value (np.argmax of |row|: the FIRST one on ties) is made positive.  For "full" and
"covariance_eigh" this happens on the full Vt before truncation to k rows.  meta.check.
sign_margin = min over the stored components (with variance > 1e-9 * the largest) of
(|largest entry| - |second largest|) / |largest|, so a test can tell whether the sign rule is
decidable in float64.

Cases
-----
tall            N=400, D=30, float64: X = Z @ diag(s) @ Q + offset, Z standard normal, s = 10 *
                0.75^j (j = 0..29, all distinct), Q a random orthogonal matrix, offset ~ 100 +
                10 * N(0, 1) per feature.  n_components=3, svd_solver="full", normalize "none".
                Also apply_X.npy float64 [50, 30] from the same distribution and
                apply_projections.npy float64 [50, 3] = pca.transform(apply_X).
tall_full       the same X (file copied), n_components=None (all 30), svd_solver="full".
wide            N=40, D=300 (D > N), float64: 8 latent factors with sd 20, 14, 10, 7, 5, 3.5,
                2.5, 1.8 along random orthonormal directions + N(0, 0.1^2) noise + offset ~ 5;
                n_components=5, "full", "none".
wide_full       the same X, n_components=None: sklearn gives min(N, D) = 40 components; the last
                has ~0 variance (the data are centred, so rank <= N - 1 = 39) and an arbitrary
                direction, so tests should compare only components whose explained variance is
                > 1e-9 * the largest (also true of spectrum.npy's last value, ~1e-29).
l2_seed         float32 X, N=140 = 7 labels Monday..Sunday, 20 rows each in blocks, D=64: a large
                common direction (norm ~ 60) + label offsets on a circle (8 cos, 5 sin of
                2 pi c / 7) plus a linear trend (3 (c - 3) / 3) in a third direction + noise
                (sd 0.3 per feature), like residual-stream rows (distinct top eigenvalues); normalize "l2" (the seed); n_components=3, "full".
standard        float64, N=200, D=20, correlated features with scales 0.01 .. 1000 and offsets;
                column 7 is the constant 3.0; normalize "standard"; n_components=4, "full".
                Column 7 is all zeros after scaling, so spectrum[19] ~ 0 (rank 19).
gap_randomized  float32 X, N=600, D=200: 5 strong orthonormal directions with variances 100, 50,
                25, 12, 6 + isotropic noise of variance 0.01 + offset ~ 1; n_components=5,
                svd_solver="randomized", random_state=0 (defaults n_oversamples=10,
                iterated_power="auto", power_iteration_normalizer="auto"), normalize "none".
                meta "gap" = spectrum[4] / spectrum[5] (5th over 6th eigenvalue); meta.check holds
                the largest difference from svd_solver="full" on the same data.

labels.csv: l2_seed label = day name, text = "<day> sample <j>"; the others label "all",
text "sample <i>".

Re-run (from the repo root):  .venv-ref/bin/python tests/reference/make_pca_fixtures.py
Deterministic (np.random.default_rng seeds below; LAPACK may differ in the last bits).
"""

import csv
import json
import os
import platform
import shutil

import numpy as np
import scipy
import sklearn
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "pca")
THRESHOLDS = [70, 80, 90, 95, 99]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
VERSIONS = {"numpy": np.__version__, "scipy": scipy.__version__, "sklearn": sklearn.__version__,
            "python": platform.python_version()}


def save_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def write_labels(path, labels, texts):
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["label", "text"])
        w.writerows(zip(labels, texts))


def orthogonal(rng, n):
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def normalize(X, how):
    X = np.asarray(X).astype(np.float64)
    if how == "none":
        return X
    if how == "l2":
        return X / (np.linalg.norm(X, axis=1, keepdims=True) + 1e-8)
    if how == "standard":
        return StandardScaler().fit_transform(X)
    raise ValueError(how)


def components_for(ratio):
    cum = np.cumsum(ratio)
    out, margin = {}, np.inf
    for p in THRESHOLDS:
        t = p / 100
        m = int(np.argmax(cum >= t)) + 1
        assert cum[m - 1] >= t
        margin = min(margin, cum[m - 1] - t, t - cum[m - 2] if m >= 2 else np.inf)
        out[str(p)] = m
    assert margin > 1e-9, f"a threshold is within {margin:.1e} of a cumulative sum"
    return out, float(margin)


def elbow(ratio):
    r = np.asarray(ratio, dtype=np.float64)
    n = len(r)
    assert n >= 3
    i = np.arange(n, dtype=np.float64)
    dy = r[n - 1] - r[0]
    d = np.abs(dy * i - (n - 1) * (r - r[0])) / np.sqrt((n - 1) ** 2 + dy ** 2)
    best = int(np.argmax(d))
    rest = np.delete(d, best)
    margin = float((d[best] - rest.max()) / d[best])
    return best + 1, margin


def sign_margin(components, variances):
    keep = variances > 1e-9 * variances[0]
    a = np.sort(np.abs(components[keep]), axis=1)
    return float(np.min((a[:, -1] - a[:, -2]) / a[:, -1]))


def check_sign_rule(components, variances):
    """sklearn's svd_flip(u_based_decision=False): largest-|.| entry of each row positive."""
    keep = variances > 1e-9 * variances[0]
    c = components[keep]
    top = c[np.arange(len(c)), np.argmax(np.abs(c), axis=1)]
    assert np.all(top > 0), "svd_flip convention not observed"


def run_case(name, X, normalize_how, n_components, svd_solver, random_state=None,
             labels=None, texts=None, apply_X=None, extra_meta=None):
    folder = os.path.join(OUT, name)
    if os.path.exists(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)
    N, D = X.shape
    np.save(os.path.join(folder, "X.npy"), X)
    if labels is None:
        labels = ["all"] * N
        texts = [f"sample {i}" for i in range(N)]
    write_labels(os.path.join(folder, "labels.csv"), labels, texts)

    Xn = normalize(np.load(os.path.join(folder, "X.npy")), normalize_how)
    assert Xn.dtype == np.float64
    pca = PCA(n_components=n_components, svd_solver=svd_solver, random_state=random_state)
    proj = pca.fit_transform(Xn)
    full = PCA(svd_solver="full").fit(Xn)
    spectrum = full.explained_variance_
    assert len(spectrum) == min(N, D)
    ratio = spectrum / spectrum.sum()
    k = pca.n_components_

    arrays = {
        "components": pca.components_, "explained_variance": pca.explained_variance_,
        "explained_variance_ratio": pca.explained_variance_ratio_,
        "singular_values": pca.singular_values_, "mean": pca.mean_,
        "projections": np.ascontiguousarray(proj), "spectrum": spectrum,
    }
    for key, a in arrays.items():
        a = np.ascontiguousarray(a, dtype=np.float64)
        assert np.all(np.isfinite(a)), (name, key)
        np.save(os.path.join(folder, f"{key}.npy"), a)
    check_sign_rule(pca.components_, pca.explained_variance_)

    cf, cf_margin = components_for(ratio)
    eb, eb_margin = elbow(ratio)
    check = {
        "components_for_margin": cf_margin,
        "elbow_margin": eb_margin,
        "sign_margin": sign_margin(pca.components_, pca.explained_variance_),
        "orthonormal_max_err": float(np.max(np.abs(pca.components_ @ pca.components_.T
                                                   - np.eye(k)))),
        "projection_vs_centered_dot_max_err": float(np.max(np.abs(
            proj - (Xn - pca.mean_) @ pca.components_.T))),
        "ratio_vs_full_spectrum_max_err": float(np.max(np.abs(
            pca.explained_variance_ratio_ - ratio[:k]))),
        "min_rel_gap_kept": float(np.min(-np.diff(spectrum[:k + 1 if k < len(spectrum) else k])
                                         / spectrum[0])),
    }
    if apply_X is not None:
        np.save(os.path.join(folder, "apply_X.npy"), apply_X)
        ap = pca.transform(normalize(apply_X, normalize_how))
        np.save(os.path.join(folder, "apply_projections.npy"), np.ascontiguousarray(ap))
    if svd_solver != "full":
        ref = PCA(n_components=n_components, svd_solver="full").fit(Xn)
        check["max_abs_diff_components_vs_full"] = float(np.max(np.abs(
            pca.components_ - ref.components_)))
        check["max_rel_diff_variance_vs_full"] = float(np.max(np.abs(
            pca.explained_variance_ - ref.explained_variance_) / ref.explained_variance_))
    meta = {"case": name, "normalize": normalize_how, "n_components": n_components,
            "svd_solver": svd_solver, "random_state": random_state, "N": N, "D": D, "k": k,
            "x_dtype": str(X.dtype), "versions": VERSIONS, "components_for": cf, "elbow": eb}
    meta.update(extra_meta or {})
    if name == "gap_randomized":
        meta["gap"] = float(spectrum[4] / spectrum[5])
    meta["check"] = check
    save_json(os.path.join(folder, "meta.json"), meta)
    print(f"{name}: X {X.dtype}{list(X.shape)} norm={normalize_how} k={k} solver={svd_solver} "
          f"ev[:k]={np.array2string(pca.explained_variance_, precision=4)} "
          f"ratio[:k]={np.array2string(pca.explained_variance_ratio_, precision=4)}")
    print(f"  components_for={cf} (margin {cf_margin:.2e}) elbow={eb} (margin {eb_margin:.2e}) "
          f"sign_margin={check['sign_margin']:.2e}"
          + (f" gap={meta['gap']:.1f}" if "gap" in meta else "")
          + (f" |comp - full|max={check['max_abs_diff_components_vs_full']:.1e}"
             if svd_solver != "full" else ""))
    return folder


def main():
    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)

    # tall / tall_full
    rng = np.random.default_rng(101)
    D = 30
    scales = 10 * 0.75 ** np.arange(D)
    Q = orthogonal(rng, D)
    offset = 100 + 10 * rng.standard_normal(D)

    def tall_draw(n):
        return rng.standard_normal((n, D)) @ np.diag(scales) @ Q + offset

    X = tall_draw(400)
    apply_X = tall_draw(50)
    run_case("tall", X, "none", 3, "full", apply_X=apply_X)
    Xt = np.load(os.path.join(OUT, "tall", "X.npy"))
    run_case("tall_full", Xt, "none", None, "full")

    # wide / wide_full
    rng = np.random.default_rng(202)
    N, D = 40, 300
    sds = np.array([20, 14, 10, 7, 5, 3.5, 2.5, 1.8])
    U = orthogonal(rng, D)[:, :len(sds)]
    X = (rng.standard_normal((N, len(sds))) * sds) @ U.T + 0.1 * rng.standard_normal((N, D)) \
        + 5 + rng.standard_normal(D)
    run_case("wide", X, "none", 5, "full")
    run_case("wide_full", np.load(os.path.join(OUT, "wide", "X.npy")), "none", None, "full")

    # l2_seed
    rng = np.random.default_rng(303)
    N_per, D = 20, 64
    basis = orthogonal(rng, D)
    common = 60 * basis[:, 0] + 2 * rng.standard_normal(D)
    rows, labels, texts = [], [], []
    for c, day in enumerate(DAYS):
        theta = 2 * np.pi * c / len(DAYS)
        offset = (8 * np.cos(theta) * basis[:, 1] + 5 * np.sin(theta) * basis[:, 2]
                  + 3 * (c - 3) / 3 * basis[:, 3])
        rows.append(common + offset + 0.3 * rng.standard_normal((N_per, D)))
        labels += [day] * N_per
        texts += [f"{day} sample {j}" for j in range(N_per)]
    X = np.concatenate(rows).astype(np.float32)
    run_case("l2_seed", X, "l2", 3, "full", labels=labels, texts=texts)

    # standard
    rng = np.random.default_rng(404)
    N, D = 200, 20
    feat_scales = np.logspace(-2, 3, D)
    A = rng.standard_normal((D, D)) * (0.6 ** np.arange(D))[:, None]
    X = (rng.standard_normal((N, D)) @ A) * feat_scales + feat_scales * rng.standard_normal(D) * 3
    X[:, 7] = 3.0
    run_case("standard", X, "standard", 4, "full")
    Xs = normalize(X, "standard")
    assert np.all(Xs[:, 7] == 0.0), "constant column not exactly zero after StandardScaler"

    # gap_randomized
    rng = np.random.default_rng(505)
    N, D = 600, 200
    var = np.array([100, 50, 25, 12, 6], dtype=np.float64)
    U = orthogonal(rng, D)[:, :5]
    X = (rng.standard_normal((N, 5)) * np.sqrt(var)) @ U.T + 0.1 * rng.standard_normal((N, D)) \
        + 1 + 0.5 * rng.standard_normal(D)
    run_case("gap_randomized", X.astype(np.float32), "none", 5, "randomized", random_state=0)

    total = 0
    for root, _, files in sorted(os.walk(OUT)):
        for f in sorted(files):
            p = os.path.join(root, f)
            total += os.path.getsize(p)
    print(f"total {total} bytes in {os.path.relpath(OUT, os.path.dirname(os.path.dirname(HERE)))}")


if __name__ == "__main__":
    main()
