#!/usr/bin/env python3
"""Generate reference outputs for actlens' `rsa` analysis (and the rank correlations behind it).

Run with the reference venv (scripts/reference-env):
    .venv-ref/bin/python tests/reference/make_rsa_fixtures.py

Writes tests/reference/rsa/<case>/.  Each RSA case holds two embedding spaces of the same N items
and what the RSA seed (rsa-glove-tsne-dbscan) computes from them, verbatim:

  A.npy, B.npy          float64 [N, D_a], [N, D_b]    the two spaces
  words.txt             one item name per line
  groups.csv            header "word,group" (only cases with groups)
  cos_a.npy, cos_b.npy  float64 [N, N]   E / np.linalg.norm(E, axis=1, keepdims=True), then En @ En.T
  upper_a.npy, upper_b.npy  float64 [N(N-1)/2]  cos[np.triu_indices_from(cos, k=1)]
  expected.json         {"pearson": {"r": np.corrcoef(ua, ub)[0, 1], "p": stats.pearsonr p},
                         "spearman": {"r", "p"} (stats.spearmanr), "kendall": {"r", "p"}
                         (stats.kendalltau, tau-b, method auto),
                         "selectivity": {"a": {...}, "b": {...}} (cases with groups):
                           index, numerator, denominator, within [G], between [[G x G]]
                         "permutation": {"exact_p": ...} (small cases: every one of the N!
                           relabellings of B enumerated; p = #{r_perm >= r} / N!)}

Selectivity: the seed's code verbatim for the 3-group seed case (group numbers 1..3,
groupmask = np.triu(group.T @ group, 1), within = masks 1, 4, 9, between = masks 2, 3, 6); for
other cases the generalisation actlens implements, written independently here with boolean masks:
within_g = mean of cos[i, j], i < j, both in g; between_ab = mean over i < j with {g_i, g_j} =
{a, b}; index = mean_g(within_g) / mean_{a<b}(between_ab).

tests/reference/rsa/bundled/expected.json: the same numbers for the README example, the seed's
20 words read from the bundled synthetic GloVe files tests/data/embeddings/small{50,300}.txt (values
parsed as float32, as gensim stores them, then float64), groups 6/5/9: keys "pearson", "spearman",
"kendall", "selectivity" {"small50": {...}, "small300": {...}} (the seed's code verbatim).

tests/reference/rsa/stats/: vectors x_<case>.npy, y_<case>.npy and expected.json with
spearmanr / kendalltau / pearsonr (r, p) for continuous data, tied data, and a small n (Kendall's
exact null distribution).
"""
import itertools
import json
import math
from pathlib import Path

import numpy as np
import scipy
from scipy import stats

OUT = Path(__file__).resolve().parent / "rsa"


def seed_selectivity(cs, group_numbers):
    # The seed's Exercise 3, verbatim except for the matrix name.
    group = np.array([group_numbers])
    groupmask = np.triu(group.T @ group, 1)
    specnum = (cs[groupmask == 1].mean() + cs[groupmask == 4].mean() + cs[groupmask == 9].mean()) / 3
    specden = (cs[groupmask == 2].mean() + cs[groupmask == 3].mean() + cs[groupmask == 6].mean()) / 3
    return specnum, specden, specnum / specden


def general_selectivity(cs, groups):
    groups = np.asarray(groups)
    g_count = groups.max() + 1
    n = len(groups)
    iu = np.triu_indices(n, k=1)
    gi, gj = groups[iu[0]], groups[iu[1]]
    vals = cs[iu]
    between = np.zeros((g_count, g_count))
    for a in range(g_count):
        for b in range(a, g_count):
            mask = ((gi == a) & (gj == b)) | ((gi == b) & (gj == a))
            between[a, b] = between[b, a] = vals[mask].mean()
    within = np.diag(between).copy()
    pairs = [between[a, b] for a in range(g_count) for b in range(a + 1, g_count)]
    num, den = within.mean(), np.mean(pairs)
    return {"index": num / den, "numerator": num, "denominator": den,
            "within": within.tolist(), "between": between.tolist()}


def cosine(e):
    en = e / np.linalg.norm(e, axis=1, keepdims=True)
    return en @ en.T


def correlations(ua, ub):
    return {
        "pearson": {"r": float(np.corrcoef(ua, ub)[0, 1]), "p": float(stats.pearsonr(ua, ub).pvalue)},
        "spearman": {"r": float(stats.spearmanr(ua, ub).statistic),
                     "p": float(stats.spearmanr(ua, ub).pvalue)},
        "kendall": {"r": float(stats.kendalltau(ua, ub).statistic),
                    "p": float(stats.kendalltau(ua, ub).pvalue)},
    }


def clustered(rng, sizes, dim, spread):
    # A common direction shared by every item (as word embeddings have), so between-group
    # similarities are positive like the seed's, plus one centre per group and noise.
    common = 1.5 * rng.normal(size=dim)
    centres = common + rng.normal(size=(len(sizes), dim))
    rows = [centres[g] + spread * rng.normal(size=dim) for g, s in enumerate(sizes) for _ in range(s)]
    return np.array(rows)


def write_case(name, a, b, words, groups=None, seed_groups=None, exact_perm=False):
    d = OUT / name
    d.mkdir(parents=True, exist_ok=True)
    np.save(d / "A.npy", a)
    np.save(d / "B.npy", b)
    (d / "words.txt").write_text("".join(w + "\n" for w in words))
    ca, cb = cosine(a), cosine(b)
    np.save(d / "cos_a.npy", ca)
    np.save(d / "cos_b.npy", cb)
    ua = ca[np.triu_indices_from(ca, k=1)]
    ub = cb[np.triu_indices_from(cb, k=1)]
    np.save(d / "upper_a.npy", ua)
    np.save(d / "upper_b.npy", ub)
    exp = correlations(ua, ub)
    exp["versions"] = {"numpy": np.__version__, "scipy": scipy.__version__}
    if groups is not None:
        names = sorted(set(groups), key=groups.index)  # first-appearance order
        (d / "groups.csv").write_text("word,group\n" + "".join(
            f"{w},{g}\n" for w, g in zip(words, groups)))
        idx = [names.index(g) for g in groups]
        exp["selectivity"] = {"group_order": names}
        for key, cs in (("a", ca), ("b", cb)):
            sel = general_selectivity(cs, idx)
            if seed_groups is not None:
                num, den, index = seed_selectivity(cs, seed_groups)
                sel["seed"] = {"numerator": num, "denominator": den, "index": index}
            exp["selectivity"][key] = sel
    if exact_perm:
        n = len(words)
        r0 = exp["pearson"]["r"]
        count, total = 0, 0
        iu = np.triu_indices(n, k=1)
        for perm in itertools.permutations(range(n)):
            p = np.array(perm)
            r = np.corrcoef(ua, cb[p][:, p][iu])[0, 1]
            count += r >= r0 - 1e-12
            total += 1
        exp["permutation"] = {"exact_p": count / total, "n_permutations": total}
    (d / "expected.json").write_text(json.dumps(exp, indent=1))


def stats_cases(rng):
    d = OUT / "stats"
    d.mkdir(parents=True, exist_ok=True)
    cases = {
        "continuous": (rng.normal(size=300), None),
        "ties": (np.round(rng.normal(size=120), 1), "round"),
        "small": (rng.normal(size=12), None),       # Kendall's exact null (n <= 33, no ties)
        "exact33": (rng.normal(size=33), None),
    }
    exp = {}
    for name, (x, kind) in cases.items():
        y = 0.5 * x + rng.normal(size=x.size)
        if kind == "round":
            y = np.round(y, 1)
        np.save(d / f"x_{name}.npy", x)
        np.save(d / f"y_{name}.npy", y)
        exp[name] = {
            "pearson": list(map(float, stats.pearsonr(x, y))),
            "spearman": list(map(float, stats.spearmanr(x, y))),
            "kendall": list(map(float, stats.kendalltau(x, y))),
            "rankdata_x": stats.rankdata(x).tolist(),
        }
    (d / "expected.json").write_text(json.dumps(exp, indent=1))


def read_glove(path, words):
    rows = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split(" ")
            if parts[0] in words:
                rows[parts[0]] = np.array(parts[1:], dtype=np.float32).astype(np.float64)
    return np.array([rows[w] for w in words])


def bundled_case(words, seed_groups):
    data = Path(__file__).resolve().parent.parent / "data" / "embeddings"
    e50 = read_glove(data / "small50.txt", words)
    e300 = read_glove(data / "small300.txt", words)
    c50, c300 = cosine(e50), cosine(e300)
    u50 = c50[np.triu_indices_from(c50, k=1)]
    u300 = c300[np.triu_indices_from(c300, k=1)]
    exp = correlations(u50, u300)
    exp["selectivity"] = {}
    for key, cs in (("small50", c50), ("small300", c300)):
        num, den, index = seed_selectivity(cs, seed_groups)
        exp["selectivity"][key] = {"numerator": num, "denominator": den, "index": index}
    d = OUT / "bundled"
    d.mkdir(parents=True, exist_ok=True)
    (d / "expected.json").write_text(json.dumps(exp, indent=1))


def main():
    rng = np.random.default_rng(20261130)
    seed_words = ["space", "spaceship", "planet", "moon", "star", "galaxy",
                  "chair", "table", "couch", "stool", "floor",
                  "apple", "banana", "pear", "kiwi", "orange", "peach", "watermelon", "starfruit",
                  "date"]
    seed_groups = [1] * 6 + [2] * 5 + [3] * 9
    group_names = ["space"] * 6 + ["furniture"] * 5 + ["fruit"] * 9
    a = clustered(rng, [6, 5, 9], 50, 1.2)
    b = clustered(rng, [6, 5, 9], 300, 2.0)
    write_case("seed20", a, b, seed_words, group_names, seed_groups)
    bundled_case(seed_words, seed_groups)
    # four interleaved groups of unequal size (the generalisation), different dimensions
    g4 = [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 3, 1, 3, 0]
    centres_a, centres_b = rng.normal(size=(4, 16)), rng.normal(size=(4, 40))
    a = np.array([centres_a[g] + 0.8 * rng.normal(size=16) for g in g4])
    b = np.array([centres_b[g] + 1.5 * rng.normal(size=40) for g in g4])
    write_case("four_groups", a, b, [f"w{i}" for i in range(len(g4))], [f"g{g}" for g in g4])
    # small N: every permutation enumerated for the permutation test
    a = rng.normal(size=(7, 5))
    b = a @ rng.normal(size=(5, 9)) + 4.0 * rng.normal(size=(7, 9))
    write_case("small7", a, b, [f"item{i}" for i in range(7)], exact_perm=True)
    stats_cases(rng)


if __name__ == "__main__":
    main()
