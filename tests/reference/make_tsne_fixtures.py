#!/usr/bin/env python3
"""Generate reference outputs for actlens' t-SNE (core::tsne, core::trustworthiness) with
scikit-learn's TSNE.

Run with the reference venv (scripts/reference-env):
    .venv-ref/bin/python tests/reference/make_tsne_fixtures.py

Writes tests/reference/tsne/<case>/ .  The reference is the RSA/GloVe seed's
``TSNE(n_components=2, perplexity=5).fit_transform(E)`` on unit-normalised word vectors; every
case runs sklearn's TSNE with init="pca", random_state=0 and the method the case names, other
parameters at their defaults (learning_rate="auto", max_iter=1000, early_exaggeration=12,
angle=0.5).  Files per case:

  X.npy             float64 [N, D]  input (float32 where meta.x_dtype says so; sklearn was given
                                    the same values widened to float64)
  embedding.npy     float64 [N, k]  sklearn's embedding_ (float32 in sklearn, widened)
  P_exact.npy       float64 [N*(N-1)/2]  condensed joint probabilities of method "exact":
                                    _joint_probabilities(pairwise_distances(X, squared=True),
                                    perplexity, 0)   (cases with meta.store_p_exact)
  P_nn_indptr.npy   int64   [N+1]   CSR of the Barnes-Hut joint probabilities
  P_nn_indices.npy  int64   [nnz]   _joint_probabilities_nn(kNN graph with squared distances,
  P_nn_data.npy     float64 [nnz]   perplexity, 0), sorted indices   (meta.store_p_nn)
  meta.json         case, N, D, n_components, perplexity, method, versions, and
                      sklearn_kl_divergence  sklearn's kl_divergence_ (its own estimate: for
                                             barnes_hut the float32 tree approximation from the
                                             last iteration)
                      n_iter                 sklearn's n_iter_
                      learning_rate          sklearn's learning_rate_
                      kl_exact_used_p        KL(P || Q(embedding)) computed here in float64 with
                                             the P the method uses (dense exact P for "exact",
                                             the sparse kNN P for "barnes_hut"), Q exact over all
                                             pairs: sum_{P_ij > 0} P_ij log(max(P_ij, eps) /
                                             max(q_ij, eps)), q_ij = w_ij / sum_{k != l} w_kl,
                                             w = (1 + d^2/dof)^(-(dof+1)/2), dof = max(k-1, 1)
                      kl_exact_dense_p       the same with the dense exact P
                      trustworthiness        sklearn.manifold.trustworthiness(X, embedding, 5)
                      kl_runs                kl_exact_used_p of sklearn's embeddings for
                                             init="pca" (first, = kl_exact_used_p) and
                                             init="random" with random_state 0..3: t-SNE is
                                             chaotic (runs that differ only by float32 vs float64
                                             rounding end 5-40% apart on small or clustered
                                             data), so this is the spread a faithful
                                             reimplementation is compared with
                      trust_runs             trustworthiness(X, ., 5) of the same runs

replay.npy (exact cases): sklearn's own optimiser (_gradient_descent with _kl_divergence, the
exact gradient) run in float64 from the float64 PCA initialisation (PCA(n_components)
.fit_transform(X) / std(column 0) * 1e-4) for 8 iterations with P * 12 and momentum 0.5, then
iterations 8..11 with momentum 0.8 (meta.replay = {"exaggeration_iter": 8, "max_iter": 12}):
before chaos sets in, a faithful float64 implementation must land on the same embedding.

plus trust/: X.npy [100, 10], Y.npy [100, 2] and meta.json {"n_neighbors": {"5": t5, "10": t10}}
from sklearn.manifold.trustworthiness (euclidean).

Cases
-----
seed       N=20, D=50: three clusters of 6/5/9 points (centres N(0, 1), points centre +
           0.6 N(0, 1)), each row divided by its norm (the seed's E); perplexity 5, barnes_hut
           (the seed's call).  Stores P_exact and P_nn.
seed_exact the same X with method "exact".
swiss      N=300, D=3, make_swiss_roll(noise=0.2, random_state=0); perplexity 30, barnes_hut.
           sklearn's final KL is stable here (spread of kl_runs ~0.6%).
exact150   N=150, D=20, make_blobs(centers=3, random_state=2); perplexity 30, exact; stores P_exact.
swiss3d    N=200, D=3, make_swiss_roll(noise=0.2, random_state=2); n_components=3, perplexity 20,
           barnes_hut (octree).
pnn        N=120, D=10, standard normal (RandomState(5)); perplexity 10; only P_nn and P_exact
           (no embedding).
large      N=1000, D=3, make_swiss_roll(noise=0.2, random_state=3); perplexity 30, barnes_hut.
           For the barnes_hut vs fft comparison.
"""
import json
import pathlib
import sys

import numpy as np
import scipy
import sklearn
from scipy.spatial.distance import squareform
from sklearn.datasets import make_blobs, make_swiss_roll
from sklearn.manifold import TSNE, trustworthiness
from sklearn.manifold._t_sne import _joint_probabilities, _joint_probabilities_nn
from sklearn.metrics import pairwise_distances
from sklearn.neighbors import NearestNeighbors

OUT = pathlib.Path(__file__).resolve().parent / "tsne"
EPS = np.finfo(np.double).eps


def versions():
    return {"python": sys.version.split()[0], "numpy": np.__version__,
            "scipy": scipy.__version__, "sklearn": sklearn.__version__}


def p_exact(X, perplexity):
    d = pairwise_distances(X, metric="euclidean", squared=True)
    return _joint_probabilities(d, perplexity, 0)  # condensed


def p_nn(X, perplexity):
    n = X.shape[0]
    k = min(n - 1, int(3.0 * perplexity + 1))
    knn = NearestNeighbors(algorithm="auto", n_neighbors=k, metric="euclidean")
    knn.fit(X)
    g = knn.kneighbors_graph(mode="distance")
    g.data **= 2
    P = _joint_probabilities_nn(g, perplexity, 0).tocsr()
    P.sort_indices()
    return P


def q_weights(Y):
    k = Y.shape[1]
    dof = max(k - 1, 1)
    d2 = squareform(scipy.spatial.distance.pdist(Y, "sqeuclidean"))
    w = (1.0 + d2 / dof) ** (-(dof + 1.0) / 2.0)
    np.fill_diagonal(w, 0.0)
    return w


def kl_dense(P_condensed, Y):
    w = q_weights(Y)
    q = np.maximum(w / w.sum(), EPS)
    P = squareform(P_condensed)
    mask = ~np.eye(P.shape[0], dtype=bool)
    p = P[mask]
    return float(np.sum(p * np.log(np.maximum(p, EPS) / q[mask])))


def kl_sparse(P, Y):
    w = q_weights(Y)
    z = w.sum()
    P = P.tocoo()
    q = np.maximum(w[P.row, P.col] / z, EPS)
    return float(np.sum(P.data * np.log(np.maximum(P.data, EPS) / q)))


def write_case(name, X, perplexity, method, n_components=2, store_p_exact=False,
               store_p_nn=False, run=True, x_dtype="float64"):
    d = OUT / name
    d.mkdir(parents=True, exist_ok=True)
    np.save(d / "X.npy", X.astype(x_dtype))
    X = X.astype(x_dtype).astype(np.float64)
    meta = {"case": name, "N": int(X.shape[0]), "D": int(X.shape[1]),
            "n_components": n_components, "perplexity": perplexity, "method": method,
            "x_dtype": x_dtype, "init": "pca", "random_state": 0, "versions": versions()}
    pe = p_exact(X, perplexity)
    pn = p_nn(X, perplexity)
    if store_p_exact:
        np.save(d / "P_exact.npy", pe.astype(np.float64))
    if store_p_nn:
        np.save(d / "P_nn_indptr.npy", pn.indptr.astype(np.int64))
        np.save(d / "P_nn_indices.npy", pn.indices.astype(np.int64))
        np.save(d / "P_nn_data.npy", pn.data.astype(np.float64))
    meta["store_p_exact"] = store_p_exact
    meta["store_p_nn"] = store_p_nn
    if run:
        t = TSNE(n_components=n_components, perplexity=perplexity, method=method, init="pca",
                 random_state=0)
        Y = t.fit_transform(X).astype(np.float64)
        np.save(d / "embedding.npy", Y)
        meta["sklearn_kl_divergence"] = float(t.kl_divergence_)
        meta["n_iter"] = int(t.n_iter_)
        meta["learning_rate"] = float(t.learning_rate_)
        meta["kl_exact_dense_p"] = kl_dense(pe, Y)
        meta["kl_exact_used_p"] = kl_dense(pe, Y) if method == "exact" else kl_sparse(pn, Y)
        meta["trustworthiness"] = float(trustworthiness(X, Y, n_neighbors=5))
        runs = [meta["kl_exact_used_p"]]
        trusts = [meta["trustworthiness"]]
        for rs in range(4):
            Yr = TSNE(n_components=n_components, perplexity=perplexity, method=method,
                      init="random", random_state=rs).fit_transform(X).astype(np.float64)
            runs.append(kl_dense(pe, Yr) if method == "exact" else kl_sparse(pn, Yr))
            trusts.append(float(trustworthiness(X, Yr, n_neighbors=5)))
        meta["kl_runs"] = runs
        meta["trust_runs"] = trusts
    (d / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(name, {k: v for k, v in meta.items() if k != "versions"})


def write_replay(name, exag_iter=8, max_iter=12):
    """sklearn's exact optimiser in float64 for a few iterations (see the docstring)."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import _t_sne as T
    d = OUT / name
    meta = json.loads((d / "meta.json").read_text())
    X = np.load(d / "X.npy").astype(np.float64)
    n, k = X.shape[0], meta["n_components"]
    P = p_exact(X, meta["perplexity"])
    Y = PCA(n_components=k, random_state=0).fit_transform(X).astype(np.float64)
    Y = Y / np.std(Y[:, 0]) * 1e-4
    dof = max(k - 1, 1)
    lr = max(n / 12.0 / 4.0, 50.0)
    opt = dict(it=0, n_iter_check=50, min_grad_norm=1e-7, learning_rate=lr, verbose=0,
               kwargs=dict(skip_num_points=0), args=[P * 12.0, dof, n, k],
               n_iter_without_progress=exag_iter, max_iter=exag_iter, momentum=0.5)
    p, _, it = T._gradient_descent(T._kl_divergence, Y.ravel(), **opt)
    opt.update(args=[P, dof, n, k], max_iter=max_iter, it=it + 1, momentum=0.8,
               n_iter_without_progress=300)
    p, _, it = T._gradient_descent(T._kl_divergence, p, **opt)
    np.save(d / "replay.npy", p.reshape(n, k))
    meta["replay"] = {"exaggeration_iter": exag_iter, "max_iter": max_iter}
    (d / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")


def seed_like():
    rs = np.random.RandomState(0)
    sizes = [6, 5, 9]
    rows = []
    for s in sizes:
        c = rs.standard_normal(50)
        rows.append(c + 0.6 * rs.standard_normal((s, 50)))
    E = np.vstack(rows)
    return E / np.linalg.norm(E, axis=1, keepdims=True)


def main():
    E = seed_like()
    write_case("seed", E, 5.0, "barnes_hut", store_p_exact=True, store_p_nn=True)
    write_case("seed_exact", E, 5.0, "exact")
    X, _ = make_swiss_roll(300, noise=0.2, random_state=0)
    write_case("swiss", X, 30.0, "barnes_hut")
    X, _ = make_blobs(n_samples=150, n_features=20, centers=3, random_state=2)
    write_case("exact150", X, 30.0, "exact", store_p_exact=True)
    X, _ = make_swiss_roll(200, noise=0.2, random_state=2)
    write_case("swiss3d", X, 20.0, "barnes_hut", n_components=3)
    write_replay("seed_exact")
    write_replay("exact150")
    X = np.random.RandomState(5).standard_normal((120, 10))
    write_case("pnn", X, 10.0, "barnes_hut", store_p_exact=True, store_p_nn=True, run=False)
    X, _ = make_swiss_roll(1000, noise=0.2, random_state=3)
    write_case("large", X, 30.0, "barnes_hut")

    d = OUT / "trust"
    d.mkdir(parents=True, exist_ok=True)
    rs = np.random.RandomState(7)
    X = rs.standard_normal((100, 10))
    Y = X[:, :2] + 0.5 * rs.standard_normal((100, 2))
    np.save(d / "X.npy", X)
    np.save(d / "Y.npy", Y)
    meta = {"n_neighbors": {str(k): float(trustworthiness(X, Y, n_neighbors=k)) for k in (5, 10)},
            "versions": versions()}
    (d / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    print("trust", meta)


if __name__ == "__main__":
    main()
