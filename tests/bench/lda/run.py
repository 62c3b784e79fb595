#!/usr/bin/env python3
"""Benchmark `actlens lda` against the seed notebook's LDA (vectorised), sklearn and a GEMM yardstick.

Run with the reference venv (see README.md next to this file):

    .venv-ref/bin/python tests/bench/lda/run.py [--quick] [--cases A,B] [--threads N] ...
    tests/bench/lda/run [same flags]

Case A (plain arrays X.npy / labels.npy), peers:
    gemm        one float32 X^T X in numpy (Xt = X.T; Xt @ X): the yardstick
    seed-numpy  the seed's find_role_variance_subspace, vectorised (StandardScaler, S_B from class
                means, S_T = Xc^T Xc in float64, eig(pinv(S_T) @ S_B), sort, top k)
    sklearn     LinearDiscriminantAnalysis(solver='eigen') on StandardScaler-scaled data
    actlens     actlens -q lda --activations X.npy --labels labels.npy --min-samples 1 -k K
                        --scaler standard --out DIR
Case B (seed on-disk layout: response_activations/{role}.pt + extract_scores/{role}.json), peers:
    torch.load+numpy  the seed's loading cells (torch.load every file, scores 2/3) +
                      prepare_class_data(layer) + vectorised seed LDA with StandardScaler
    actlens           actlens -q lda --data DIR --layer L -k K --out DIR2

Every peer runs in its own child process.  Wall time = spawn to exit of that child; peak RSS =
ru_maxrss of that child from os.wait4().  Linux charges a child with the RSS its parent had when
it forked, so this orchestrator deliberately imports nothing but the standard library (numpy,
torch, ... are only imported inside the worker children); the resulting floor (~10 MiB) is
measured with /bin/true and reported.

Nothing here is part of the default test suite.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
# Measurement and formatting helpers shared with the other benchmarks.
sys.path.insert(0, os.path.dirname(HERE))
from benchlib import (_finish, cpu_busy_s, fmt, proc_status_mib, ratio, read_json,  # noqa: E402
                      tail, wait_idle, warm_cache, write_json)
REFERENCE_DIR = os.path.join(REPO, "tests", "reference")
DEFAULT_WORK = os.path.join(REPO, "tests", "bench", "work")
DEFAULT_ACTLENS = os.path.join(REPO, "build", "release", "actlens")

FULL = dict(n=16000, d=2048, classes=64, roles=48, responses=200, n_layers=46, dim=1024)
QUICK = dict(n=2000, d=256, classes=16, roles=8, responses=40, n_layers=46, dim=128)

MiB = 1024.0 * 1024.0


# =============================================================================================
# Helpers usable in both the orchestrator and the workers (stdlib only)
# =============================================================================================


# =============================================================================================
# Workers (run in child processes: `run.py _worker NAME PARAMS_JSON RESULT_PATH`)
# =============================================================================================
def seed_lda_vectorised(class_data, k, timings):
    """The seed's find_role_variance_subspace(class_data, scaler=StandardScaler(), k=k),
    with the two per-sample / per-class Python loops replaced by matrix products.

    Same data flow and dtypes as the seed: vstack of the classes (float32), StandardScaler
    (float32 out), float32 mean / class means / differences, scatter sums in float64,
    eig(pinv(S_T) @ S_B), real parts sorted descending, top k, projection of every class.
    """
    import numpy as np
    from sklearn.preprocessing import StandardScaler

    t = time.perf_counter()
    class_names = list(class_data.keys())
    class_samples = [class_data[name] for name in class_names]
    class_sizes = [len(s) for s in class_samples]
    X = np.vstack(class_samples)
    X = StandardScaler().fit_transform(X)
    bounds = np.concatenate([[0], np.cumsum(class_sizes)])
    class_samples = [X[bounds[i]:bounds[i + 1]] for i in range(len(class_sizes))]
    mu_total = X.mean(axis=0)
    class_means = np.stack([s.mean(axis=0) for s in class_samples])
    timings["scale_means_s"] = time.perf_counter() - t

    t = time.perf_counter()
    Dm = (class_means - mu_total).astype(np.float64)
    n = np.asarray(class_sizes, dtype=np.float64)
    S_B = (Dm * n[:, None]).T @ Dm
    Xc = (X - mu_total).astype(np.float64)
    S_T = Xc.T @ Xc
    del Xc
    timings["scatter_s"] = time.perf_counter() - t

    t = time.perf_counter()
    P = np.linalg.pinv(S_T)
    timings["pinv_s"] = time.perf_counter() - t
    t = time.perf_counter()
    eigenvalues, eigenvectors = np.linalg.eig(P @ S_B)
    timings["eig_s"] = time.perf_counter() - t

    t = time.perf_counter()
    idx = eigenvalues.argsort()[::-1]
    eigenvalues = eigenvalues[idx].real
    eigenvectors = eigenvectors[:, idx].real
    all_eigenvalues = eigenvalues.copy()
    if k is not None:
        eigenvectors = eigenvectors[:, :k]
        eigenvalues = eigenvalues[:k]
    projected = X @ eigenvectors
    projected_data = {name: projected[bounds[i]:bounds[i + 1]]
                      for i, name in enumerate(class_names)}
    timings["sort_project_s"] = time.perf_counter() - t
    return eigenvectors, eigenvalues, projected_data, all_eigenvalues


def worker_gen_a(p):
    """Synthetic plain data: class means in a C-dim subspace + anisotropic noise, then per-feature
    scales/offsets (so the StandardScaler matters) and a few residual-stream-like outlier dims."""
    import numpy as np

    rng = np.random.default_rng(p["seed"])
    N, D, C = p["n"], p["d"], p["classes"]
    prior = rng.uniform(0.5, 1.5, C)
    labels = rng.choice(C, size=N, p=prior / prior.sum()).astype(np.int64)
    missing = np.setdiff1d(np.arange(C), labels)
    labels[:len(missing)] = missing  # every class present
    rng.shuffle(labels)
    Q, _ = np.linalg.qr(rng.standard_normal((D, C)))
    scales = 1.2 * np.geomspace(1.0, 0.1, C)
    means = (rng.standard_normal((C, C)) * scales) @ Q.T  # [C, D]
    feat_sd = rng.uniform(0.5, 3.0, D)
    offset = rng.normal(0.0, 5.0, D)
    out_dims = rng.choice(D, size=min(3, D), replace=False)
    offset[out_dims] += np.array([40.0, -60.0, 90.0])[:len(out_dims)]
    X = np.empty((N, D), dtype=np.float32)
    chunk = 4096
    for s in range(0, N, chunk):
        e = min(N, s + chunk)
        Z = rng.standard_normal((e - s, D), dtype=np.float32)
        Z += means[labels[s:e]].astype(np.float32)
        X[s:e] = Z * feat_sd.astype(np.float32) + offset.astype(np.float32)
    os.makedirs(p["dir"], exist_ok=True)
    np.save(os.path.join(p["dir"], "X.npy"), X)
    np.save(os.path.join(p["dir"], "labels.npy"), labels)
    return {"N": N, "D": D, "C": C, "class_sizes_min_max": [int(np.bincount(labels).min()),
                                                           int(np.bincount(labels).max())]}


def worker_gen_b(p):
    """Synthetic role dataset in the seed layout (cf. tests/reference/make_roles_example.py):
    response_activations/{role}.pt = torch.save dict "pos_p{i}_q{j}" -> bfloat16 [L, d] (one
    storage per tensor), extract_scores/{role}.json = key -> 0/1/2/3/"REFUSAL"; plus a small
    default.pt / default.json that both loaders must skip.  Roles are low-rank means that rotate
    with the layer; score 3 adds a shared "intensity" offset; noise is anisotropic."""
    import numpy as np
    import torch

    rng = np.random.default_rng(p["seed"])
    R, NR, L, d = p["roles"], p["responses"], p["n_layers"], p["dim"]
    out = p["dir"]
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(os.path.join(out, "response_activations"))
    os.makedirs(os.path.join(out, "extract_scores"))

    t = np.arange(L) / max(L - 1, 1)
    r = min(16, d // 2)
    Q, _ = np.linalg.qr(rng.standard_normal((d, 2 * r)))
    UA, UB = Q[:, :r], Q[:, r:]
    scales = 3.0 * np.geomspace(1.0, 0.15, r)
    amp = 0.35 + 0.65 * np.sin(np.pi * np.minimum(t, 0.6) / 1.2)
    theta = 0.5 * np.pi * t
    intensity = rng.standard_normal(d)
    intensity *= 1.8 / np.linalg.norm(intensity)
    noise_sd = np.linspace(0.5, 1.6, d).astype(np.float32)
    drift = np.outer(np.sin(2 * np.pi * t), rng.standard_normal(d)) * 0.8
    out_dims = np.array([3, 17, 41]) % d
    outlier = np.zeros((L, d))
    outlier[:, out_dims] = np.outer(0.4 + 0.6 * t, [20.0, -35.0, 50.0])
    ramp = (0.3 + 0.7 * t)[:, None]
    n_q = -(-NR // 5)
    keys = [f"pos_p{i}_q{j}" for i in range(5) for j in range(n_q)][:NR]

    def role_mean(za, zb):
        a, b = UA @ (scales * za), UB @ (scales * zb)
        return (amp[:, None] * (np.cos(theta)[:, None] * a + np.sin(theta)[:, None] * b)
                + drift + outlier)

    def save_role(name, keys_, means_ld):
        n = len(keys_)
        acts = rng.standard_normal((n, L, d), dtype=np.float32)
        acts *= noise_sd
        acts += means_ld.astype(np.float32)
        tb = torch.from_numpy(acts).to(torch.bfloat16)
        return {k: tb[i].clone() for i, k in enumerate(keys_)}

    n_scores = {2: 0, 3: 0, "other": 0}
    for ri in range(R):
        role = f"role{ri:03d}"
        base = role_mean(rng.standard_normal(r), rng.standard_normal(r))
        off3 = intensity + 0.4 * rng.standard_normal(d)
        f3 = rng.uniform(0.55, 0.8)
        fo = rng.uniform(0.0, 0.06)
        u = rng.uniform(size=NR)
        labels = np.where(u < f3, 3, np.where(u < 1.0 - fo, 2, -1))
        others = rng.choice(np.array([0, 1, 99]), size=NR)
        means = np.empty((NR, L, d))
        scores = {}
        for i, k in enumerate(keys):
            if labels[i] == 3:
                means[i] = base + ramp * off3
                scores[k] = 3
                n_scores[3] += 1
            elif labels[i] == 2:
                means[i] = base
                scores[k] = 2
                n_scores[2] += 1
            else:
                means[i] = base - 0.5 * ramp * off3
                scores[k] = "REFUSAL" if others[i] == 99 else int(others[i])
                n_scores["other"] += 1
        n = NR
        acts = rng.standard_normal((n, L, d), dtype=np.float32)
        acts *= noise_sd
        acts += means.astype(np.float32)
        del means
        tb = torch.from_numpy(acts).to(torch.bfloat16)
        del acts
        obj = {k: tb[i].clone() for i, k in enumerate(keys)}
        del tb
        torch.save(obj, os.path.join(out, "response_activations", f"{role}.pt"))
        with open(os.path.join(out, "extract_scores", f"{role}.json"), "w") as f:
            json.dump(scores, f, indent=2)

    dkeys = [f"default_p0_q{j}" for j in range(min(20, NR))]
    dobj = save_role("default", dkeys, role_mean(np.zeros(r), np.zeros(r)))
    torch.save(dobj, os.path.join(out, "response_activations", "default.pt"))
    with open(os.path.join(out, "extract_scores", "default.json"), "w") as f:
        json.dump({k: 3 for k in dkeys}, f, indent=2)
    total = sum(os.path.getsize(os.path.join(dp, fn))
                for dp, _, fns in os.walk(out) for fn in fns)
    return {"roles": R, "responses": NR, "n_layers": L, "dim": d, "score_counts": n_scores,
            "bytes": total}


def worker_gemm(p):
    t0 = time.perf_counter()
    import numpy as np
    t_imp, rss_imp = time.perf_counter() - t0, proc_status_mib("VmRSS")
    t = time.perf_counter()
    X = np.load(os.path.join(p["dir"], "X.npy"))
    assert X.dtype == np.float32 and X.flags.c_contiguous
    load_s = time.perf_counter() - t
    times = []
    t_all = time.perf_counter()
    for _ in range(p["gemm_reps"]):
        t = time.perf_counter()
        Xt = X.T
        G = Xt @ X
        times.append(time.perf_counter() - t)
        del G
    in_proc = load_s + time.perf_counter() - t_all
    res = {"core_s": min(times), "gemm_times_s": times, "load_s": load_s, "in_proc_s": in_proc,
           "numpy": np.__version__}
    return _finish(res, t_imp, rss_imp)


def worker_gemm_f64(p):
    """Second yardstick: the same product in float64 (what a float64 scatter accumulation costs);
    the float32 -> float64 conversion is timed separately, not in core."""
    t0 = time.perf_counter()
    import numpy as np
    t_imp, rss_imp = time.perf_counter() - t0, proc_status_mib("VmRSS")
    t = time.perf_counter()
    X = np.load(os.path.join(p["dir"], "X.npy"))
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    X64 = X.astype(np.float64)
    del X
    convert_s = time.perf_counter() - t
    times = []
    t_all = time.perf_counter()
    for _ in range(p["gemm_reps"]):
        t = time.perf_counter()
        Xt = X64.T
        G = Xt @ X64
        times.append(time.perf_counter() - t)
        del G
    in_proc = load_s + convert_s + time.perf_counter() - t_all
    res = {"core_s": min(times), "gemm_times_s": times, "load_s": load_s,
           "convert_s": convert_s, "in_proc_s": in_proc}
    return _finish(res, t_imp, rss_imp)


def worker_seed_numpy(p):
    t0 = time.perf_counter()
    import numpy as np
    from sklearn.preprocessing import StandardScaler  # noqa: F401  (import cost outside timing)
    t_imp, rss_imp = time.perf_counter() - t0, proc_status_mib("VmRSS")
    t_start = time.perf_counter()
    X = np.load(os.path.join(p["dir"], "X.npy"))
    labels = np.load(os.path.join(p["dir"], "labels.npy"))
    load_s = time.perf_counter() - t_start
    # class_data like the seed's prepare_class_data output: classes in order of first
    # appearance, each a contiguous float32 block (not timed as "core": the seed gets this dict
    # from prepare_class_data)
    t = time.perf_counter()
    _, first = np.unique(labels, return_index=True)
    order = labels[np.sort(first)]
    class_data = {f"class_{c}": X[labels == c] for c in order}
    del X
    prep_s = time.perf_counter() - t
    timings = {}
    t = time.perf_counter()
    _, eigenvalues, _, all_ev = seed_lda_vectorised(class_data, p["k"], timings)
    core_s = time.perf_counter() - t
    res = {"core_s": core_s, "load_s": load_s, "prep_s": prep_s,
           "in_proc_s": time.perf_counter() - t_start, "breakdown": timings,
           "eigenvalues": [float(v) for v in eigenvalues],
           "all_eigenvalues": [float(v) for v in all_ev], "n_classes": len(class_data),
           "n_samples": int(sum(len(v) for v in class_data.values()))}
    return _finish(res, t_imp, rss_imp)


def worker_sklearn(p):
    t0 = time.perf_counter()
    import numpy as np
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.preprocessing import StandardScaler
    import sklearn
    t_imp, rss_imp = time.perf_counter() - t0, proc_status_mib("VmRSS")
    t_start = time.perf_counter()
    X = np.load(os.path.join(p["dir"], "X.npy"))
    labels = np.load(os.path.join(p["dir"], "labels.npy"))
    load_s = time.perf_counter() - t_start
    t = time.perf_counter()
    Xs = StandardScaler().fit_transform(X)
    del X
    scale_s = time.perf_counter() - t
    lda = LinearDiscriminantAnalysis(solver="eigen").fit(Xs, labels)
    core_s = time.perf_counter() - t
    res = {"core_s": core_s, "load_s": load_s, "in_proc_s": time.perf_counter() - t_start,
           "breakdown": {"scale_s": scale_s, "fit_s": core_s - scale_s},
           "explained_variance_ratio": [float(v) for v in lda.explained_variance_ratio_[:p["k"]]],
           "sklearn": sklearn.__version__}
    return _finish(res, t_imp, rss_imp)


def worker_seed_torch(p):
    t0 = time.perf_counter()
    import numpy as np  # noqa: F401
    import torch
    from sklearn.preprocessing import StandardScaler  # noqa: F401
    sys.path.insert(0, REFERENCE_DIR)
    import seed_lda  # verbatim seed loading cells (sorted listdir) + prepare_class_data
    if p.get("threads"):
        torch.set_num_threads(int(p["threads"]))
    t_imp, rss_imp = time.perf_counter() - t0, proc_status_mib("VmRSS")
    t_start = time.perf_counter()
    scores = seed_lda.load_scores(p["dir"])
    acts2, acts3 = seed_lda.load_role_activations(p["dir"], scores)
    load_s = time.perf_counter() - t_start
    rss_loaded = proc_status_mib("VmRSS")
    t = time.perf_counter()
    class_data = seed_lda.prepare_class_data(acts2, acts3, layer=p["layer"], min_samples=10)
    prep_s = time.perf_counter() - t
    timings = {}
    t = time.perf_counter()
    _, eigenvalues, _, _ = seed_lda_vectorised(class_data, p["k"], timings)
    core_s = time.perf_counter() - t
    res = {"core_s": core_s, "load_s": load_s, "prep_s": prep_s,
           "in_proc_s": time.perf_counter() - t_start, "breakdown": timings,
           "rss_after_load_mib": rss_loaded,
           "eigenvalues": [float(v) for v in eigenvalues], "n_classes": len(class_data),
           "n_samples": int(sum(len(v) for v in class_data.values())),
           "torch": torch.__version__}
    return _finish(res, t_imp, rss_imp)


WORKERS = {
    "gen-a": worker_gen_a,
    "gen-b": worker_gen_b,
    "gemm": worker_gemm,
    "gemm-f64": worker_gemm_f64,
    "seed-numpy": worker_seed_numpy,
    "sklearn": worker_sklearn,
    "torch.load+numpy": worker_seed_torch,
}


def worker_main(argv):
    name, params, result_path = argv[0], json.loads(argv[1]), argv[2]
    res = WORKERS[name](params)
    write_json(result_path, res)


# =============================================================================================
# Orchestrator (standard library only: its RSS is inherited by every child's ru_maxrss)
# =============================================================================================
def child_env(threads):
    env = dict(os.environ)
    if threads:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
            env[var] = str(threads)
    return env


def spawn_measured(cmd, env, log_path, timeout=None):
    """Run cmd as a child; return (rc, wall_s, ru_maxrss_mib, user_s, sys_s)."""
    with open(log_path, "wb") as log:
        busy0 = cpu_busy_s()
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO)
        deadline = None if timeout is None else t0 + timeout
        while True:
            if deadline is None:
                _, status, ru = os.wait4(proc.pid, 0)
                break
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                _, status, ru = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        wall = time.perf_counter() - t0
        busy1 = cpu_busy_s()
    proc.returncode = os.waitstatus_to_exitcode(status)  # keep Popen from waiting again
    bg = None
    if busy0 is not None and busy1 is not None and wall > 0:
        # average number of cores used by everything except this child during its run
        bg = max(0.0, (busy1 - busy0 - ru.ru_utime - ru.ru_stime) / wall)
    return proc.returncode, wall, ru.ru_maxrss / 1024.0, ru.ru_utime, ru.ru_stime, bg


def run_worker(name, params, args, tag, wait=True):
    result_path = os.path.join(args.work, "logs", f"{tag}.result.json")
    log_path = os.path.join(args.work, "logs", f"{tag}.log")
    if os.path.exists(result_path):
        os.remove(result_path)
    cmd = [sys.executable, os.path.abspath(__file__), "_worker", name, json.dumps(params),
           result_path]
    waited, busy = wait_idle(args.wait_idle if wait else 0, args.idle_cores)
    rc, wall, rss, ut, st, bg = spawn_measured(cmd, child_env(args.threads), log_path,
                                               args.peer_timeout if wait else None)
    row = {"wall_s": wall, "peak_rss_mib": rss, "user_s": ut, "sys_s": st, "rc": rc,
           "background_cores": bg, "waited_idle_s": waited, "busy_cores_before": busy,
           "log": os.path.relpath(log_path, REPO)}
    if rc == 0 and os.path.exists(result_path):
        row.update(read_json(result_path))
    else:
        row["error"] = tail(log_path)
    return row


def run_actlens(extra, out_dir, args, tag):
    log_path = os.path.join(args.work, "logs", f"{tag}.log")
    cmd = [args.actlens, "-q", "lda"] + extra + ["--out", out_dir]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    waited, busy = wait_idle(args.wait_idle, args.idle_cores)
    rc, wall, rss, ut, st, bg = spawn_measured(cmd, child_env(args.threads), log_path,
                                               args.peer_timeout)
    row = {"wall_s": wall, "peak_rss_mib": rss, "user_s": ut, "sys_s": st, "rc": rc,
           "background_cores": bg, "waited_idle_s": waited, "busy_cores_before": busy,
           "log": os.path.relpath(log_path, REPO), "command": cmd}
    run_json = os.path.join(out_dir, "run.json")
    if rc != 0 or not os.path.exists(run_json):
        row["error"] = tail(log_path)
        return row
    rj = read_json(run_json)
    tm = rj.get("timings", {})
    row["timings"] = tm
    row["core_s"] = tm.get("accumulate_s", 0.0) + tm.get("solve_s", 0.0)
    row["in_proc_s"] = tm.get("total_s")
    layers = rj.get("summary", {}).get("layers", {})
    if layers:
        lay = layers[sorted(layers, key=int)[0]]
        row["eigenvalues"] = lay.get("eigenvalues")
        row["n_classes"] = lay.get("n_classes")
        row["n_samples"] = lay.get("n_samples")
        row["solver"] = lay.get("solver")
    row["threads"] = rj.get("threads")
    return row


def best_of(fn, repeat):
    """Run fn() repeat times; keep the row with the smallest wall time, list all runs."""
    runs = [fn() for _ in range(max(1, repeat))]
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return runs[-1]
    best = dict(min(ok, key=lambda r: r["wall_s"]))
    if len(runs) > 1:
        best["repeats"] = [{k: r.get(k) for k in ("wall_s", "core_s", "in_proc_s", "peak_rss_mib",
                                                  "background_cores", "rc")} for r in runs]
    return best


def ensure_dataset(kind, params, args):
    """Generate (in a child) unless a complete dataset with identical parameters exists."""
    d = params["dir"]
    manifest = os.path.join(d, "manifest.json")
    if not args.regen and os.path.exists(manifest):
        m = read_json(manifest)
        if m.get("params") == params and m.get("complete"):
            print(f"  reusing {os.path.relpath(d, REPO)}", flush=True)
            return m
    print(f"  generating {os.path.relpath(d, REPO)} ...", flush=True)
    if os.path.exists(manifest):
        os.remove(manifest)
    row = run_worker(kind, params, args, f"{kind}", wait=False)
    if row["rc"] != 0 or "error" in row:
        raise SystemExit(f"dataset generation failed:\n{row.get('error')}")
    info = {k: v for k, v in row.items() if k not in ("log",)}
    m = {"params": params, "complete": True, "info": info,
         "generated": datetime.datetime.now(datetime.timezone.utc).isoformat()}
    write_json(manifest, m)
    print(f"  generated in {row['wall_s']:.1f} s", flush=True)
    return m


def rel_diff(a, b):
    """max_i |a_i - b_i| / max(|b_i|, tiny) over the common prefix."""
    n = min(len(a), len(b))
    if n == 0:
        return None
    return max(abs(a[i] - b[i]) / max(abs(b[i]), 1e-300) for i in range(n))


def case_a(args, sizes):
    params = {"n": sizes["n"], "d": sizes["d"], "classes": sizes["classes"], "seed": args.seed}
    params["dir"] = os.path.join(args.work, "caseA_n{n}_d{d}_c{classes}_s{seed}".format(**params))
    print(f"Case A: N={params['n']} D={params['d']} classes={params['classes']} float32",
          flush=True)
    ensure_dataset("gen-a", params, args)
    warm_cache(params["dir"])
    X = os.path.join(params["dir"], "X.npy")
    y = os.path.join(params["dir"], "labels.npy")
    wp = {"dir": params["dir"], "k": args.k, "gemm_reps": args.gemm_reps,
          "threads": args.threads}
    rows = {}
    for peer in ("gemm", "gemm-f64", "seed-numpy", "sklearn", "actlens"):
        if args.peers and peer not in args.peers:
            continue
        print(f"  running {peer} ...", flush=True)
        if peer == "actlens":
            out_dir = os.path.join(args.work, "actlens_out_A")
            rows[peer] = best_of(lambda: run_actlens(
                ["--activations", X, "--labels", y, "--min-samples", "1", "-k", str(args.k),
                 "--scaler", "standard"], out_dir, args, "A_actlens"), args.repeat)
        else:
            rows[peer] = best_of(lambda: run_worker(peer, wp, args, f"A_{peer}"), args.repeat)
        report_row("A", peer, rows[peer])
    checks = {}
    act, seed, skl = rows.get("actlens", {}), rows.get("seed-numpy", {}), rows.get("sklearn", {})
    if act.get("eigenvalues") and seed.get("eigenvalues"):
        checks["actlens_vs_seed_eigenvalues_max_rel_diff"] = rel_diff(act["eigenvalues"],
                                                                      seed["eigenvalues"])
        checks["actlens_eigenvalues"] = act["eigenvalues"]
        checks["seed_eigenvalues"] = seed["eigenvalues"]
        checks["n_classes"] = [act.get("n_classes"), seed.get("n_classes")]
    if skl.get("explained_variance_ratio") and seed.get("all_eigenvalues"):
        # sklearn solves S_b w = mu S_w w; mu = lambda / (1 - lambda) for the seed's lambda of
        # pinv(S_T) S_B; explained_variance_ratio_ = mu / sum(all mu)
        mu = [lam / (1.0 - lam) if lam < 1.0 else float("inf") for lam in seed["all_eigenvalues"]
              if lam > 0.0]
        s = sum(mu)
        ratio = [m / s for m in mu[:args.k]]
        checks["sklearn_vs_seed_explained_variance_ratio_max_rel_diff"] = rel_diff(
            skl["explained_variance_ratio"], ratio)
    return {"params": params, "rows": rows, "checks": checks}


def case_b(args, sizes):
    params = {"roles": sizes["roles"], "responses": sizes["responses"],
              "n_layers": sizes["n_layers"], "dim": sizes["dim"], "seed": args.seed}
    if not 0 <= args.layer < params["n_layers"]:
        raise SystemExit(f"--layer {args.layer} outside 0..{params['n_layers'] - 1}")
    params["dir"] = os.path.join(
        args.work, "caseB_r{roles}_n{responses}_l{n_layers}_d{dim}_s{seed}".format(**params))
    print(f"Case B: {params['roles']} roles x {params['responses']} responses x "
          f"{params['n_layers']} layers x d={params['dim']} (bfloat16 .pt), layer {args.layer}",
          flush=True)
    m = ensure_dataset("gen-b", params, args)
    warm_cache(params["dir"])
    wp = {"dir": params["dir"], "k": args.k, "layer": args.layer, "threads": args.threads}
    rows = {}
    for peer in ("torch.load+numpy", "actlens"):
        if args.peers and peer not in args.peers:
            continue
        print(f"  running {peer} ...", flush=True)
        if peer == "actlens":
            out_dir = os.path.join(args.work, "actlens_out_B")
            rows[peer] = best_of(lambda: run_actlens(
                ["--data", params["dir"], "--layer", str(args.layer), "-k", str(args.k)],
                out_dir, args, "B_actlens"), args.repeat)
        else:
            rows[peer] = best_of(lambda: run_worker(peer, wp, args, "B_seed_torch"), args.repeat)
        report_row("B", peer, rows[peer])
    checks = {}
    act, seed = rows.get("actlens", {}), rows.get("torch.load+numpy", {})
    if act.get("eigenvalues") and seed.get("eigenvalues"):
        checks["actlens_vs_seed_eigenvalues_max_rel_diff"] = rel_diff(act["eigenvalues"],
                                                                      seed["eigenvalues"])
        checks["n_classes"] = [act.get("n_classes"), seed.get("n_classes")]
        checks["n_samples"] = [act.get("n_samples"), seed.get("n_samples")]
        checks["actlens_eigenvalues"] = act["eigenvalues"]
        checks["seed_eigenvalues"] = seed["eigenvalues"]
    return {"params": params, "dataset_bytes": m.get("info", {}).get("bytes"), "rows": rows,
            "checks": checks}


def report_row(case, peer, row):
    if "error" in row:
        print(f"    {case} {peer}: FAILED rc={row['rc']} (log {row['log']})\n{row['error']}",
              flush=True)
    else:
        core = row.get("core_s")
        print(f"    {case} {peer}: wall {row['wall_s']:.3f} s, core "
              f"{core if core is None else round(core, 3)} s, peak RSS "
              f"{row['peak_rss_mib']:.1f} MiB", flush=True)


# ---------------------------------------------------------------------------------------------
# Table
# ---------------------------------------------------------------------------------------------


def table_rows(results):
    header = ["case", "peer", "wall s", "in-proc s", "core s", "peak RSS MiB",
              "wall / actlens", "core / actlens", "RSS / actlens", "bg cores"]
    out = []
    for case in ("A", "B"):
        if case not in results["cases"]:
            continue
        rows = results["cases"][case]["rows"]
        ref = rows.get("actlens", {})
        if "error" in ref:
            ref = {}
        for peer, r in rows.items():
            if "error" in r:
                out.append([case, peer, "FAILED", "-", "-", "-", "-", "-", "-", "-"])
                continue
            rw = ratio(r["wall_s"], ref.get("wall_s"))
            rc = ratio(r.get("core_s"), ref.get("core_s"))
            rm = ratio(r["peak_rss_mib"], ref.get("peak_rss_mib"))
            out.append([case, peer, f"{r['wall_s']:.3f}", fmt(r.get("in_proc_s")),
                        fmt(r.get("core_s")), f"{r['peak_rss_mib']:.1f}",
                        "-" if rw is None else f"{rw:.2f}x",
                        "-" if rc is None else f"{rc:.2f}x",
                        "-" if rm is None else f"{rm:.2f}x",
                        "-" if r.get("background_cores") is None
                        else f"{r['background_cores']:.2f}"])
    return header, out


def render_text(header, rows):
    w = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = "  ".join(h.ljust(w[i]) if i < 2 else h.rjust(w[i]) for i, h in enumerate(header))
    sep = "  ".join("-" * x for x in w)
    body = ["  ".join(str(c).ljust(w[i]) if i < 2 else str(c).rjust(w[i])
                      for i, c in enumerate(r)) for r in rows]
    return "\n".join([line, sep] + body)


def render_md(header, rows):
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join(["---", "---"] + ["---:"] * (len(header) - 2)) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


LEGEND = """\
wall s     : spawn-to-exit wall clock of the peer's own child process (interpreter start,
             imports and data loading included for the Python peers)
in-proc s  : Python peers: time inside the process after imports (load + compute);
             actlens: run.json timings.total_s
core s     : A gemm / gemm-f64: fastest of the X^T X repetitions (float32 / float64,
             conversion excluded); A seed-numpy: the vectorised seed function
             from class_data (scaler .. eig .. projection); A sklearn: StandardScaler + LDA fit;
             B torch.load+numpy: the vectorised seed LDA on class_data (excludes torch.load and
             prepare_class_data); actlens: run.json accumulate_s + solve_s
peak RSS   : ru_maxrss of that child (os.wait4); floor from the orchestrator: {floor:.1f} MiB
ratios     : peer / actlens of the same case (>1 = actlens faster / smaller)
repeat     : {repeat} run(s) per peer; the row is the run with the smallest wall time
bg cores   : average number of cores busy with OTHER processes while the peer ran (/proc/stat
             minus the child's own CPU time); well above 0 means the timing is contaminated"""


def checks_text(results):
    lines = []
    for case, res in results["cases"].items():
        c = res.get("checks", {})
        v = c.get("actlens_vs_seed_eigenvalues_max_rel_diff")
        if v is not None:
            lines.append(f"{case}: actlens vs seed eigenvalues (top {results['k']}) "
                         f"max rel diff = {v:.3e}; n_classes actlens/seed = {c.get('n_classes')}"
                         + (f"; n_samples = {c['n_samples']}" if "n_samples" in c else ""))
            lines.append(f"   actlens: {', '.join(f'{x:.6f}' for x in c['actlens_eigenvalues'])}")
            lines.append(f"   seed   : {', '.join(f'{x:.6f}' for x in c['seed_eigenvalues'])}")
        v = c.get("sklearn_vs_seed_explained_variance_ratio_max_rel_diff")
        if v is not None:
            lines.append(f"{case}: sklearn explained_variance_ratio_ vs seed (lambda/(1-lambda), "
                         f"normalised) max rel diff = {v:.3e}")
        rows = res["rows"]
        g, a = rows.get("gemm", {}), rows.get("actlens", {})
        if g.get("core_s") and a.get("core_s"):
            lines.append(f"{case}: actlens core = {a['core_s'] / g['core_s']:.2f} x one float32 "
                         f"X^T X ({g['core_s']:.3f} s); actlens end-to-end = "
                         f"{a['wall_s'] / g['core_s']:.2f} x")
        g64 = rows.get("gemm-f64", {})
        if g64.get("core_s") and a.get("core_s"):
            lines.append(f"{case}: actlens core = {a['core_s'] / g64['core_s']:.2f} x one float64 "
                         f"X^T X ({g64['core_s']:.3f} s); actlens accumulate_s = "
                         f"{a.get('timings', {}).get('accumulate_s', 0) / g64['core_s']:.2f} x")
        s = rows.get("seed-numpy", {}) or rows.get("torch.load+numpy", {})
        if s.get("breakdown"):
            bd = ", ".join(f"{k} {v:.3f}" for k, v in s["breakdown"].items())
            extra = ""
            if "load_s" in s and "prep_s" in s:
                extra = f"; load_s {s['load_s']:.3f}, prep_s {s['prep_s']:.3f}"
            lines.append(f"{case}: seed breakdown (s): {bd}{extra}")
        for peer, r in rows.items():
            if r.get("import_s") is not None:
                lines.append(f"{case}: {peer}: imports {r['import_s']:.2f} s, RSS after imports "
                             f"{r['rss_after_imports_mib']:.1f} MiB"
                             + (f", after torch.load of all files {r['rss_after_load_mib']:.1f} "
                                f"MiB" if r.get("rss_after_load_mib") else "")
                             + f"; user+sys CPU {r['user_s'] + r['sys_s']:.2f} s")
        if a.get("timings"):
            lines.append(f"{case}: actlens timings (s): "
                         + ", ".join(f"{k} {v:.4f}" for k, v in a["timings"].items())
                         + f"; solver {a.get('solver')}; threads {a.get('threads')}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="small smoke-test sizes (A: N=2000 D=256 16 classes; B: 8 roles x 40 "
                         "responses x 46 layers x d=128)")
    ap.add_argument("--cases", default="A,B", help="comma list of cases to run (A, B)")
    ap.add_argument("--peers", default=None,
                    help="comma list of peers to run (default all): gemm, gemm-f64, seed-numpy, "
                         "sklearn, "
                         "torch.load+numpy, actlens")
    ap.add_argument("--actlens", default=DEFAULT_ACTLENS,
                    help="actlens binary (default build/release/actlens in the repo)")
    ap.add_argument("--threads", type=int, default=None,
                    help="threads for every peer (BLAS env vars, torch, actlens --threads); "
                         "default: each library's own default (all cores)")
    ap.add_argument("--work", default=DEFAULT_WORK, help="work dir (datasets, outputs, results)")
    ap.add_argument("-k", type=int, default=10, help="LDA components")
    ap.add_argument("--layer", type=int, default=22, help="case B layer")
    ap.add_argument("--seed", type=int, default=0, help="data generator seed")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run every peer this many times, report the run with the smallest wall "
                         "time (all runs are kept in the JSON); default 1")
    ap.add_argument("--gemm-reps", type=int, default=3, help="X^T X repetitions (min reported)")
    ap.add_argument("--peer-timeout", type=float, default=None,
                    help="kill a peer after this many seconds (default: no limit)")
    ap.add_argument("--regen", action="store_true", help="regenerate cached datasets")
    ap.add_argument("--wait-idle", type=float, default=0.0, metavar="S",
                    help="before each peer wait up to S seconds until other processes use less "
                         "than --idle-cores cores for 3 s in a row (default 0: do not wait)")
    ap.add_argument("--idle-cores", type=float, default=0.3,
                    help="threshold for --wait-idle (default 0.3 cores)")
    for key, val in FULL.items():
        ap.add_argument("--" + key.replace("_", "-"), type=int, default=None,
                        help=f"size override (default {val}, --quick {QUICK[key]})")
    args = ap.parse_args(argv)
    args.cases = [c.strip().upper() for c in args.cases.split(",") if c.strip()]
    bad = set(args.cases) - {"A", "B"}
    if bad:
        ap.error(f"unknown case(s): {sorted(bad)}")
    args.peers = None if args.peers is None else [p.strip() for p in args.peers.split(",")]
    args.work = os.path.abspath(args.work)
    args.actlens = os.path.abspath(os.path.join(REPO, args.actlens)) \
        if not os.path.isabs(args.actlens) else args.actlens
    return args


def main(argv):
    if argv and argv[0] == "_worker":
        return worker_main(argv[1:])
    args = parse_args(argv)
    sizes = dict(QUICK if args.quick else FULL)
    for key in FULL:
        v = getattr(args, key)
        if v is not None:
            sizes[key] = v
    if not (os.path.isfile(args.actlens) and os.access(args.actlens, os.X_OK)):
        raise SystemExit(f"actlens binary not found: {args.actlens}\n"
                         "build it: cmake --build build/release --target actlens")
    os.makedirs(os.path.join(args.work, "logs"), exist_ok=True)
    # the tree is rebuilt concurrently by others: run a private copy so every actlens peer of
    # this benchmark uses the same binary (it only links system libraries)
    args.actlens_source = args.actlens
    snapshot = os.path.join(args.work, "actlens.snapshot")
    shutil.copy2(args.actlens, snapshot + ".tmp")
    os.replace(snapshot + ".tmp", snapshot)
    args.actlens = snapshot

    floor = spawn_measured(["/bin/true"], dict(os.environ),
                           os.path.join(args.work, "logs", "floor.log"))[2]
    try:
        ver = subprocess.run([args.actlens, "--version"], capture_output=True, text=True,
                             timeout=30).stdout.strip()
    except Exception:  # pragma: no cover
        ver = None
    try:
        commit = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception:  # pragma: no cover
        commit = None
    cpu = None
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")),
                       None)
    except OSError:
        pass
    results = {
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "quick": args.quick, "sizes": sizes, "k": args.k, "layer": args.layer,
        "repeat": args.repeat,
        "threads": args.threads, "actlens": args.actlens_source, "actlens_version": ver,
        "actlens_mtime": datetime.datetime.fromtimestamp(
            os.path.getmtime(args.actlens), datetime.timezone.utc).isoformat(),
        "git_commit": commit, "cpu": cpu, "nproc": os.cpu_count(),
        "python": platform.python_version(), "rss_floor_mib": floor, "cases": {},
    }
    print(f"actlens {ver} ({args.actlens_source}, run from a copy), {os.cpu_count()} CPUs "
          f"({cpu}), "
          f"threads={args.threads or 'default'}, RSS floor {floor:.1f} MiB", flush=True)
    t0 = time.perf_counter()
    if "A" in args.cases:
        results["cases"]["A"] = case_a(args, sizes)
    if "B" in args.cases:
        results["cases"]["B"] = case_b(args, sizes)
    results["bench_wall_s"] = time.perf_counter() - t0

    header, rows = table_rows(results)
    legend = LEGEND.format(floor=floor, repeat=args.repeat)
    checks = checks_text(results)
    print()
    print(render_text(header, rows))
    print()
    print(legend)
    print()
    print(checks)

    suffix = "_quick" if args.quick else ""
    md_path = os.path.join(args.work, f"lda_results{suffix}.md")
    json_path = os.path.join(args.work, f"lda_results{suffix}.json")
    a = results["cases"].get("A", {}).get("params")
    b = results["cases"].get("B", {}).get("params")
    desc = []
    if a:
        desc.append(f"Case A: N={a['n']}, D={a['d']}, {a['classes']} classes, float32 .npy")
    if b:
        desc.append(f"Case B: {b['roles']} roles x {b['responses']} responses x "
                    f"{b['n_layers']} layers x d={b['dim']} bfloat16 .pt, layer {args.layer}")
    with open(md_path, "w") as f:
        f.write(f"# actlens lda benchmark ({results['created']})\n\n")
        f.write(f"actlens {ver} (git {commit}), {os.cpu_count()} CPUs ({cpu}), threads="
                f"{args.threads or 'default'}, k={args.k}\n\n")
        for dline in desc:
            f.write(f"- {dline}\n")
        f.write("\n" + render_md(header, rows) + "\n\n```\n" + legend + "\n\n" + checks
                + "\n```\n")
    write_json(json_path, results)
    print(f"\nwrote {os.path.relpath(md_path, REPO)} and {os.path.relpath(json_path, REPO)} "
          f"(bench {results['bench_wall_s']:.1f} s)")
    failed = [f"{c}/{p}" for c, r in results["cases"].items() for p, row in r["rows"].items()
              if "error" in row]
    if failed:
        print("FAILED peers: " + ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]) or 0)
