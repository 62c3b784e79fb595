#!/usr/bin/env python3
"""Benchmark `actlens ged` against the GED seed's numpy/scipy/sklearn loop over layers.

Run with the reference venv (see README.md next to this file):

    .venv-ref/bin/python tests/bench/ged/run.py [--quick] [--threads N] [--reps R] ...
    tests/bench/ged/run [same flags]

Data: synthetic float32 train.npy [N=100, L=12, D=3072] (50 "him" rows, then 50 "her") and
test.npy [M=100, 12, 3072] (50 / 50), with train_labels.csv / test_labels.csv ("label,text");
--quick: N=60, M=40, L=3, D=512.  Per layer: low-rank shared factors with a decaying spectrum, a
class-mean difference and class-specific extra variance along one direction per class (the
construction of tests/reference/make_ged_fixtures.py's synthetic_wide, at this size).  Peers:
    seed     np.load of both files and csv of the labels, then tests/reference/seed_ged.py's
             run_seed([train[:, l, :] for l], a_idx, b_idx, [test[:, l, :] for l], ...) (the
             seed's Exercises 3-5 verbatim: sklearn PCA, np.cov, eig-based shrinkage,
             scipy.linalg.eigh, t-tests, pearsonr), np.save of ged_results
    actlens  actlens -q ged --activations train.npy --labels train_labels.csv --test test.npy
                     --test-labels test_labels.csv -o DIR

Every peer runs in its own child process.  Wall time = spawn to exit of that child (for the
Python peer including interpreter start and imports); peak RSS = ru_maxrss of that child from
os.wait4().  Linux charges a child with the RSS its parent had when it forked, so this
orchestrator imports nothing but the standard library; the floor is measured with /bin/true.
Timings are reported, never asserted.  Nothing here is part of the default test suite.
"""

import argparse
import csv
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
# Measurement, orchestration and formatting helpers shared with the other benchmarks.
sys.path.insert(0, os.path.dirname(HERE))
from benchlib import (Runner, _finish, add_common_args, environment,  # noqa: E402
                      finish_common_args, fmt, pair_table, proc_status_mib, rel_diff,
                      render_text, snapshot_binary, warm_cache, worker_dispatch, write_results)

REFERENCE_DIR = os.path.join(REPO, "tests", "reference")
DEFAULT_WORK = os.path.join(REPO, "tests", "bench", "work", "ged")
DEFAULT_ACTLENS = os.path.join(REPO, "build", "release", "actlens")
FULL = dict(n=100, m=100, n_layers=12, d=3072)
QUICK = dict(n=60, m=40, n_layers=3, d=512)
CLASSES = ("him", "her")
PEER = "seed"
# the target: actlens >= 3x the seed's numpy/scipy loop
TARGET_RATIO = 3.0
# ged_layers.csv column -> (row, col) of the seed's ged_results [L, 7, 2]
COLUMNS = {
    "train_abs_t_a_gt_b": (0, 0), "train_p_a_gt_b": (0, 1),
    "train_abs_t_b_gt_a": (1, 0), "train_p_b_gt_a": (1, 1),
    "pattern_abs_r": (2, 0), "pattern_p": (2, 1),
    "test_abs_t_a_gt_b": (3, 0), "test_p_a_gt_b": (3, 1),
    "test_abs_t_b_gt_a": (4, 0), "test_p_b_gt_a": (4, 1),
    "top_eigenvalue_a_gt_b": (5, 0), "top_eigenvalue_b_gt_a": (5, 1),
    "n_components": (6, 0),
}
GROUPS = {
    "abs_t": ["train_abs_t_a_gt_b", "train_abs_t_b_gt_a", "test_abs_t_a_gt_b",
              "test_abs_t_b_gt_a"],
    "t_test_p": ["train_p_a_gt_b", "train_p_b_gt_a", "test_p_a_gt_b", "test_p_b_gt_a"],
    "abs_r": ["pattern_abs_r"],
    "r_p": ["pattern_p"],
    "top_eigenvalues": ["top_eigenvalue_a_gt_b", "top_eigenvalue_b_gt_a"],
}


# =============================================================================================
# Helpers usable in both the orchestrator and the workers (stdlib only)
# =============================================================================================
def read_labels(path):
    with open(path, newline="", encoding="utf-8") as f:
        return [r["label"] for r in csv.DictReader(f)]


def write_labels(path, labels):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["label", "text"])
        w.writerows([lab, f"sample {i}"] for i, lab in enumerate(labels))


# =============================================================================================
# Workers (run in child processes: `run.py _worker NAME PARAMS_JSON RESULT_PATH`)
# =============================================================================================
def worker_gen(p):
    """make_ged_fixtures.synthetic at benchmark size.  Per layer l (t = l / (L - 1)): K = 40
    latent factors along random orthonormal directions with variances 10 * decay^k (decay 0.62 ..
    0.85 over the layers), a class-mean difference +-(0.4 + 1.6 t) / 2 * dir, extra variance
    (0.5 + 1.2 t)^2 along u_a for "him" only and (0.3 + 0.8 t)^2 along u_b for "her" only,
    N(0, 0.01^2) noise and a per-feature offset N(0.3, 0.5^2)."""
    import numpy as np

    rng = np.random.default_rng(p["seed"])
    N, M, L, D = p["n"], p["m"], p["n_layers"], p["d"]
    n_a, m_a = N // 2, M // 2
    K = min(40, D)
    train = np.empty((N, L, D), dtype=np.float32)
    test = np.empty((M, L, D), dtype=np.float32)

    def unit():
        v = rng.standard_normal(D)
        return v / np.linalg.norm(v)

    decays = np.linspace(0.62, 0.85, L)
    n_keep = []
    for layer, decay in enumerate(decays):
        t = layer / max(L - 1, 1)
        q, _ = np.linalg.qr(rng.standard_normal((D, K)))
        sd = np.sqrt(10 * decay ** np.arange(K))
        d = unit() + 0.5 * unit()
        u_a = unit() + d / np.linalg.norm(d)
        u_a /= np.linalg.norm(u_a)
        u_b = unit()
        offset = 0.3 + 0.5 * rng.standard_normal(D)
        shift = (0.4 + 1.6 * t) / 2
        s_a, s_b = 0.5 + 1.2 * t, 0.3 + 0.8 * t

        def draw(n, sign, extra_sd, u):
            x = (rng.standard_normal((n, K)) * sd) @ q.T
            x += sign * shift * d + extra_sd * rng.standard_normal((n, 1)) * u
            return x + 0.01 * rng.standard_normal((n, D)) + offset

        train[:n_a, layer] = draw(n_a, +1, s_a, u_a)
        train[n_a:, layer] = draw(N - n_a, -1, s_b, u_b)
        test[:m_a, layer] = draw(m_a, +1, s_a, u_a)
        test[m_a:, layer] = draw(M - m_a, -1, s_b, u_b)
        # the seed's component count (for the manifest): first index with cumulative % > 99
        x = train[:, layer].astype(np.float64)
        s2 = np.linalg.svd(x - x.mean(0), compute_uv=False) ** 2
        n_keep.append(int(np.where(np.cumsum(100 * s2 / s2.sum()) > 99)[0][0]))
    os.makedirs(p["dir"], exist_ok=True)
    np.save(os.path.join(p["dir"], "train.npy"), train)
    np.save(os.path.join(p["dir"], "test.npy"), test)
    write_labels(os.path.join(p["dir"], "train_labels.csv"),
                 [CLASSES[0]] * n_a + [CLASSES[1]] * (N - n_a))
    write_labels(os.path.join(p["dir"], "test_labels.csv"),
                 [CLASSES[0]] * m_a + [CLASSES[1]] * (M - m_a))
    return {"N": N, "M": M, "L": L, "D": D, "n_components": n_keep,
            "bytes": int(train.nbytes + test.nbytes)}


def worker_seed(p):
    """np.load + the seed's loop (tests/reference/seed_ged.run_seed) + np.save(ged_results)."""
    t0 = time.perf_counter()
    import numpy as np
    import scipy
    import sklearn
    sys.path.insert(0, REFERENCE_DIR)
    import seed_ged  # the seed's Exercises 3-5 (imports scipy.linalg, scipy.stats, sklearn PCA)
    t_imp, rss_imp = time.perf_counter() - t0, proc_status_mib("VmRSS")
    t_start = time.perf_counter()
    train = np.load(p["train"])
    test = np.load(p["test"])
    labels, tlabels = read_labels(p["train_labels"]), read_labels(p["test_labels"])
    classes = list(dict.fromkeys(labels))
    a_idx = np.array([i for i, c in enumerate(labels) if c == classes[0]])
    b_idx = np.array([i for i, c in enumerate(labels) if c == classes[1]])
    ta_idx = np.array([i for i, c in enumerate(tlabels) if c == classes[0]])
    tb_idx = np.array([i for i, c in enumerate(tlabels) if c == classes[1]])
    L = train.shape[1]
    load_s = time.perf_counter() - t_start
    t = time.perf_counter()
    res = seed_ged.run_seed([train[:, layer, :] for layer in range(L)], a_idx, b_idx,
                            [test[:, layer, :] for layer in range(L)], ta_idx, tb_idx)
    core_s = time.perf_counter() - t
    t = time.perf_counter()
    os.makedirs(p["out"], exist_ok=True)
    np.save(os.path.join(p["out"], "ged_results.npy"), res["ged_results"])
    save_s = time.perf_counter() - t
    out = {"core_s": core_s, "load_s": load_s, "save_s": save_s,
           "in_proc_s": time.perf_counter() - t_start, "classes": classes,
           "ged_results": res["ged_results"].tolist(), "pca_solver": sorted(set(res["pca_solver"])),
           "numpy": np.__version__, "scipy": scipy.__version__, "sklearn": sklearn.__version__}
    return _finish(out, t_imp, rss_imp)


WORKERS = {"gen": worker_gen, "seed": worker_seed}


# =============================================================================================
# Orchestrator (standard library only: its RSS is inherited by every child's ru_maxrss)
# =============================================================================================
def run_actlens(runner, args, files, out_dir, tag):
    cmd = [args.actlens, "-q", "ged", "--activations", files["train"], "--labels",
           files["train_labels"], "--test", files["test"], "--test-labels", files["test_labels"],
           "-o", out_dir]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    row = runner.command(cmd, tag, out_dir)
    rj = row.pop("run_json", None)
    if rj:
        tm = rj.get("timings", {})
        row["timings"] = tm
        row["core_s"] = tm.get("analyse_s")
        row["in_proc_s"] = tm.get("total_s")
        # run.json "threads" is the machine's hardware concurrency, not --threads
        row["threads"] = args.threads or "default"
        row["run_json_threads"] = rj.get("threads")
    return row


def report_row(peer, row):
    if "error" in row:
        print(f"    {peer}: FAILED rc={row['rc']} (log {row['log']})\n{row['error']}", flush=True)
    else:
        print(f"    {peer}: wall {row['wall_s']:.3f} s, core {fmt(row.get('core_s'))} s, "
              f"peak RSS {row['peak_rss_mib']:.1f} MiB", flush=True)


def compare(csv_path, ged_results):
    """actlens ged_layers.csv vs the seed's ged_results: max relative difference per group,
    n_components equality."""
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    if len(rows) != len(ged_results):
        return {"error": f"{len(rows)} layers in ged_layers.csv, {len(ged_results)} in the seed's"}
    out = {"n_layers": len(rows)}
    for group, cols in GROUPS.items():
        a = [float(r[c]) for r in rows for c in cols]
        s = [ged_results[i][COLUMNS[c][0]][COLUMNS[c][1]] for i in range(len(rows)) for c in cols]
        out[group + "_max_rel_diff"] = rel_diff(a, s)
        if group == "t_test_p":
            out["t_test_p_min"] = min(s)
    na = [int(r["n_components"]) for r in rows]
    ns = [int(round(g[6][0])) for g in ged_results]
    out["n_components_equal"] = na == ns
    out["n_components_actlens"] = na
    out["n_components_seed"] = ns
    return out


LEGEND = """\
wall       : spawn-to-exit wall clock of the peer's own child process (seed: interpreter start,
             imports of numpy / scipy / sklearn, np.load, the loop and np.save included)
core       : actlens: run.json analyse_s (the per-layer loop, incl. reading each layer);
             seed: seed_ged.run_seed(...) over all layers only
RSS        : peak resident set = ru_maxrss of that child (os.wait4); floor {floor:.1f} MiB
ratios     : {peer} / actlens (> 1: actlens faster / smaller); target >= {target:g}x
reps       : best (smallest wall) of {reps} run(s) per peer; all runs in the JSON
bg cores   : average number of cores busy with OTHER processes while actlens / the peer ran;
             well above 0 means the timing is contaminated"""


def checks_text(results):
    lines = []
    rows, c = results["case"]["rows"], results["case"].get("checks", {})
    a, s = rows.get("actlens", {}), rows.get(PEER, {})
    if c.get("error"):
        lines.append("compare FAILED: " + c["error"])
    elif c:
        def e(v):
            return "-" if v is None else f"{v:.2e}"
        lines.append(f"actlens ged_layers.csv vs the seed's ged_results ({c['n_layers']} layers): "
                     "max rel diff " + ", ".join(f"{g} {e(c.get(g + '_max_rel_diff'))}"
                                                 for g in GROUPS)
                     + f"; n_components equal: {c['n_components_equal']}"
                     + f" (smallest t-test p {c['t_test_p_min']:.2e})")
        lines.append(f"   n_components actlens {c['n_components_actlens']}")
        if not c["n_components_equal"]:
            lines.append(f"   n_components seed    {c['n_components_seed']}")
    if s and "error" not in s:
        lines.append(f"seed: imports {s['import_s']:.2f} s, load {s['load_s']:.3f} s, loop "
                     f"{s['core_s']:.3f} s ({s['core_s'] / results['sizes']['n_layers']:.4f} s / "
                     f"layer; PCA solver {', '.join(s['pca_solver'])}), save {s['save_s']:.4f} s; "
                     f"in-proc {s['in_proc_s']:.3f} s; VmHWM {fmt(s.get('vm_hwm_mib'))} MiB; "
                     f"user+sys CPU {s['user_s'] + s['sys_s']:.2f} s")
    if a.get("timings"):
        lines.append("actlens timings (s): "
                     + ", ".join(f"{k} {v:.4f}" for k, v in a["timings"].items())
                     + f"; --threads {a.get('threads')}; user+sys CPU "
                       f"{a['user_s'] + a['sys_s']:.2f} s")
    if a.get("wall_s") and s.get("wall_s") and "error" not in a and "error" not in s:
        r = s["wall_s"] / a["wall_s"]
        rc = s["core_s"] / a["core_s"] if a.get("core_s") else None
        lines.append(f"actlens is {r:.2f}x the seed end to end"
                     + (f", {rc:.2f}x in the loop" if rc else "")
                     + f"; target >= {TARGET_RATIO:g}x: end to end "
                       f"{'met' if r >= TARGET_RATIO else 'NOT met'}"
                     + (f", loop {'met' if rc >= TARGET_RATIO else 'NOT met'}" if rc else ""))
    return "\n".join(lines)


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(ap, DEFAULT_WORK, DEFAULT_ACTLENS)
    for key, val in FULL.items():
        ap.add_argument("--" + key.replace("_", "-"), type=int, default=None,
                        help=f"size override (default {val}, --quick {QUICK[key]}); n / m = train"
                             " / test rows, split in halves" if key in ("n", "m") else
                             f"size override (default {val}, --quick {QUICK[key]})")
    args = ap.parse_args(argv)
    finish_common_args(ap, args, REPO)
    return args


def main(argv):
    if argv and argv[0] == "_worker":
        return worker_dispatch(WORKERS, argv[1:])
    args = parse_args(argv)
    sizes = dict(QUICK if args.quick else FULL)
    for key in sizes:
        if getattr(args, key) is not None:
            sizes[key] = getattr(args, key)
    if sizes["n"] < 8 or sizes["m"] < 4 or sizes["n_layers"] < 1 or sizes["d"] < 2:
        raise SystemExit("sizes too small: need --n >= 8, --m >= 4, --n-layers >= 1, --d >= 2")
    snapshot_binary(args)
    runner = Runner(__file__, args, REPO)
    results = environment(args, REPO, runner)
    results.update({"benchmark": "ged", "sizes": sizes, "target_ratio": TARGET_RATIO})
    print(f"actlens {results['actlens_version']} ({args.actlens_source}, run from a copy), "
          f"{results['nproc']} CPUs ({results['cpu']}), threads={args.threads or 'default'}, "
          f"reps {args.reps}, RSS floor {results['rss_floor_mib']:.1f} MiB", flush=True)
    t0 = time.perf_counter()
    params = dict(sizes, seed=args.seed)
    params["dir"] = os.path.join(args.work,
                                 "data_n{n}_m{m}_l{n_layers}_d{d}_s{seed}".format(**params))
    print(f"Data: train [{sizes['n']}, {sizes['n_layers']}, {sizes['d']}], test [{sizes['m']}, "
          f"{sizes['n_layers']}, {sizes['d']}] float32, classes {CLASSES[0]} / {CLASSES[1]}",
          flush=True)
    m = runner.ensure_generated("gen", params, os.path.join(params["dir"], "test_labels.csv"),
                                os.path.join(params["dir"], "manifest.json"))
    results["data"] = {"params": params, "info": {k: v for k, v in m["info"].items()
                                                  if k in ("N", "M", "L", "D", "n_components",
                                                           "bytes")}}
    files = {k: os.path.join(params["dir"], k + ext) for k, ext in (
        ("train", ".npy"), ("test", ".npy"), ("train_labels", ".csv"), ("test_labels", ".csv"))}
    warm_cache(params["dir"])
    out_a = os.path.join(args.work, "actlens_out")
    rows = {}
    print("  running actlens ...", flush=True)
    rows["actlens"] = runner.best_of(lambda: run_actlens(runner, args, files, out_a, "actlens"))
    report_row("actlens", rows["actlens"])
    print(f"  running {PEER} ...", flush=True)
    wp = dict(files, out=os.path.join(args.work, "seed_out"))
    rows[PEER] = runner.best_of(lambda: runner.worker("seed", wp, PEER))
    report_row(PEER, rows[PEER])
    checks = {}
    if all("error" not in r for r in rows.values()):
        checks = compare(os.path.join(out_a, "ged_layers.csv"), rows[PEER]["ged_results"])
    results["case"] = {"rows": rows, "checks": checks}
    results["bench_wall_s"] = time.perf_counter() - t0

    header, trows = pair_table([("ged", rows.get("actlens"), rows.get(PEER))], PEER)
    legend = LEGEND.format(floor=results["rss_floor_mib"], peer=PEER, target=TARGET_RATIO,
                           reps=args.reps)
    text = checks_text(results)
    print()
    print(render_text(header, trows))
    print()
    print(legend)
    print()
    print(text)
    desc = [f"train [{sizes['n']}, {sizes['n_layers']}, {sizes['d']}] + test [{sizes['m']}, "
            f"{sizes['n_layers']}, {sizes['d']}] float32, two classes (halves)",
            f"actlens {results['actlens_version']} (git {results['git_commit']}), "
            f"{results['nproc']} CPUs ({results['cpu']}), threads={args.threads or 'default'}"]
    json_path, md_path = write_results(args, "ged", "actlens ged benchmark", desc, header, trows,
                                       legend, text, results)
    print(f"\nwrote {json_path} and {md_path} (bench {results['bench_wall_s']:.1f} s)")
    failed = [p for p, r in rows.items() if "error" in r]
    if failed:
        print("FAILED peers: " + ", ".join(failed), file=sys.stderr)
        return 1
    if checks.get("error"):
        print("comparison FAILED", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]) or 0)
