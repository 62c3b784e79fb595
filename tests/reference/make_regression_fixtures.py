#!/usr/bin/env python3
"""Generate reference outputs for actlens' linear regression (core/regression.hpp) with
scikit-learn's LinearRegression, r2_score and mean_squared_error.

Run from the repository root:  .venv-ref/bin/python tests/reference/make_regression_fixtures.py
Seeded (numpy default_rng), so a rerun with the same library versions rewrites the same files.

Writes tests/reference/regression/<case>/ with

  X.npy          float32 [n, p]  the input; the fit is done on X.astype(float64), which the C++
                                 test reads back exactly (float32 halves the committed size)
  Y.npy          float64 [n, k]
  coef.npy       float64 [k, p]  LinearRegression().fit(X, Y).coef_ (defaults: fit_intercept=True,
                                 tol=1e-6, which sklearn >= 1.9 passes to scipy.linalg.lstsq as
                                 cond; driver gelsd)
  intercept.npy  float64 [k]     .intercept_
  rank.npy       int64 [1]       .rank_ (of the centred X)
  singular.npy   float64 [min(n, p)]  .singular_
  pred.npy       float64 [n, k]  .predict(X)
  r2.npy         float64 [1]     r2_score(Y, pred)  (multioutput="uniform_average" = .score)
  r2_raw.npy     float64 [k]     r2_score(Y, pred, multioutput="raw_values")
  mse.npy        float64 [1]     mean_squared_error(Y, pred)
and, where a case scores a second, given prediction (not from the fit):
  alt_pred.npy, alt_r2.npy, alt_r2_raw.npy, alt_mse.npy   the same scores of Y against alt_pred

Cases
-----
tall        n=200, p=12, k=5: X standard normal times random column scales (0.1..10) + offsets
            ~ N(0, 25); Y = X B + c + N(0, 0.5^2) noise. Full rank.
beliefs     n=300, p=40, k=5: Y rows Dirichlet(0.5) on the probability simplex (each row sums to
            1, so one target is affine in the others); X = Y W + 0.3 N(0, 1) + offset, W [5, 40]
            standard normal. The fitted intercepts sum to 1 and each coefficient column sums to 0.
rankdef     n=80, p=12, k=3: six independent columns x0..x5 (float32 values), then x0 again,
            2 x2, a zero column, a constant 3.0 column (exactly 0 once centred), x0 + x1 and x3
            again. Rounding x0 + x1 to float32 breaks its dependency at ~1e-8: one singular
            value ~9e-9 relative, between machine epsilon and sklearn's 1e-6 cut-off, so the
            rank is 6 only with cond = 1e-6 (7 with scipy's eps default). The coefficients are
            the minimum-norm solution (equal weights on duplicated columns, 0 on the zero and
            constant ones).
wide        n=30, p=50, k=3 (p > n): the centred X has rank 29 = n - 1; minimum-norm solution,
            training predictions interpolate Y.
constant    n=60, p=6, k=3 with target 1 constant 2.5 (dyadic, so np.mean is exact): the fit
            predicts it exactly (r2 raw 1.0); alt_pred = pred with 0.01 added to target 1's first
            row: r2 raw 0.0 there (force_finite instead of -inf).
worse       n=50, p=4, k=3: the fit, plus alt_pred = 2 mean(Y) - Y + N(0, 0.1^2) noise per row,
            worse than predicting the mean: every alt r2 raw < 0 (about -3).

Also tests/reference/regression/split_sizes.npy, float64 [m, 3] rows (n, test_size, n_test):
len(test) of sklearn.model_selection.train_test_split(range(n), test_size=test_size) (n_test =
ceil(test_size * n) in doubles, so 0.07 * 100 = 7.000000000000001 gives 8), over a grid of n and
test_size where the train set is non-empty (sklearn raises otherwise).
"""

import json
import math
import os

import numpy as np
import scipy
import sklearn
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_squared_error, r2_score
from sklearn.model_selection import train_test_split

OUT = os.path.join("tests", "reference", "regression")
VERSIONS = {"numpy": np.__version__, "scipy": scipy.__version__, "sklearn": sklearn.__version__}


def save(folder, name, a, dtype=np.float64):
    np.save(os.path.join(folder, f"{name}.npy"), np.ascontiguousarray(np.asarray(a, dtype=dtype)))


def scores(folder, prefix, Y, pred):
    save(folder, f"{prefix}r2", [r2_score(Y, pred)])
    save(folder, f"{prefix}r2_raw", r2_score(Y, pred, multioutput="raw_values"))
    save(folder, f"{prefix}mse", [mean_squared_error(Y, pred)])


def run_case(name, X, Y, alt_pred=None):
    folder = os.path.join(OUT, name)
    os.makedirs(folder, exist_ok=True)
    X = np.asarray(X, dtype=np.float32)  # what is stored; the fit sees its exact float64 widening
    Xd = X.astype(np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    assert np.isfinite(Xd).all() and np.isfinite(Y).all()
    model = LinearRegression().fit(Xd, Y)
    pred = model.predict(Xd)
    save(folder, "X", X, np.float32)
    save(folder, "Y", Y)
    save(folder, "coef", model.coef_)
    save(folder, "intercept", model.intercept_)
    save(folder, "rank", [model.rank_], np.int64)
    save(folder, "singular", model.singular_)
    save(folder, "pred", pred)
    scores(folder, "", Y, pred)
    if alt_pred is not None:
        save(folder, "alt_pred", alt_pred)
        scores(folder, "alt_", Y, alt_pred)
    with open(os.path.join(folder, "meta.json"), "w") as f:
        json.dump({"case": name, "n": X.shape[0], "p": X.shape[1], "k": Y.shape[1],
                   "rank": int(model.rank_), "versions": VERSIONS}, f, indent=2)
        f.write("\n")
    return model, pred


def main():
    rng = np.random.default_rng(20240611)

    # tall: full rank, columns of very different scales.
    n, p, k = 200, 12, 5
    X = rng.standard_normal((n, p)) * np.logspace(-1, 1, p) + 5 * rng.standard_normal(p)
    X = X.astype(np.float32).astype(np.float64)
    Y = X @ rng.standard_normal((p, k)) + rng.standard_normal(k) + 0.5 * rng.standard_normal((n, k))
    model, _ = run_case("tall", X, Y)
    assert model.rank_ == p

    # beliefs: simplex targets, activations a noisy linear image of them.
    n, p, k = 300, 40, 5
    Y = rng.dirichlet(np.full(k, 0.5), size=n)
    X = Y @ rng.standard_normal((k, p)) + 0.3 * rng.standard_normal((n, p)) + rng.standard_normal(p)
    X = X.astype(np.float32).astype(np.float64)
    model, _ = run_case("beliefs", X, Y)
    assert model.rank_ == p
    assert abs(model.intercept_.sum() - 1) < 1e-10
    assert np.abs(model.coef_.sum(axis=0)).max() < 1e-10

    # rankdef: duplicated, scaled, zero, constant, combined and nearly-duplicated columns.
    n, k = 80, 3
    B = rng.standard_normal((n, 6)).astype(np.float32).astype(np.float64)
    cols = [B[:, j] for j in range(6)]
    cols += [B[:, 0], 2 * B[:, 2], np.zeros(n), np.full(n, 3.0), B[:, 0] + B[:, 1]]
    cols += [B[:, 3]]
    X = np.stack(cols, axis=1).astype(np.float32).astype(np.float64)
    Y = B @ rng.standard_normal((6, k)) + 0.2 * rng.standard_normal((n, k))
    model, _ = run_case("rankdef", X, Y)
    assert model.rank_ == 6, model.rank_
    s = model.singular_
    # float32 rounding of x0 + x1 leaves a singular value above eps yet under the 1e-6 cut-off:
    # the rank depends on cond = 1e-6.
    assert np.sum(s > np.finfo(float).eps * max(X.shape) * s[0]) == 7, s
    assert np.all(s[6:] < 1e-6 * s[0])

    # wide: p > n.
    n, p, k = 30, 50, 3
    X = rng.standard_normal((n, p)) + 2
    Y = rng.standard_normal((n, k))
    model, pred = run_case("wide", X, Y)
    assert model.rank_ == n - 1

    # constant: one target constant 2.5.
    n, p, k = 60, 6, 3
    X = rng.standard_normal((n, p))
    Y = X[:, :k].astype(np.float32).astype(np.float64) @ rng.standard_normal((k, k))
    Y += 0.3 * rng.standard_normal((n, k))
    Y[:, 1] = 2.5
    Xd = X.astype(np.float32).astype(np.float64)
    pred = LinearRegression().fit(Xd, Y).predict(Xd)
    assert np.all(pred[:, 1] == 2.5)
    alt = pred.copy()
    alt[0, 1] += 0.01
    run_case("constant", X, Y, alt)
    raw = r2_score(Y, alt, multioutput="raw_values")
    assert raw[1] == 0.0 and r2_score(Y, pred, multioutput="raw_values")[1] == 1.0

    # worse: a prediction worse than the mean.
    n, p, k = 50, 4, 3
    X = rng.standard_normal((n, p))
    Y = X[:, :k].astype(np.float32).astype(np.float64) + 0.5 * rng.standard_normal((n, k))
    alt = 2 * Y.mean(axis=0) - Y + 0.1 * rng.standard_normal((n, k))
    run_case("worse", X, Y, alt)
    assert np.all(r2_score(Y, alt, multioutput="raw_values") < -1)

    # train_test_split's sizes.
    rows = []
    for n in (1, 2, 3, 7, 10, 29, 30, 100, 1000, 4097):
        for f in (0.01, 0.07, 0.1, 0.2, 0.25, 0.3, 1 / 3, 0.5, 0.7, 0.9, 0.999):
            if math.ceil(f * n) >= n:
                continue
            rows.append((n, f, len(train_test_split(list(range(n)), test_size=f, random_state=0)[1])))
    assert any(r[2] != round(r[1] * r[0]) for r in rows)  # some round up
    save(OUT, "split_sizes", rows)

    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    print(f"wrote {OUT} ({total} bytes)")


if __name__ == "__main__":
    main()
