#!/usr/bin/env python3
"""Generate reference outputs for actlens' DBSCAN with scikit-learn's DBSCAN.

Writes tests/reference/dbscan/<case>/ .  The reference is the seed notebook
rsa-glove-tsne-dbscan (``DBSCAN(eps=20, min_samples=3).fit(tsne_result)``).  Every case stores

  X.npy            float64 [N, D]  input (float32 for "highd", whose values are float32 numbers)
  labels.npy       int64 [N]       dbscan.labels_
  core.npy         int64 [n_core]  dbscan.core_sample_indices_
  counts.npy       int64 [N]       size of each closed eps-ball (the point itself included):
                                   len(NearestNeighbors(radius=eps, metric=...).fit(X)
                                   .radius_neighbors(X)[i]), what DBSCAN compares to min_samples
  members.npy      int64 [K]       points per cluster label 0..K-1 (np.bincount of labels >= 0)
  centroids.npy    float64 [K, D]  X[labels == k].mean(axis=0)
  meta.json        {case, eps, min_samples, metric, N, D, n_clusters, n_noise, n_core,
                    n_border, n_shared_border, fit_method, boundary_gap, versions}

sklearn's neighbourhood is the closed ball.  With algorithm="auto" it searches a kd_tree for
euclidean data with D <= 15, deciding sum_k (x_k - y_k)^2 <= eps * eps exactly (summed in
coordinate order): the "grid" cases put many pairs at exactly eps.  Above that, and for the cosine
metric, it uses brute force with GEMM-rounded distances; those cases place eps in a gap of the
pairwise distances (meta.boundary_gap: the relative distance from eps to the nearest pairwise
distance, asserted >= 1e-6) so that any exact implementation agrees with sklearn.

n_shared_border counts non-core points whose core neighbours lie in two or more clusters (sklearn
gives them the lowest cluster label); the "blobs" case asserts it is >= 1.

Run with the reference environment:  .venv-ref/bin/python tests/reference/make_dbscan_fixtures.py
"""

import json
import pathlib
import shutil

import numpy as np
import scipy
import sklearn
from scipy.spatial.distance import pdist
from sklearn.cluster import DBSCAN
from sklearn.datasets import make_blobs
from sklearn.neighbors import NearestNeighbors

OUT = pathlib.Path(__file__).resolve().parent / "dbscan"


def nonzero(X, metric):
    """The rows pdist can measure: cosine leaves out zero rows (0/0 in scipy; sklearn gives them
    distance 1 to every other point, which the zero-row cases test on purpose)."""
    return X[np.any(X != 0, axis=1)] if metric == "cosine" else X


def boundary_gap(X, eps, metric):
    """Relative distance from eps to the nearest pairwise distance (inf when none)."""
    d = pdist(nonzero(X, metric), metric="cosine" if metric == "cosine" else "euclidean")
    return float(np.min(np.abs(d - eps)) / eps)


def write_case(name, X, eps, min_samples, metric="euclidean", need_gap=False, checks=None,
               store_float32=False):
    if store_float32:  # values exactly representable in float32: the file is half the size
        X = X.astype(np.float32)
    X_file = X
    X = np.ascontiguousarray(X, dtype=np.float64)
    db = DBSCAN(eps=eps, min_samples=min_samples, metric=metric).fit(X)
    labels = db.labels_.astype(np.int64)
    core = db.core_sample_indices_.astype(np.int64)
    nn = NearestNeighbors(radius=eps, metric=metric).fit(X)
    counts = np.array([len(r) for r in nn.radius_neighbors(X, return_distance=False)],
                      dtype=np.int64)
    is_core = np.zeros(len(X), dtype=bool)
    is_core[core] = True
    assert np.array_equal(is_core, counts >= min_samples), name

    K = int(labels.max()) + 1 if labels.size else 0
    members = np.bincount(labels[labels >= 0], minlength=K).astype(np.int64)
    centroids = np.stack([X[labels == k].mean(axis=0) for k in range(K)]) if K else \
        np.zeros((0, X.shape[1]))

    # Border points and those shared between clusters.
    nb = nn.radius_neighbors(X, return_distance=False)
    n_border = n_shared = 0
    for i in np.where(~is_core)[0]:
        clusters = {int(labels[j]) for j in nb[i] if is_core[j]}
        if clusters:
            n_border += 1
            assert labels[i] == min(clusters), (name, i)
            if len(clusters) > 1:
                n_shared += 1

    gap = boundary_gap(X, eps, metric)
    if need_gap:
        assert gap >= 1e-6, (name, gap)

    meta = {
        "case": name, "eps": eps, "min_samples": min_samples, "metric": metric,
        "N": int(X.shape[0]), "D": int(X.shape[1]), "n_clusters": K,
        "n_noise": int(np.sum(labels < 0)), "n_core": int(core.size), "n_border": n_border,
        "n_shared_border": n_shared, "fit_method": nn._fit_method, "boundary_gap": gap,
        "versions": {"numpy": np.__version__, "scipy": scipy.__version__,
                     "sklearn": sklearn.__version__},
    }
    for key, (op, value) in (checks or {}).items():
        assert op(meta[key], value), (name, key, meta[key])

    d = OUT / name
    d.mkdir(parents=True)
    np.save(d / "X.npy", X_file)
    np.save(d / "labels.npy", labels)
    np.save(d / "core.npy", core)
    np.save(d / "counts.npy", counts)
    np.save(d / "members.npy", members)
    np.save(d / "centroids.npy", centroids)
    (d / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"{name:12s} N={meta['N']:4d} D={meta['D']:2d} clusters={K:3d} "
          f"noise={meta['n_noise']:3d} core={meta['n_core']:4d} border={n_border:3d} "
          f"shared={n_shared} {meta['fit_method']} gap={gap:.2e}")


def eps_in_gap(X, target, metric):
    """The midpoint of the widest gap between sorted pairwise distances near `target`."""
    d = np.sort(pdist(nonzero(X, metric), metric="cosine" if metric == "cosine" else "euclidean"))
    k = int(np.searchsorted(d, target))
    lo, hi = max(k - 20, 0), min(k + 20, d.size - 1)
    i = lo + int(np.argmax(np.diff(d[lo:hi + 1])))
    return float((d[i] + d[i + 1]) / 2)


def ge(a, b):
    return a >= b


def main():
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    rng = np.random.default_rng(20240611)

    # 2-D blobs, uniform noise, and two small clumps bridged by one border point that lies within
    # eps of a core point of each (shared border: sklearn gives it the lower label).
    X, _ = make_blobs(n_samples=500, centers=[[0, 0], [3, 0], [1.5, 2.5], [4, 3]],
                      cluster_std=[0.45, 0.5, 0.4, 0.6], random_state=3)
    noise = rng.uniform(-2, 6, size=(60, 2))
    eps, ms = 0.3, 8
    c1, c2 = np.array([10.0, 10.0]), np.array([10.0 + 1.8 * eps, 10.0])
    clump1 = c1 + np.array([-0.5 * eps, 0]) + rng.normal(scale=0.05 * eps, size=(ms, 2))
    clump2 = c2 + np.array([0.5 * eps, 0]) + rng.normal(scale=0.05 * eps, size=(ms, 2))
    bridge = (c1 + c2) / 2
    X = np.vstack([X, noise, c1, c2, clump1, clump2, bridge])
    X = X[rng.permutation(len(X))]
    write_case("blobs", X, eps, ms,
               checks={"n_shared_border": (ge, 1), "n_noise": (ge, 10), "n_clusters": (ge, 4)})

    # Integer grid with holes, eps exactly the spacing: every neighbour sits at exactly eps.
    g = np.array([[i, j] for i in range(14) for j in range(12)], dtype=np.float64)
    keep = rng.random(len(g)) > 0.2
    X = g[keep][rng.permutation(int(keep.sum()))]
    write_case("grid", X, 1.0, 5, checks={"n_border": (ge, 10), "n_clusters": (ge, 2)})

    # The same grid at spacing 0.1 (coordinates k * 0.1, not exact in binary): whether
    # (x_i - x_j)^2 + ... <= 0.1 * 0.1 holds depends on each pair's rounding, exactly as sklearn
    # computes it.
    X = np.ascontiguousarray(X * 0.1)
    write_case("grid_tenth", X, 0.1, 4, checks={"n_border": (ge, 1), "n_clusters": (ge, 2)})

    # 3-D and 5-D blobs (the KD-tree at a fixed and a run-time dimension).
    X, _ = make_blobs(n_samples=400, n_features=3, centers=5, cluster_std=0.8, random_state=11)
    X = np.vstack([X, rng.uniform(-12, 12, size=(40, 3))])
    write_case("blobs3d", X, eps_in_gap(X, 0.9, "euclidean"), 6, need_gap=True,
               checks={"n_clusters": (ge, 3), "n_noise": (ge, 5)})
    X, _ = make_blobs(n_samples=400, n_features=5, centers=4, cluster_std=1.0, random_state=5)
    write_case("blobs5d", X, eps_in_gap(X, 1.6, "euclidean"), 5, need_gap=True,
               checks={"n_clusters": (ge, 2), "n_noise": (ge, 5)})

    # High dimension (brute force in sklearn and in actlens).
    X, _ = make_blobs(n_samples=400, n_features=50, centers=5, cluster_std=1.0, random_state=7)
    X = np.vstack([X, rng.uniform(-10, 10, size=(20, 50))]).astype(np.float32).astype(np.float64)
    X = X[rng.permutation(len(X))]
    write_case("highd", X, eps_in_gap(X, 8.6, "euclidean"), 10, need_gap=True,
               checks={"n_clusters": (ge, 3), "n_noise": (ge, 5), "n_border": (ge, 5)},
               store_float32=True)

    # Cosine: directions clustered on the sphere, lengths random.
    dirs = rng.normal(size=(5, 8))
    X = np.vstack([d + rng.normal(scale=0.35, size=(70, 8)) for d in dirs])
    X = np.vstack([X, rng.normal(size=(30, 8))])
    X *= rng.uniform(0.5, 20, size=(len(X), 1))
    X = X[rng.permutation(len(X))]
    write_case("cosine", X, eps_in_gap(X, 0.05, "cosine"), 5, metric="cosine", need_gap=True,
               checks={"n_clusters": (ge, 3), "n_noise": (ge, 5), "n_border": (ge, 3)})

    # min_samples = 1: every point is core, clusters are the connected components.
    X = rng.uniform(0, 1, size=(300, 2))
    write_case("min_samples_1", X, eps_in_gap(X, 0.05, "euclidean"), 1, need_gap=True,
               checks={"n_clusters": (ge, 10)})

    # The seed: 20 points like a 2-D t-SNE output (tens of units apart), eps 20, min_samples 3.
    centres = np.array([[-60.0, 20.0], [40.0, 55.0], [15.0, -70.0]])
    X = np.vstack([c + rng.normal(scale=9.0, size=(6, 2)) for c in centres] +
                  [np.array([[90.0, -10.0], [-20.0, -25.0]])])
    X = X[rng.permutation(len(X))]
    write_case("seed", X, 20.0, 3, need_gap=True,
               checks={"n_clusters": (ge, 2), "n_noise": (ge, 1)})

    zero_row_cases()


def zero_row_cases():
    """Cosine with zero rows (their own generator, so the cases above keep their bytes).

    sklearn's cosine distance of a zero row is 1 to every other point and 0 to itself:
    cosine_zero (min_samples 1): each zero row is a singleton cluster, numbered between the
    others by its index; cosine_zero_noise (min_samples 4): the zero rows are noise;
    cosine_zero_wide (eps exactly 1): every zero row is a neighbour of every point."""
    rng = np.random.default_rng(20250118)
    dirs = np.eye(4)[:3] + rng.normal(scale=0.2, size=(3, 4))
    X = np.vstack([d + rng.normal(scale=0.1, size=(12, 4)) for d in dirs] +
                  [rng.normal(size=(6, 4))])
    X *= rng.uniform(0.5, 5, size=(len(X), 1))
    X = X[rng.permutation(len(X))]
    X[[0, 17, 29, 41]] = 0.0  # the first row, two in the middle, the last
    write_case("cosine_zero", X, eps_in_gap(X, 0.02, "cosine"), 1, metric="cosine",
               need_gap=True, checks={"n_clusters": (ge, 10)})
    write_case("cosine_zero_noise", X, eps_in_gap(X, 0.02, "cosine"), 4, metric="cosine",
               need_gap=True, checks={"n_clusters": (ge, 3), "n_noise": (ge, 5)})
    write_case("cosine_zero_wide", X, 1.0, 12, metric="cosine", need_gap=True,
               checks={"n_clusters": (ge, 1)})


if __name__ == "__main__":
    main()
