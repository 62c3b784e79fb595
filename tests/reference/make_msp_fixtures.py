#!/usr/bin/env python3
"""Reference fixtures for actlens's hidden Markov processes and mixed-state presentation (MSP).

An independent numpy implementation written from the definitions (seed belief-geometry-steering,
epsilon-transformers' Mess3 tensor): T[x][i, j] = P(emit x, go to j | in i); the belief update
eta' = eta T[x] / (eta T[x] 1) from the stationary distribution; the tree of all paths of
lengths 0..depth with non-zero probability, walked breadth-first with symbols in increasing order;
unique beliefs = first appearance of tuple(round(b, 5)); the Bayes-optimal loss per context
length k: H(X_{k+1} | X_1..X_k) = sum over paths of length k of P(path) H(eta_path T[.] 1).

Writes tests/reference/msp/<case>.json. Run: .venv-ref/bin/python tests/reference/make_msp_fixtures.py
"""
import json
import pathlib

import numpy as np
import scipy.linalg

OUT = pathlib.Path(__file__).resolve().parent / "msp"


def rrxor():
    t = np.zeros((2, 5, 5))
    s, z, o, tt, f = range(5)
    t[0, s, z] = t[1, s, o] = 0.5
    t[0, z, f] = t[1, z, tt] = 0.5  # 0 xor 0 = 0 -> F, 0 xor 1 = 1 -> T
    t[0, o, tt] = t[1, o, f] = 0.5
    t[1, tt, s] = 1.0
    t[0, f, s] = 1.0
    return t, ["S", "0", "1", "T", "F"]


def mess3(x=0.15, a=0.6):
    b = (1 - a) / 2
    y = 1 - 2 * x
    ay, bx, by, ax = a * y, b * x, b * y, a * x
    t = np.array([
        [[ay, bx, bx], [ax, by, bx], [ax, bx, by]],
        [[by, ax, bx], [bx, ay, bx], [bx, ax, by]],
        [[by, bx, ax], [bx, by, ax], [bx, bx, ay]],
    ])
    return t, ["A", "B", "C"]


def golden_mean(p=0.5):
    t = np.zeros((2, 2, 2))
    # epsilon-transformers' GoldenMean: no two consecutive 1s
    t[0, 0, 0] = p
    t[1, 0, 1] = 1 - p
    t[0, 1, 0] = 1.0
    return t, ["A", "B"]


def stationary(t):
    m = t.sum(0)
    w, vl = scipy.linalg.eig(m, left=True, right=False)
    k = np.argmin(np.abs(w - 1))
    pi = np.real(vl[:, k])
    return pi / pi.sum()


def entropy(p):
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def tree(t, depth):
    pi = stationary(t)
    levels = [[((), pi, 1.0)]]
    for _ in range(depth):
        nxt = []
        for path, b, pr in levels[-1]:
            for x in range(t.shape[0]):
                v = b @ t[x]
                z = v.sum()
                if z > 0:
                    nxt.append((path + (x,), v / z, pr * z))
        levels.append(nxt)
    return pi, levels


def case(name, t, states, depth, n_ctx, unifilar):
    pi, levels = tree(t, depth)
    nodes = [n for lev in levels for n in lev]
    index, uniq = {}, []
    for _, b, _ in nodes:
        key = tuple(round(float(v), 5) for v in b)
        if key not in index:
            index[key] = len(uniq)
            uniq.append(b)
    row_sums = t.sum(2)  # [x, i]: P(emit x | i)
    per_ctx = []
    for k in range(n_ctx + 1):
        per_ctx.append(sum(pr * entropy(row_sums @ b) for _, b, pr in levels[k]))
    if unifilar:
        h = sum(pi[i] * entropy(t[:, i, :].ravel()) for i in range(len(pi)))
    else:
        h = per_ctx[n_ctx]
    inputs = levels[n_ctx]
    names = []
    for i, b in enumerate(uniq):
        r = np.round(b, 5)
        hot = np.flatnonzero(r)
        names.append(f"State {states[hot[0]]}" if len(hot) == 1 and r[hot[0]] == 1 else f"belief {i}")
    first_inputs = [list(p) for p, _, _ in inputs[:5]]
    first_idx = [[index[tuple(round(float(v), 5) for v in tree_belief)]
                  for tree_belief in [dict_b[p[:j + 1]] for j in range(n_ctx)]]
                 for p in [tuple(q) for q in first_inputs]
                 for dict_b in [{pp: bb for pp, bb, _ in nodes}]]
    out = {
        "process": name,
        "depth": depth,
        "n_ctx": n_ctx,
        "n_tree_beliefs": len(nodes),
        "n_unique": len(uniq),
        "n_inputs": len(inputs),
        "stationary": pi.tolist(),
        "entropy_rate": h,
        "entropy_rate_exact": unifilar,
        "bayes_per_context": per_ctx,
        "bayes_mean": float(np.mean(per_ctx[1:])),
        "unique_beliefs_bfs": [b.tolist() for b in uniq],
        "unique_beliefs_sorted": sorted(b.tolist() for b in uniq),
        "unique_names": names,
        "first_inputs": first_inputs,
        "first_input_belief_indices": first_idx,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(out, indent=1) + "\n")
    print(name, out["n_tree_beliefs"], out["n_unique"], out["n_inputs"], h, out["bayes_mean"])


if __name__ == "__main__":
    case("rrxor", *rrxor(), depth=11, n_ctx=10, unifilar=True)
    case("mess3", *mess3(), depth=6, n_ctx=6, unifilar=False)
    case("golden_mean", *golden_mean(), depth=8, n_ctx=8, unifilar=True)
