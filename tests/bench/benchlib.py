"""Helpers the benchmarks in tests/bench/*/run.py share: peak-memory and CPU accounting of child
processes, waiting for an idle machine, JSON files, number formatting; and (used by pca/ and ged/)
a Runner that spawns measured peers, the common flags, the binary snapshot, the environment
record and table rendering. Standard library only."""
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def proc_status_mib(field):
    """VmRSS / VmHWM of this process in MiB (Linux), None elsewhere."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=False)
        f.write("\n")
    os.replace(tmp, path)


def read_json(path):
    with open(path) as f:
        return json.load(f)


def _finish(res, t_imports, rss_imports):
    res["import_s"] = t_imports
    res["rss_after_imports_mib"] = rss_imports
    res["vm_hwm_mib"] = proc_status_mib("VmHWM")
    return res


def cpu_busy_s():
    """Busy CPU-seconds of the whole machine so far (/proc/stat), None if unavailable."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal ...
    return (v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)) / CLK_TCK


def wait_idle(max_wait, threshold, quiet=False):
    """Wait (up to max_wait s) until the machine's busy cores stay below threshold for 3 s.
    Returns (waited_s, last busy-cores sample)."""
    if not max_wait:
        return 0.0, None
    t0 = time.perf_counter()
    calm = 0
    busy = None
    while True:
        b0, w0 = cpu_busy_s(), time.perf_counter()
        time.sleep(1.0)
        b1, w1 = cpu_busy_s(), time.perf_counter()
        if b0 is None or b1 is None:
            return 0.0, None
        busy = (b1 - b0) / (w1 - w0)
        calm = calm + 1 if busy < threshold else 0
        waited = time.perf_counter() - t0
        if calm >= 3:
            return waited, busy
        if waited >= max_wait:
            if not quiet:
                print(f"    (machine still busy: {busy:.2f} cores used by others after "
                      f"{waited:.0f} s; going on)", flush=True)
            return waited, busy


def tail(path, n=2000):
    try:
        with open(path, "rb") as f:
            data = f.read()
        return data[-n:].decode("utf-8", "replace")
    except OSError:
        return ""


def warm_cache(path):
    """Read every file under path once (small buffer) so all peers see a warm page cache."""
    buf = bytearray(8 << 20)
    paths = [path] if os.path.isfile(path) else [
        os.path.join(dp, fn) for dp, _, fns in os.walk(path) for fn in sorted(fns)]
    for fp in paths:
        with open(fp, "rb", buffering=0) as f:
            while f.readinto(buf):
                pass


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if v == 0:
        return "0"
    if abs(v) >= 100:
        return f"{v:.1f}"
    if abs(v) >= 1:
        return f"{v:.3f}"
    return f"{v:.4f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


# =============================================================================================
# Orchestration helpers shared by tests/bench/pca and tests/bench/ged (standard library only:
# the orchestrator's RSS is inherited by every child's ru_maxrss, so it must stay small)
# =============================================================================================
BLAS_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def child_env(threads):
    """os.environ plus the BLAS / OpenMP thread-count variables = threads (if given)."""
    env = dict(os.environ)
    if threads:
        for var in BLAS_THREAD_VARS:
            env[var] = str(threads)
    return env


def spawn_measured(cmd, env, log_path, timeout=None, cwd=None):
    """Run cmd as a child (stdout+stderr to log_path); return (rc, wall_s, ru_maxrss_mib, user_s,
    sys_s, bg_cores).  ru_maxrss from os.wait4 is the child's peak resident set (the kernel's
    VmHWM high-water mark, also covering the pre-exec image inherited from this process)."""
    with open(log_path, "wb") as log:
        busy0 = cpu_busy_s()
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd)
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


def rel_diff(a, b):
    """max_i |a_i - b_i| / max(|b_i|, tiny) over the common prefix (None if empty)."""
    n = min(len(a), len(b))
    if n == 0:
        return None
    return max(abs(a[i] - b[i]) / max(abs(b[i]), 1e-300) for i in range(n))


def worker_dispatch(workers, argv):
    """Child side of Runner.worker: `run.py _worker NAME PARAMS_JSON RESULT_PATH`."""
    name, params, result_path = argv[0], json.loads(argv[1]), argv[2]
    write_json(result_path, workers[name](params))
    return 0


class Runner:
    """Runs the peers of one benchmark, each in its own measured child process.

    script: the benchmark's run.py (re-executed as `python run.py _worker NAME ...`);
    args: needs .work, .threads, .wait_idle, .idle_cores, .peer_timeout, .reps; repo: the
    repository root (children run there; logs are recorded relative to it)."""

    def __init__(self, script, args, repo):
        self.script = os.path.abspath(script)
        self.args = args
        self.repo = repo
        self.logs = os.path.join(args.work, "logs")
        os.makedirs(self.logs, exist_ok=True)

    def _measure(self, cmd, tag, wait):
        a = self.args
        log_path = os.path.join(self.logs, f"{tag}.log")
        waited, busy = wait_idle(a.wait_idle if wait else 0, a.idle_cores)
        rc, wall, rss, ut, st, bg = spawn_measured(cmd, child_env(a.threads), log_path,
                                                   a.peer_timeout if wait else None, self.repo)
        return {"wall_s": wall, "peak_rss_mib": rss, "user_s": ut, "sys_s": st, "rc": rc,
                "background_cores": bg, "waited_idle_s": waited, "busy_cores_before": busy,
                "log": os.path.relpath(log_path, self.repo)}, log_path

    def worker(self, name, params, tag, wait=True):
        """A Python worker of the script in a child; its result JSON is merged into the row."""
        result_path = os.path.join(self.logs, f"{tag}.result.json")
        if os.path.exists(result_path):
            os.remove(result_path)
        cmd = [sys.executable, self.script, "_worker", name, json.dumps(params), result_path]
        row, log_path = self._measure(cmd, tag, wait)
        if row["rc"] == 0 and os.path.exists(result_path):
            row.update(read_json(result_path))
        else:
            row["error"] = tail(log_path)
        return row

    def command(self, cmd, tag, out_dir=None):
        """An external command (actlens) in a child; with out_dir, its run.json is read into
        row["run_json"] (missing run.json = failure)."""
        row, log_path = self._measure(cmd, tag, True)
        row["command"] = cmd
        run_json = None if out_dir is None else os.path.join(out_dir, "run.json")
        if row["rc"] != 0 or (run_json and not os.path.exists(run_json)):
            row["error"] = tail(log_path)
        elif run_json:
            row["run_json"] = read_json(run_json)
        return row

    def best_of(self, fn):
        """Run fn() args.reps times; keep the run with the smallest wall time, list all runs."""
        runs = [fn() for _ in range(max(1, self.args.reps))]
        ok = [r for r in runs if "error" not in r]
        if not ok:
            return runs[-1]
        best = dict(min(ok, key=lambda r: r["wall_s"]))
        if len(runs) > 1:
            best["repeats"] = [{k: r.get(k) for k in ("wall_s", "in_proc_s", "core_s",
                                                      "peak_rss_mib", "background_cores", "rc")}
                               for r in runs]
        return best

    def ensure_generated(self, kind, params, target, manifest):
        """Generate (worker `kind`, in a child) unless `manifest` records identical parameters
        and `target` exists (args.regen forces it)."""
        if not self.args.regen and os.path.exists(manifest) and os.path.exists(target):
            m = read_json(manifest)
            if m.get("params") == params and m.get("complete"):
                print(f"  reusing {target}", flush=True)
                return m
        print(f"  generating {target} ...", flush=True)
        if os.path.exists(manifest):
            os.remove(manifest)
        row = self.worker(kind, params, kind, wait=False)
        if row["rc"] != 0 or "error" in row:
            raise SystemExit(f"{kind} failed:\n{row.get('error')}")
        m = {"params": params, "complete": True,
             "info": {k: v for k, v in row.items() if k != "log"},
             "generated": datetime.datetime.now(datetime.timezone.utc).isoformat()}
        write_json(manifest, m)
        print(f"  generated in {row['wall_s']:.1f} s", flush=True)
        return m


def add_common_args(ap, default_work, default_actlens):
    """The flags every benchmark built on Runner takes."""
    ap.add_argument("--quick", action="store_true", help="small smoke-test sizes (a few seconds)")
    ap.add_argument("--threads", type=int, default=None,
                    help="threads for every peer (OMP/OpenBLAS/MKL env vars for the Python peer, "
                         "--threads N for actlens); default: each library's own default "
                         "(all cores)")
    ap.add_argument("--actlens", default=default_actlens,
                    help="actlens binary (default build/release/actlens in the repo)")
    ap.add_argument("--reps", type=int, default=None,
                    help="run every peer R times and report the run with the smallest wall time "
                         "(all runs are kept in the JSON); default 3 (--quick: 1)")
    ap.add_argument("--wait-idle", type=float, default=0.0, metavar="S",
                    help="before each peer wait up to S seconds until other processes use less "
                         "than --idle-cores cores for 3 s in a row (default 0: do not wait)")
    ap.add_argument("--idle-cores", type=float, default=0.3,
                    help="threshold for --wait-idle (default 0.3 cores)")
    ap.add_argument("--work", default=default_work,
                    help=f"work dir: data, outputs, logs, results (default {default_work})")
    ap.add_argument("--json", default=None, metavar="OUT",
                    help="result JSON (default WORK/<name>_results[_quick].json; a .md table "
                         "is written next to it)")
    ap.add_argument("--peer-timeout", type=float, default=None,
                    help="kill a peer after this many seconds (default: no limit)")
    ap.add_argument("--regen", action="store_true", help="regenerate the cached data")
    ap.add_argument("--seed", type=int, default=0, help="data generator seed")


def finish_common_args(ap, args, repo):
    if args.reps is None:
        args.reps = 1 if args.quick else 3
    if args.reps < 1 or (args.threads is not None and args.threads < 1):
        ap.error("--reps and --threads must be >= 1")
    args.work = os.path.abspath(args.work)
    args.actlens = args.actlens if os.path.isabs(args.actlens) \
        else os.path.abspath(os.path.join(repo, args.actlens))
    if args.json:
        args.json = os.path.abspath(args.json)
    return args


def snapshot_binary(args):
    """Others rebuild build/release/actlens while benchmarks run: copy it to WORK/actlens.snapshot
    (it links only system libraries) and point args.actlens there; args.actlens_source keeps the
    original path."""
    if not (os.path.isfile(args.actlens) and os.access(args.actlens, os.X_OK)):
        raise SystemExit(f"actlens binary not found: {args.actlens}\n"
                         "build it: cmake --build build/release --target actlens")
    os.makedirs(args.work, exist_ok=True)
    args.actlens_source = args.actlens
    args.actlens_mtime = datetime.datetime.fromtimestamp(
        os.path.getmtime(args.actlens), datetime.timezone.utc).isoformat()
    snapshot = os.path.join(args.work, "actlens.snapshot")
    shutil.copy2(args.actlens, snapshot + ".tmp")
    os.replace(snapshot + ".tmp", snapshot)
    args.actlens = snapshot


def environment(args, repo, runner):
    """Versions and machine facts for the result JSON, incl. the RSS floor (/bin/true)."""
    floor = spawn_measured(["/bin/true"], dict(os.environ),
                           os.path.join(runner.logs, "floor.log"))[2]

    def out(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
        except Exception:  # pragma: no cover
            return None
    cpu = None
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")),
                       None)
    except OSError:
        pass
    return {"created": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "actlens": args.actlens_source, "actlens_version": out([args.actlens, "--version"]),
            "actlens_mtime": args.actlens_mtime,
            "git_commit": out(["git", "-C", repo, "rev-parse", "--short", "HEAD"]),
            "cpu": cpu, "nproc": os.cpu_count(), "python": platform.python_version(),
            "threads": args.threads, "reps": args.reps, "quick": args.quick,
            "env": {k: os.environ[k] for k in BLAS_THREAD_VARS + ("OMP_WAIT_POLICY",
                                                                 "GOMP_SPINCOUNT")
                    if k in os.environ},
            "rss_floor_mib": floor}


def render_text(header, rows, n_left=1):
    """Plain-text table; the first n_left columns left-aligned, the rest right-aligned."""
    w = [max(len(str(x)) for x in col) for col in zip(header, *rows)]

    def line(r):
        return "  ".join(str(c).ljust(w[i]) if i < n_left else str(c).rjust(w[i])
                         for i, c in enumerate(r)).rstrip()
    return "\n".join([line(header), "  ".join("-" * x for x in w)] + [line(r) for r in rows])


def render_md(header, rows, n_left=1):
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join(["---"] * n_left + ["---:"] * (len(header) - n_left)) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def pair_table(cases, peer):
    """One row per configuration: actlens vs one Python peer.  cases = [(name, actlens_row,
    peer_row)]; ratios are peer / actlens (> 1: actlens faster / smaller)."""
    header = ["config", "actlens wall s", f"{peer} wall s", "wall ratio", "actlens core s",
              f"{peer} core s", "core ratio", "actlens RSS MiB", f"{peer} RSS MiB", "RSS ratio",
              "bg cores a/p"]
    rows = []
    for name, a, p in cases:
        a = a if a and "error" not in a else None
        p = p if p and "error" not in p else None

        def g(r, k):
            return None if r is None else r.get(k)

        def x(v):
            return "-" if v is None else f"{v:.2f}x"

        def bg(r):
            v = g(r, "background_cores")
            return "-" if v is None else f"{v:.2f}"
        rows.append([name, fmt(g(a, "wall_s")) if a else "FAILED",
                     fmt(g(p, "wall_s")) if p else "FAILED",
                     x(ratio(g(p, "wall_s"), g(a, "wall_s"))),
                     fmt(g(a, "core_s")), fmt(g(p, "core_s")),
                     x(ratio(g(p, "core_s"), g(a, "core_s"))),
                     fmt(g(a, "peak_rss_mib")), fmt(g(p, "peak_rss_mib")),
                     x(ratio(g(p, "peak_rss_mib"), g(a, "peak_rss_mib"))),
                     f"{bg(a)}/{bg(p)}"])
    return header, rows


def write_results(args, name, title, lines, header, rows, legend, checks, results):
    """Write WORK/<name>_results[_quick].{json,md} (or --json OUT and OUT with .md); returns
    the two paths."""
    json_path = args.json or os.path.join(
        args.work, f"{name}_results{'_quick' if args.quick else ''}.json")
    md_path = (json_path[:-5] if json_path.endswith(".json") else json_path) + ".md"
    os.makedirs(os.path.dirname(json_path), exist_ok=True)
    with open(md_path, "w") as f:
        f.write(f"# {title} ({results['created']})\n\n")
        for ln in lines:
            f.write(f"- {ln}\n")
        f.write("\n" + render_md(header, rows) + "\n\n```\n" + legend + "\n\n" + checks
                + "\n```\n")
    write_json(json_path, results)
    return json_path, md_path
