#!/usr/bin/env python3
"""Generate reference values for actlens' statistics helpers (t-test, Pearson correlation,
generalized symmetric eigenproblem) with SciPy.

Writes tests/reference/stats/stats.json (Python's json: floats written with repr, so they read
back bit-exactly) with keys

  "versions"          {numpy, scipy, python}
  "ttest_ind"         list of {"name", "a": [..], "b": [..], "t", "p", "df"}:
                      scipy.stats.ttest_ind(a, b) with the defaults (equal_var=True, pooled
                      variance, two-sided), df = n1 + n2 - 2.
      small_effect_50_50   n1 = n2 = 50, shift 0.2 sd (p in 0.1 .. 0.5)
      moderate_7_12        n1 = 7, n2 = 12, shift ~1.2 sd
      huge_p1e-100         n1 = n2 = 50, a shifted so that p ~ 1e-100
      huger_p1e-250        n1 = n2 = 100, a shifted so that p ~ 1e-250 (> 1e-300)
      t_near_zero          n1 = 30, n2 = 40, means nearly equal (|t| ~ 0.005, p close to 1)
      negative_t           n1 = 25, n2 = 20, mean(a) < mean(b) (t < 0, p ~ 1e-3)
  "pearsonr"          list of {"name", "x", "y", "r", "p", "p_underflow"}: scipy.stats.pearsonr
                      (two-sided); p_underflow is true only if scipy's p is exactly 0.
      weak_3072            n = 3072, r ~ 0.05
      strong_3072          n = 3072, r ~ 0.59 (p ~ 1e-280, tiny but representable)
      very_strong_200      n = 200, r ~ 0.99 (p ~ 1e-170)
      n5                   n = 5
      negative_100         n = 100, r ~ -0.4
  "eigh_generalized"  list of {"name", "a": [[..]], "b": [[..]], "eigenvalues": [..] (ascending),
                      "eigenvectors": [[..]] (the matrix as row lists: column j is eigenvector j,
                      scaled by scipy/LAPACK so that v_j^T b v_j = 1; the sign is LAPACK's and
                      arbitrary), "n_zero": number of eigenvalues that are 0 in exact arithmetic
                      (a singular), "min_rel_gap": min over adjacent non-zero eigenvalues of
                      (l[i+1] - l[i]) / max|l|} from scipy.linalg.eigh(a, b).  As in the GED
                      seed: a = np.cov(Xa.T), b = (1-.01)*C + .01*np.mean(np.linalg.eig(C)[0])*
                      np.eye(m) with C = np.cov(Xb.T).  (For a singular C, np.linalg.eig can
                      return complex-conjugate pairs with tiny imaginary parts: the mean is
                      trace(C)/m up to rounding, and its real part is used.)
      ged_5d               m = 5: a from 20 samples (full rank), b from 30 other samples
      ged_40d_singular     m = 40: a from only 25 samples (rank 24: 16 eigenvalues are 0 up to
                           rounding, their eigenvectors are an arbitrary basis of a 16-dim space;
                           compare only the 24 eigenpairs with |l| > 1e-9 * max|l|); b from 30
                           samples (C rank 29, positive definite only through the shrinkage)
                      Samples are drawn with different anisotropic covariances per matrix, so
                      the non-zero eigenvalues are distinct (asserted).

Re-run (from the repo root):  .venv-ref/bin/python tests/reference/make_stats_fixtures.py
Deterministic (np.random.default_rng seeds below).
"""

import json
import os
import platform

import numpy as np
import scipy
import scipy.linalg
import scipy.optimize
import scipy.stats as stats

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "stats")


def ttest_case(name, a, b):
    a = [float(v) for v in a]
    b = [float(v) for v in b]
    res = stats.ttest_ind(a, b)
    t, p = float(res.statistic), float(res.pvalue)
    df = float(res.df)
    assert df == len(a) + len(b) - 2
    assert np.isfinite(t) and np.isfinite(p) and p > 0, (name, t, p)
    print(f"ttest_ind  {name:22s} n=({len(a)},{len(b)}) t={t:+.6g} p={p:.6g} df={df:g}")
    return {"name": name, "a": a, "b": b, "t": t, "p": p, "df": df}


def shift_for_p(a0, b0, target_p, sign=1.0):
    """Shift s such that ttest_ind(a0 + s, b0) has two-sided p = target_p (t has sign `sign`)."""
    df = len(a0) + len(b0) - 2
    t_target = sign * stats.t.isf(target_p / 2, df)
    # t is linear in s with the pooled standard error unchanged by the shift
    n1, n2 = len(a0), len(b0)
    sp2 = ((n1 - 1) * np.var(a0, ddof=1) + (n2 - 1) * np.var(b0, ddof=1)) / df
    se = np.sqrt(sp2 * (1 / n1 + 1 / n2))
    return t_target * se - (np.mean(a0) - np.mean(b0))


def pearson_case(name, x, y):
    x = [float(v) for v in x]
    y = [float(v) for v in y]
    res = stats.pearsonr(x, y)
    r, p = float(res.statistic), float(res.pvalue)
    assert np.isfinite(r) and np.isfinite(p)
    print(f"pearsonr   {name:22s} n={len(x)} r={r:+.6g} p={p:.6g}")
    return {"name": name, "x": x, "y": y, "r": r, "p": p, "p_underflow": p == 0.0}


def correlated(rng, n, c):
    x = rng.standard_normal(n)
    return x, c * x + rng.standard_normal(n)


def shrink(C):
    m = C.shape[0]
    regu_gam = .01
    mean_ev = np.mean(np.linalg.eig(C)[0])
    # a singular C can give complex-conjugate eigenvalue pairs with tiny imaginary parts; they
    # cancel in the mean (= trace(C) / m up to rounding)
    assert abs(np.imag(mean_ev)) <= 1e-12 * abs(np.real(mean_ev))
    assert abs(np.real(mean_ev) - np.trace(C) / m) <= 1e-12 * abs(np.trace(C) / m)
    return (1 - regu_gam) * C + regu_gam * np.real(mean_ev) * np.eye(m)


def eigh_case(name, rng, m, na, nb, n_zero):
    mix_a = rng.standard_normal((m, m)) * np.linspace(2.0, 0.3, m)
    mix_b = rng.standard_normal((m, m)) * np.linspace(1.0, 0.5, m)
    Xa = rng.standard_normal((na, m)) @ mix_a.T + 3.0
    Xb = rng.standard_normal((nb, m)) @ mix_b.T - 1.0
    a = np.cov(Xa.T)
    b = shrink(np.cov(Xb.T))
    w, V = scipy.linalg.eigh(a, b)
    assert np.all(np.diff(w) >= 0)
    scale = np.max(np.abs(w))
    nz = w[np.abs(w) > 1e-9 * scale]
    assert len(w) - len(nz) == n_zero, (name, len(w) - len(nz))
    gap = float(np.min(np.diff(nz)) / scale)
    assert gap > 1e-6, (name, gap)
    err = np.max(np.abs(V.T @ b @ V - np.eye(m)))
    res = np.max(np.abs(a @ V - b @ V * w))
    assert err < 1e-9 and res < 1e-9 * scale, (err, res)
    print(f"eigh       {name:22s} m={m} eigenvalues {w[-1]:.4g} .. {nz[0]:.4g} (+{n_zero} zeros) "
          f"min rel gap {gap:.2e}; |V^T b V - I| {err:.1e}, |aV - bVw| {res:.1e}")
    return {"name": name, "a": a.tolist(), "b": b.tolist(), "eigenvalues": w.tolist(),
            "eigenvectors": V.tolist(), "n_zero": n_zero, "min_rel_gap": gap}


def main():
    rng = np.random.default_rng(7001)
    tt = []
    while True:  # first draw with p in 0.1 .. 0.5
        a, b = rng.standard_normal(50) + 0.2, rng.standard_normal(50)
        if 0.1 <= stats.ttest_ind(a, b).pvalue <= 0.5:
            break
    tt.append(ttest_case("small_effect_50_50", a, b))
    tt.append(ttest_case("moderate_7_12", 10 + 1.2 + rng.standard_normal(7),
                         10 + rng.standard_normal(12)))
    a0, b0 = rng.standard_normal(50), rng.standard_normal(50)
    tt.append(ttest_case("huge_p1e-100", a0 + shift_for_p(a0, b0, 1e-100), b0))
    a0, b0 = rng.standard_normal(100), rng.standard_normal(100)
    tt.append(ttest_case("huger_p1e-250", a0 + shift_for_p(a0, b0, 1e-250), b0))
    a0, b0 = rng.standard_normal(30), rng.standard_normal(40)
    s = -(np.mean(a0) - np.mean(b0)) + 0.001
    tt.append(ttest_case("t_near_zero", a0 + s, b0))
    a0, b0 = rng.standard_normal(25), rng.standard_normal(20)
    tt.append(ttest_case("negative_t", a0 + shift_for_p(a0, b0, 1e-3, sign=-1.0), b0))
    assert 0.1 <= tt[0]["p"] <= 0.5
    assert 1e-101 < tt[2]["p"] < 1e-99 and 1e-251 < tt[3]["p"] < 1e-249
    assert tt[4]["p"] > 0.99 and tt[5]["t"] < 0

    rng = np.random.default_rng(7002)
    pr = [pearson_case("weak_3072", *correlated(rng, 3072, 0.05))]
    x, noise = rng.standard_normal(3072), rng.standard_normal(3072)
    # scale the signal so that r = 0.59 exactly-ish (p ~ 1e-280)
    c = scipy.optimize.brentq(lambda c: np.corrcoef(x, c * x + noise)[0, 1] - 0.59, 0.1, 2.0)
    pr.append(pearson_case("strong_3072", x, c * x + noise))
    pr.append(pearson_case("very_strong_200", *correlated(rng, 200, 7.0)))
    pr.append(pearson_case("n5", [1.0, 2.5, 2.0, 4.5, 3.0], [0.3, 1.1, 2.9, 2.0, 4.4]))
    pr.append(pearson_case("negative_100", *correlated(rng, 100, -0.45)))
    assert 0 < pr[1]["p"] and pr[1]["p"] > 1e-300
    assert 0.98 < pr[2]["r"] < 0.995 and pr[4]["r"] < 0

    rng = np.random.default_rng(7003)
    eg = [eigh_case("ged_5d", rng, 5, 20, 30, 0),
          eigh_case("ged_40d_singular", rng, 40, 25, 30, 16)]

    os.makedirs(OUT, exist_ok=True)
    doc = {"versions": {"numpy": np.__version__, "scipy": scipy.__version__,
                        "python": platform.python_version()},
           "ttest_ind": tt, "pearsonr": pr, "eigh_generalized": eg}
    path = os.path.join(OUT, "stats.json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    back = json.load(open(path))
    assert back == doc, "stats.json does not read back exactly"
    print(f"{os.path.relpath(path)}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
