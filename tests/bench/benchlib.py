"""Helpers the benchmarks in tests/bench/*/run.py share: peak-memory and CPU accounting of child
processes, waiting for an idle machine, JSON files, number formatting. Standard library only."""
import json
import os
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
