#!/usr/bin/env python3
"""Benchmark `actlens pca` against scikit-learn's PCA doing what a user's script does.

Run with the reference venv (see README.md next to this file):

    .venv-ref/bin/python tests/bench/pca/run.py [--quick] [--threads N] [--reps R] ...
    tests/bench/pca/run [same flags]

Data: one synthetic float32 X.npy [N=20000, D=768] (--quick: 4000 x 256) shaped like
residual-stream activations: a decaying spectrum (three well separated top directions, then a
power-law tail) in a random orthonormal basis, plus a large common mean with a few outlier
dimensions.  Configurations (each: actlens vs the sklearn peer, same X.npy):
    k3    actlens -q pca --activations X.npy -k 3 --normalize none -o DIR
          vs np.load + PCA(n_components=3).fit_transform(X) + np.save(components, projections)
    full  the same with -k all / PCA(n_components=None) (all D components)
    l2    actlens ... -k 3 --normalize l2 (the seed's variant) vs
          X / (np.linalg.norm(X, axis=1, keepdims=True) + 1e-8) + PCA(3), as above

Every peer runs in its own child process.  Wall time = spawn to exit of that child (for the
Python peer including interpreter start and imports); peak RSS = ru_maxrss of that child from
os.wait4().  Linux charges a child with the RSS its parent had when it forked, so this
orchestrator imports nothing but the standard library; the floor is measured with /bin/true.
Timings are reported, never asserted.  Nothing here is part of the default test suite.
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
# Measurement, orchestration and formatting helpers shared with the other benchmarks.
sys.path.insert(0, os.path.dirname(HERE))
from benchlib import (Runner, _finish, add_common_args, environment,  # noqa: E402
                      finish_common_args, fmt, pair_table, proc_status_mib,
                      render_text, snapshot_binary, warm_cache, worker_dispatch, write_results)

DEFAULT_WORK = os.path.join(REPO, "tests", "bench", "work", "pca")
DEFAULT_ACTLENS = os.path.join(REPO, "build", "release", "actlens")
FULL = dict(n=20000, d=768)
QUICK = dict(n=4000, d=256)  # N >= 10 D: sklearn picks covariance_eigh, as at full size
# name -> (actlens -k, sklearn n_components, normalize)
CONFIGS = {"k3": ("3", 3, "none"), "full": ("all", None, "none"), "l2": ("3", 3, "l2")}
PEER = "sklearn"
# the target: actlens >= 2x sklearn (end to end) on 2 cores
TARGET_RATIO = 2.0


# =============================================================================================
# Workers (run in child processes: `run.py _worker NAME PARAMS_JSON RESULT_PATH`)
# =============================================================================================
def worker_gen(p):
    """X [N, D] float32 = (Z * sd) @ Q^T + mu: Z standard normal, sd = 12, 8, 6 for the top three
    directions then 3 * i^-0.6 (i = 4..D) + 0.05, Q a random orthonormal basis, mu a large
    common mean (N(2, 3^2) per feature, plus three outlier features at 60, -90, 150)."""
    import numpy as np

    rng = np.random.default_rng(p["seed"])
    N, D = p["n"], p["d"]
    i = np.arange(1, D + 1, dtype=np.float64)
    sd = 3.0 * i ** -0.6 + 0.05
    sd[:3] = [12.0, 8.0, 6.0][:min(3, D)]
    Q, _ = np.linalg.qr(rng.standard_normal((D, D)))
    mu = rng.normal(2.0, 3.0, D)
    out_dims = rng.choice(D, size=min(3, D), replace=False)
    mu[out_dims] += np.array([60.0, -90.0, 150.0])[:len(out_dims)]
    B = (Q * sd).T  # [D, D]: row j = sd_j * q_j
    X = np.empty((N, D), dtype=np.float32)
    for s in range(0, N, 4096):
        e = min(N, s + 4096)
        X[s:e] = rng.standard_normal((e - s, D)) @ B + mu
    os.makedirs(p["dir"], exist_ok=True)
    np.save(os.path.join(p["dir"], "X.npy"), X)
    var = sd ** 2
    return {"N": N, "D": D, "bytes": int(X.nbytes), "top_variances": [float(v) for v in var[:5]],
            "top3_variance_ratio": float(var[:3].sum() / var.sum()),
            "outlier_dims": [int(v) for v in out_dims]}


def worker_sklearn(p):
    """What a user's script does: np.load, (l2-normalise,) PCA(...).fit_transform, np.save."""
    t0 = time.perf_counter()
    import numpy as np
    import sklearn
    from sklearn.decomposition import PCA
    t_imp, rss_imp = time.perf_counter() - t0, proc_status_mib("VmRSS")
    t_start = time.perf_counter()
    X = np.load(p["x"])
    load_s = time.perf_counter() - t_start
    t = time.perf_counter()
    if p["normalize"] == "l2":
        X = X / (np.linalg.norm(X, axis=1, keepdims=True) + 1e-8)
    normalize_s = time.perf_counter() - t
    t = time.perf_counter()
    pca = PCA(n_components=p["k"])
    P = pca.fit_transform(X)
    fit_s = time.perf_counter() - t
    t = time.perf_counter()
    os.makedirs(p["out"], exist_ok=True)
    np.save(os.path.join(p["out"], "components.npy"), pca.components_)
    np.save(os.path.join(p["out"], "projections.npy"), P)
    np.save(os.path.join(p["out"], "explained_variance.npy"), pca.explained_variance_)
    save_s = time.perf_counter() - t
    res = {"core_s": normalize_s + fit_s, "fit_transform_s": fit_s, "normalize_s": normalize_s,
           "load_s": load_s, "save_s": save_s, "in_proc_s": time.perf_counter() - t_start,
           "dtype": str(X.dtype), "svd_solver": pca._fit_svd_solver,
           "n_components": int(pca.n_components_), "sklearn": sklearn.__version__,
           "numpy": np.__version__}
    return _finish(res, t_imp, rss_imp)


def worker_compare(p):
    """actlens components / explained variance vs sklearn's, and both explained variances vs
    float64 eigenvalues of X's covariance (numpy, float64 copy of X)."""
    import numpy as np

    a = np.load(os.path.join(p["actlens_out"], "components.npy")).astype(np.float64)
    s = np.load(os.path.join(p["peer_out"], "components.npy")).astype(np.float64)
    ea = np.load(os.path.join(p["actlens_out"], "explained_variance.npy")).astype(np.float64)
    es = np.load(os.path.join(p["peer_out"], "explained_variance.npy")).astype(np.float64)
    n = min(len(a), len(s))
    cos = np.abs(np.sum(a[:n] * s[:n], axis=1)) / (np.linalg.norm(a[:n], axis=1)
                                                   * np.linalg.norm(s[:n], axis=1))
    rel = np.abs(ea[:n] - es[:n]) / np.maximum(np.abs(es[:n]), 1e-300)
    res = {"shape_actlens": list(a.shape), "shape_peer": list(s.shape),
           "abs_cos": [float(v) for v in cos[:10]], "min_abs_cos_top10": float(cos[:10].min()),
           "min_abs_cos_all": float(cos.min()),
           "explained_variance_max_rel_diff": float(rel.max()),
           "explained_variance_max_rel_diff_top10": float(rel[:10].max()),
           "explained_variance_actlens": [float(v) for v in ea[:3]],
           "explained_variance_peer": [float(v) for v in es[:3]]}
    # both against float64 eigenvalues of the covariance of X (float64 copy, same normalisation)
    X = np.load(p["x"]).astype(np.float64)
    if p["normalize"] == "l2":
        X /= np.linalg.norm(X, axis=1, keepdims=True) + 1e-8
    X -= X.mean(axis=0)
    ref = np.linalg.eigvalsh(X.T @ X / (len(X) - 1))[::-1][:n]
    del X
    res["f64_ref_max_rel_diff_actlens"] = float(np.max(np.abs(ea[:n] - ref) / np.abs(ref)))
    res["f64_ref_max_rel_diff_peer"] = float(np.max(np.abs(es[:n] - ref) / np.abs(ref)))
    pa = os.path.join(p["actlens_out"], "projections.npy")
    ps = os.path.join(p["peer_out"], "projections.npy")
    if n <= 10 and os.path.exists(pa) and os.path.exists(ps):
        # projections up to the sign of each component
        A, S = np.load(pa).astype(np.float64), np.load(ps).astype(np.float64)
        sign = np.sign(np.sum(a[:n] * s[:n], axis=1))
        res["projections_max_abs_diff"] = float(np.abs(A[:, :n] * sign - S[:, :n]).max())
        res["projections_max_abs"] = float(np.abs(S[:, :n]).max())
    return res


WORKERS = {"gen": worker_gen, "sklearn": worker_sklearn, "compare": worker_compare}


# =============================================================================================
# Orchestrator (standard library only: its RSS is inherited by every child's ru_maxrss)
# =============================================================================================
def run_actlens(runner, args, x_path, k, normalize, out_dir, tag):
    cmd = [args.actlens, "-q", "pca", "--activations", x_path, "-k", k, "--normalize", normalize,
           "-o", out_dir]
    if args.solver:
        cmd += ["--solver", args.solver]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    row = runner.command(cmd, tag, out_dir)
    rj = row.pop("run_json", None)
    if rj:
        tm = rj.get("timings", {})
        row["timings"] = tm
        row["core_s"] = tm.get("fit_s", 0.0) + tm.get("project_s", 0.0)
        row["in_proc_s"] = tm.get("total_s")
        row["solver"] = rj.get("options", {}).get("solver")
        # run.json "threads" is the machine's hardware concurrency, not --threads
        row["threads"] = args.threads or "default"
        row["run_json_threads"] = rj.get("threads")
    return row


def report_row(config, peer, row):
    if "error" in row:
        print(f"    {config} {peer}: FAILED rc={row['rc']} (log {row['log']})\n{row['error']}",
              flush=True)
    else:
        print(f"    {config} {peer}: wall {row['wall_s']:.3f} s, core {fmt(row.get('core_s'))} s,"
              f" peak RSS {row['peak_rss_mib']:.1f} MiB", flush=True)


def run_config(runner, args, name, x_path):
    k_cli, k_py, normalize = CONFIGS[name]
    out_a = os.path.join(args.work, f"actlens_out_{name}")
    out_p = os.path.join(args.work, f"{PEER}_out_{name}")
    print(f"  {name}: -k {k_cli}, normalize {normalize}", flush=True)
    warm_cache(x_path)
    rows = {}
    rows["actlens"] = runner.best_of(lambda: run_actlens(runner, args, x_path, k_cli, normalize,
                                                         out_a, f"{name}_actlens"))
    report_row(name, "actlens", rows["actlens"])
    wp = {"x": x_path, "k": k_py, "normalize": normalize, "out": out_p}
    rows[PEER] = runner.best_of(lambda: runner.worker("sklearn", wp, f"{name}_{PEER}"))
    report_row(name, PEER, rows[PEER])
    checks = {}
    if all("error" not in r for r in rows.values()):
        c = runner.worker("compare", {"actlens_out": out_a, "peer_out": out_p, "x": x_path,
                                      "normalize": normalize},
                          f"{name}_compare", wait=False)
        checks = {k: v for k, v in c.items() if k not in ("wall_s", "peak_rss_mib", "user_s",
                                                          "sys_s", "rc", "background_cores",
                                                          "waited_idle_s", "busy_cores_before")}
    return {"k": k_cli, "normalize": normalize, "rows": rows, "checks": checks}


LEGEND = """\
wall       : spawn-to-exit wall clock of the peer's own child process (sklearn: interpreter
             start, imports, np.load, fit_transform and np.save included) - what a user waits for
core       : actlens: run.json fit_s + project_s (its fit streams the file from disk, l2 included);
             sklearn: PCA(...).fit_transform(X) only (config l2: + the numpy l2 normalisation)
RSS        : peak resident set = ru_maxrss of that child (os.wait4); floor {floor:.1f} MiB
ratios     : {peer} / actlens of the same config (> 1: actlens faster / smaller); the headline
             is the wall ratio (target >= {target:g}x on 2 cores)
reps       : best (smallest wall) of {reps} run(s) per peer; all runs in the JSON
bg cores   : average number of cores busy with OTHER processes while actlens / the peer ran;
             well above 0 means the timing is contaminated
precision  : sklearn computes in float32 on float32 input (covariance in float32); actlens
             accumulates in float64, so small differences in the tail are expected"""


def checks_text(results):
    lines = []
    for name, c in results["configs"].items():
        rows, ch = c["rows"], c.get("checks", {})
        a, p = rows.get("actlens", {}), rows.get(PEER, {})
        if ch.get("abs_cos"):
            n = ch["shape_actlens"][0]
            cos = ", ".join(f"{v:.6f}" for v in ch["abs_cos"][:3])
            line = (f"{name}: |cos| actlens vs sklearn components PC1..3 = {cos}"
                    + (f" (min over top 10 {ch['min_abs_cos_top10']:.6f}, over all {n} "
                       f"{ch['min_abs_cos_all']:.4f})" if n > 3 else "")
                    + f"; explained_variance max rel diff {ch['explained_variance_max_rel_diff']:.2e}"
                    + (f" (top 10: {ch['explained_variance_max_rel_diff_top10']:.2e})"
                       if n > 10 else ""))
            if ch.get("f64_ref_max_rel_diff_actlens") is not None:
                line += (f"; vs float64 eigenvalues of the covariance: actlens "
                         f"{ch['f64_ref_max_rel_diff_actlens']:.2e}, sklearn "
                         f"{ch['f64_ref_max_rel_diff_peer']:.2e} (max rel diff)")
            if ch.get("projections_max_abs_diff") is not None:
                line += (f"; projections max abs diff {ch['projections_max_abs_diff']:.2e} "
                         f"(max |value| {ch['projections_max_abs']:.3g})")
            lines.append(line)
        elif ch.get("error"):
            lines.append(f"{name}: compare FAILED: " + ch["error"].strip().splitlines()[-1])
        if "error" not in p and p:
            lines.append(f"{name}: sklearn: imports {p['import_s']:.2f} s, load {p['load_s']:.3f}"
                         f" s, fit_transform {p['fit_transform_s']:.3f} s (svd_solver "
                         f"{p['svd_solver']}, {p['dtype']})"
                         + (f", l2 {p['normalize_s']:.3f} s" if c["normalize"] == "l2" else "")
                         + f", save {p['save_s']:.3f} s; in-proc {p['in_proc_s']:.3f} s; VmHWM "
                           f"{fmt(p.get('vm_hwm_mib'))} MiB; user+sys CPU "
                           f"{p['user_s'] + p['sys_s']:.2f} s")
        if a.get("timings"):
            lines.append(f"{name}: actlens timings (s): "
                         + ", ".join(f"{k} {v:.4f}" for k, v in a["timings"].items())
                         + f"; solver {a.get('solver')}; --threads {a.get('threads')}; user+sys "
                           f"CPU {a['user_s'] + a['sys_s']:.2f} s")
        if a.get("wall_s") and p.get("wall_s") and "error" not in a and "error" not in p:
            r = p["wall_s"] / a["wall_s"]
            rc = p["core_s"] / a["core_s"] if a.get("core_s") else None
            lines.append(f"{name}: actlens is {r:.2f}x sklearn end to end"
                         + (f", {rc:.2f}x in compute" if rc else "")
                         + (f" (target >= {TARGET_RATIO:g}x end to end: "
                            f"{'met' if r >= TARGET_RATIO else 'NOT met'})"
                            if name in ("k3", "full") else ""))
    return "\n".join(lines)


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(ap, DEFAULT_WORK, DEFAULT_ACTLENS)
    ap.add_argument("--configs", default=",".join(CONFIGS),
                    help=f"comma list of configurations (default all: {', '.join(CONFIGS)})")
    ap.add_argument("--solver", default=None,
                    help="actlens --solver (default: actlens' own default, auto)")
    ap.add_argument("--n", type=int, default=None,
                    help=f"rows (default {FULL['n']}, --quick {QUICK['n']})")
    ap.add_argument("--d", type=int, default=None,
                    help=f"features (default {FULL['d']}, --quick {QUICK['d']})")
    args = ap.parse_args(argv)
    finish_common_args(ap, args, REPO)
    args.configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    bad = set(args.configs) - set(CONFIGS)
    if bad:
        ap.error(f"unknown config(s): {sorted(bad)}")
    return args


def main(argv):
    if argv and argv[0] == "_worker":
        return worker_dispatch(WORKERS, argv[1:])
    args = parse_args(argv)
    sizes = dict(QUICK if args.quick else FULL)
    for key in sizes:
        if getattr(args, key) is not None:
            sizes[key] = getattr(args, key)
    snapshot_binary(args)
    runner = Runner(__file__, args, REPO)
    results = environment(args, REPO, runner)
    results.update({"benchmark": "pca", "sizes": sizes, "solver": args.solver,
                    "target_wall_ratio": TARGET_RATIO, "configs": {}})
    print(f"actlens {results['actlens_version']} ({args.actlens_source}, run from a copy), "
          f"{results['nproc']} CPUs ({results['cpu']}), threads={args.threads or 'default'}, "
          f"reps {args.reps}, RSS floor {results['rss_floor_mib']:.1f} MiB", flush=True)
    t0 = time.perf_counter()
    params = {"n": sizes["n"], "d": sizes["d"], "seed": args.seed}
    params["dir"] = os.path.join(args.work, "data_n{n}_d{d}_s{seed}".format(**params))
    print(f"Data: X [{params['n']}, {params['d']}] float32", flush=True)
    m = runner.ensure_generated("gen", params, os.path.join(params["dir"], "X.npy"),
                                os.path.join(params["dir"], "manifest.json"))
    results["data"] = {"params": params, "info": {k: v for k, v in m["info"].items()
                                                  if k in ("N", "D", "bytes", "top_variances",
                                                           "top3_variance_ratio")}}
    x_path = os.path.join(params["dir"], "X.npy")
    for name in args.configs:
        results["configs"][name] = run_config(runner, args, name, x_path)
    results["bench_wall_s"] = time.perf_counter() - t0

    header, rows = pair_table([(n, c["rows"].get("actlens"), c["rows"].get(PEER))
                               for n, c in results["configs"].items()], PEER)
    legend = LEGEND.format(floor=results["rss_floor_mib"], peer=PEER, target=TARGET_RATIO,
                           reps=args.reps)
    checks = checks_text(results)
    print()
    print(render_text(header, rows))
    print()
    print(legend)
    print()
    print(checks)
    desc = [f"X [{sizes['n']}, {sizes['d']}] float32 (decaying spectrum + large common mean); "
            f"configs: " + ", ".join(f"{n} (-k {CONFIGS[n][0]}, --normalize {CONFIGS[n][2]})"
                                     for n in args.configs),
            f"actlens {results['actlens_version']} (git {results['git_commit']}), "
            f"{results['nproc']} CPUs ({results['cpu']}), threads={args.threads or 'default'}"]
    json_path, md_path = write_results(args, "pca", "actlens pca benchmark", desc, header, rows,
                                       legend, checks, results)
    print(f"\nwrote {json_path} and {md_path} (bench {results['bench_wall_s']:.1f} s)")
    failed = [f"{n}/{p}" for n, c in results["configs"].items() for p, r in c["rows"].items()
              if "error" in r]
    if failed:
        print("FAILED peers: " + ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]) or 0)
