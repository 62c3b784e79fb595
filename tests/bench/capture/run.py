#!/usr/bin/env python3
"""Benchmark `actlens capture` (GPT-2 forward pass in LibTorch) against Hugging Face transformers.

Run with the reference venv (see README.md next to this file):

    .venv-ref/bin/python tests/bench/capture/run.py [--quick] [--texts N] [--repeat K] ...
    tests/bench/capture/run [same flags]

Case: a random-weight GPT-2 small (GPT2Config() defaults: 12 layers, d=768, 12 heads, vocab 50257,
n_positions 1024; torch.manual_seed(0)), texts of exactly T=128 GPT-2 tokens, B=8 texts per
forward pass, float32, 2 threads, the final-token residual stream of every block kept.  Peers:
    gemm                one torch.mm per linear layer shape for B*T rows (c_attn 768x2304, attn
                        c_proj 768x768, mlp c_fc 768x3072, mlp c_proj 3072x768) x 12 layers: the
                        yardstick ("tokens/s if only the GEMMs ran")
    transformers-eager  GPT2Model.from_pretrained(attn_implementation="eager"), per batch
                        model(**batch, output_hidden_states=True) and the seeds' final-token
                        gather h[arange(B), mask.sum(1)-1] of hidden_states[1..12]
    transformers-sdpa   the same with the default attention (scaled_dot_product_attention)
    actlens             actlens -q capture --model DIR --input texts.csv
                                --hooks 'blocks.*.hook_resid_post' --aggregate final
                                --batch-size 8 --threads 2 --out DIR2 --force

Every peer runs in its own child process.  Wall time = spawn to exit of that child; peak RSS =
ru_maxrss of that child from os.wait4().  Linux charges a child with the RSS its parent had when
it forked, so this orchestrator deliberately imports nothing but the standard library (numpy,
torch, transformers are only imported inside the worker children); the resulting floor is
measured with /bin/true and reported.  Helpers are copied from tests/bench/lda/run.py.

Nothing here is part of the default test suite.
"""

import argparse
import csv
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
TOKENIZER_DIR = os.path.join(REPO, "tests", "data", "tokenizer", "gpt2")
DEFAULT_WORK = os.path.join(REPO, "tests", "bench", "work", "capture")
DEFAULT_ACTLENS = os.path.join(REPO, "build", "release", "actlens")

FULL_TEXTS = 64
QUICK_TEXTS = 16
PEERS = ("gemm", "transformers-eager", "transformers-sdpa", "actlens")
DEFAULT_HOOKS = "blocks.*.hook_resid_post"
# targets from the issue: actlens tokens/s >= 1.2x PyTorch eager and >= 860 tokens/s
TARGET_RATIO = 1.2
TARGET_TOKENS_S = 860.0

MiB = 1024.0 * 1024.0


# =============================================================================================
# Helpers usable in both the orchestrator and the workers (stdlib only)
# =============================================================================================


def read_texts(path):
    """texts.csv (label,text) -> (labels, texts), in file order."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r["label"] for r in rows], [r["text"] for r in rows]


# =============================================================================================
# Workers (run in child processes: `run.py _worker NAME PARAMS_JSON RESULT_PATH`)
# =============================================================================================


def _set_threads(p):
    import torch
    if p.get("threads"):
        torch.set_num_threads(int(p["threads"]))
    return torch.get_num_threads()


def _hf_tokenizer(model_dir):
    """GPT-2 fast tokenizer from the real encoder.json (= vocab.json) + vocab.bpe (= merges.txt),
    pad = eos, right padding (the seeds' setup).  transformers 5 takes the paths as vocab= /
    merges= (it silently ignores vocab_file= / merges_file= and builds an empty tokenizer)."""
    from transformers import GPT2TokenizerFast
    tok = GPT2TokenizerFast(vocab=os.path.join(model_dir, "encoder.json"),
                            merges=os.path.join(model_dir, "vocab.bpe"))
    if len(tok) != 50257 or tok("hello world")["input_ids"] != [31373, 995]:
        raise SystemExit(f"GPT-2 tokenizer from {model_dir} did not load (size {len(tok)})")
    tok.pad_token = tok.eos_token
    tok.padding_side = "right"
    return tok


def worker_gen_model(p):
    """The random-weight GPT-2 small folder: config.json + model.safetensors + tokenizer files."""
    import torch
    from transformers import GPT2Config, GPT2Model
    import transformers

    out = p["dir"]
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    torch.manual_seed(p["seed"])
    GPT2Model(GPT2Config()).save_pretrained(out)
    if not os.path.exists(os.path.join(out, "model.safetensors")):
        raise SystemExit("save_pretrained wrote no model.safetensors")
    for fn in ("encoder.json", "vocab.bpe"):
        shutil.copy2(os.path.join(TOKENIZER_DIR, fn), os.path.join(out, fn))
    cfg = read_json(os.path.join(out, "config.json"))
    return {"config": {k: cfg.get(k) for k in ("n_layer", "n_embd", "n_head", "vocab_size",
                                               "n_positions")},
            "bytes": sum(os.path.getsize(os.path.join(out, fn)) for fn in os.listdir(out)),
            "torch": torch.__version__, "transformers": transformers.__version__}


def worker_gen_texts(p):
    """N texts of exactly T GPT-2 tokens: random words (a fixed list: the vocabulary's lowercase
    ' word' tokens of 3+ letters) with some punctuation, tokenised, cut to T ids, decoded; kept
    only if re-encoding the decoded text gives the same T ids."""
    import random

    tok = _hf_tokenizer(p["model_dir"])
    vocab = read_json(os.path.join(p["model_dir"], "encoder.json"))
    words = sorted(t[1:] for t in vocab
                   if t.startswith("\u0120") and len(t) >= 4 and t[1:].isascii()
                   and t[1:].isalpha() and t[1:].islower())
    rng = random.Random(p["seed"])
    T, N = p["tokens"], p["texts"]
    texts, rejected = [], 0
    while len(texts) < N:
        parts = []
        capital = True
        while len(parts) < T + 40:
            w = rng.choice(words)
            parts.append(w.capitalize() if capital else w)
            capital = False
            u = rng.random()
            if u < 0.06:
                parts[-1] += "."
                capital = True
            elif u < 0.12:
                parts[-1] += ","
        ids = tok(" ".join(parts))["input_ids"]
        if rejected > 100 + 10 * N:
            raise SystemExit(f"gave up: {rejected} texts did not round-trip to {T} tokens")
        if len(ids) < T:
            rejected += 1
            continue
        ids = ids[:T]
        text = tok.decode(ids, clean_up_tokenization_spaces=False)
        if tok(text)["input_ids"] != ids or text != text.strip():
            rejected += 1
            continue
        texts.append(text)
    os.makedirs(os.path.dirname(p["path"]), exist_ok=True)
    tmp = p["path"] + ".tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["label", "text"])
        for i, t in enumerate(texts):
            w.writerow([f"g{i % 4}", t])
    os.replace(tmp, p["path"])
    return {"texts": N, "tokens": T, "rejected": rejected, "word_list": len(words)}


def worker_gemm(p):
    """torch.mm float32 at the model's linear-layer shapes for B*T rows; per shape the fastest of
    --gemm-reps after one warm-up.  GEMM-only time per batch = n_layer * sum over the shapes."""
    t0 = time.perf_counter()
    import torch
    nthreads = _set_threads(p)
    t_imp, rss_imp = time.perf_counter() - t0, proc_status_mib("VmRSS")
    t_start = time.perf_counter()
    rows, d, n_layer = p["batch_size"] * p["tokens"], p["d_model"], p["n_layer"]
    shapes = {"attn.c_attn": (d, 3 * d), "attn.c_proj": (d, d), "mlp.c_fc": (d, 4 * d),
              "mlp.c_proj": (4 * d, d)}
    g = torch.Generator().manual_seed(0)
    per_shape = {}
    with torch.inference_mode():
        for name, (k, n) in shapes.items():
            x = torch.randn(rows, k, generator=g)
            w = torch.randn(k, n, generator=g) * 0.02
            torch.mm(x, w)  # warm-up
            times = []
            for _ in range(p["gemm_reps"]):
                t = time.perf_counter()
                torch.mm(x, w)
                times.append(time.perf_counter() - t)
            per_shape[name] = {"shape": [rows, k, n], "best_s": min(times), "times_s": times,
                               "gflops": 2.0 * rows * k * n / min(times) / 1e9}
        # for information: the attention's two batched products per layer (not in the yardstick)
        B, T, H = p["batch_size"], p["tokens"], p["n_head"]
        q = torch.randn(B * H, T, d // H, generator=g)
        kt = torch.randn(B * H, d // H, T, generator=g)
        torch.bmm(q, kt)
        times = []
        for _ in range(p["gemm_reps"]):
            t = time.perf_counter()
            s = torch.bmm(q, kt)
            torch.bmm(s, q)
            times.append(time.perf_counter() - t)
        attn_bmm_s = min(times)
    layer_s = sum(v["best_s"] for v in per_shape.values())
    batch_s = n_layer * layer_s
    n_batches = p["texts"] / p["batch_size"]
    res = {"core_s": n_batches * batch_s, "gemm_batch_s": batch_s, "per_shape": per_shape,
           "attn_bmm_batch_s": n_layer * attn_bmm_s,
           "tokens_per_s": rows / batch_s,
           "tokens_per_s_with_attn_bmm": rows / (batch_s + n_layer * attn_bmm_s),
           "in_proc_s": time.perf_counter() - t_start, "threads": nthreads,
           "torch": torch.__version__}
    return _finish(res, t_imp, rss_imp)


def worker_transformers(p):
    """The seeds' capture loop: per batch of B texts model(**batch, output_hidden_states=True),
    then the final-token row of every hidden_states[1..n_layer], kept in a list."""
    t0 = time.perf_counter()
    import numpy as np
    import torch
    import transformers
    from transformers import GPT2Model
    nthreads = _set_threads(p)
    t_imp, rss_imp = time.perf_counter() - t0, proc_status_mib("VmRSS")
    t_start = time.perf_counter()
    kw = {"dtype": torch.float32}
    if p.get("attn_implementation"):
        kw["attn_implementation"] = p["attn_implementation"]
    model = GPT2Model.from_pretrained(p["model_dir"], **kw)
    model.eval()
    load_s = time.perf_counter() - t_start
    rss_loaded = proc_status_mib("VmRSS")
    t = time.perf_counter()
    tok = _hf_tokenizer(p["model_dir"])
    _, texts = read_texts(p["texts_path"])
    B = p["batch_size"]
    batches = [tok(texts[i:i + B], return_tensors="pt", padding=True)
               for i in range(0, len(texts), B)]
    tokenize_s = time.perf_counter() - t
    n_tokens = int(sum(int(b["attention_mask"].sum()) for b in batches))
    captured = []
    batch_times = []
    with torch.inference_mode():
        t_loop = time.perf_counter()
        for batch in batches:
            tb = time.perf_counter()
            out = model(**batch, output_hidden_states=True)
            mask = batch["attention_mask"]
            last = mask.sum(1) - 1
            rows = torch.arange(mask.shape[0])
            captured.append([h[rows, last] for h in out.hidden_states[1:]])
            batch_times.append(time.perf_counter() - tb)
        forward_s = time.perf_counter() - t_loop
    t = time.perf_counter()
    n_layer = len(captured[0])
    final = np.stack([torch.cat([c[layer] for c in captured]).numpy()
                      for layer in range(n_layer)])  # [n_layer, N, d], file order
    np.save(p["save"], final)
    save_s = time.perf_counter() - t
    res = {"core_s": forward_s, "load_s": load_s, "tokenize_s": tokenize_s, "save_s": save_s,
           "in_proc_s": time.perf_counter() - t_start, "batch_times_s": batch_times,
           "n_texts": len(texts), "n_tokens": n_tokens,
           "tokens_per_s": n_tokens / forward_s if forward_s > 0 else None,
           "tokens_per_text": sorted({int(v) for b in batches
                                      for v in b["attention_mask"].sum(1)}),
           "attn_implementation": model.config._attn_implementation,
           "rss_after_load_mib": rss_loaded, "threads": nthreads, "torch": torch.__version__,
           "transformers": transformers.__version__}
    return _finish(res, t_imp, rss_imp)


def worker_compare(p):
    """actlens blocks.L.hook_resid_post (rows mapped back to file order with labels.csv) vs the
    eager peer's final-token hidden_states[L+1]; hidden_states[n_layer] is after ln_f, so the last
    block is compared after applying ln_f (weights from model.safetensors) to actlens's rows."""
    import numpy as np
    from safetensors.numpy import load_file

    eager = np.load(p["eager"])  # [n_layer, N, d]
    n_layer = eager.shape[0]
    with open(os.path.join(p["actlens_out"], "labels.csv"), newline="", encoding="utf-8") as f:
        lab = list(csv.DictReader(f))
    index = np.array([int(r["index"]) for r in lab])
    n_tokens = sorted({int(r["n_tokens"]) for r in lab})
    w = load_file(os.path.join(p["model_dir"], "model.safetensors"))
    prefix = "" if "ln_f.weight" in w else "transformer."
    g, b = w[prefix + "ln_f.weight"].astype(np.float64), w[prefix + "ln_f.bias"].astype(np.float64)
    eps = read_json(os.path.join(p["model_dir"], "config.json")).get("layer_norm_epsilon", 1e-5)
    per_layer = []
    for layer in range(n_layer):
        f = os.path.join(p["actlens_out"], f"blocks.{layer}.hook_resid_post.safetensors")
        a = np.empty_like(eager[layer])
        a[index] = load_file(f)["activations"]
        a = a.astype(np.float64)
        ref = eager[layer].astype(np.float64)
        if layer == n_layer - 1:
            mu = a.mean(-1, keepdims=True)
            var = ((a - mu) ** 2).mean(-1, keepdims=True)
            a = (a - mu) / np.sqrt(var + eps) * g + b
        per_layer.append({"layer": layer, "max_abs_diff": float(np.abs(a - ref).max()),
                          "max_abs": float(np.abs(ref).max()),
                          "after_ln_f": layer == n_layer - 1})
    res = {"per_layer": per_layer, "max_abs_diff": max(r["max_abs_diff"] for r in per_layer),
           "max_abs": max(r["max_abs"] for r in per_layer), "n_texts": len(lab),
           "actlens_tokens_per_text": n_tokens}
    if p.get("sdpa") and os.path.exists(p["sdpa"]):
        res["sdpa_vs_eager_max_abs_diff"] = float(np.abs(np.load(p["sdpa"]) - eager).max())
    return res


WORKERS = {
    "gen-model": worker_gen_model,
    "gen-texts": worker_gen_texts,
    "gemm": worker_gemm,
    "transformers": worker_transformers,
    "compare": worker_compare,
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
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    return env


def spawn_measured(cmd, env, log_path, timeout=None):
    """Run cmd as a child; return (rc, wall_s, ru_maxrss_mib, user_s, sys_s, bg_cores)."""
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


def run_actlens(case, out_dir, args, tag):
    log_path = os.path.join(args.work, "logs", f"{tag}.log")
    cmd = [args.actlens, "-q", "capture", "--model", case["model_dir"], "--input",
           case["texts_path"], "--hooks", args.hooks, "--aggregate", "final", "--batch-size",
           str(args.batch_size), "--threads", str(args.threads), "--out", out_dir, "--force"]
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
    fwd = tm.get("forward_s", tm.get("forward"))
    summ = rj.get("summary", {})
    n_tokens = summ.get("n_tokens", case["texts"] * case["tokens"])
    row["core_s"] = fwd
    row["in_proc_s"] = tm.get("total_s")
    row["n_texts"] = summ.get("n_texts")
    row["n_tokens"] = n_tokens
    row["tokens_per_s"] = n_tokens / fwd if fwd else None
    row["threads"] = rj.get("threads")
    for k in ("onednn_sgemm", "libtorch"):
        if k in summ:
            row[k] = summ[k]
    return row


def best_of(fn, repeat):
    """Run fn() repeat times; keep the run with the smallest forward (core) time, list all runs."""
    runs = [fn() for _ in range(max(1, repeat))]
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return runs[-1]
    best = dict(min(ok, key=lambda r: (r.get("core_s") or r["wall_s"])))
    if len(runs) > 1:
        best["repeats"] = [{k: r.get(k) for k in ("wall_s", "core_s", "tokens_per_s",
                                                  "peak_rss_mib", "background_cores", "rc")}
                           for r in runs]
    return best


def ensure_generated(kind, params, target, manifest, args):
    """Generate (in a child) unless `manifest` records identical parameters and `target` exists."""
    if not args.regen and os.path.exists(manifest) and os.path.exists(target):
        m = read_json(manifest)
        if m.get("params") == params and m.get("complete"):
            print(f"  reusing {os.path.relpath(target, REPO)}", flush=True)
            return m
    print(f"  generating {os.path.relpath(target, REPO)} ...", flush=True)
    if os.path.exists(manifest):
        os.remove(manifest)
    row = run_worker(kind, params, args, kind, wait=False)
    if row["rc"] != 0 or "error" in row:
        raise SystemExit(f"{kind} failed:\n{row.get('error')}")
    info = {k: v for k, v in row.items() if k not in ("log",)}
    m = {"params": params, "complete": True, "info": info,
         "generated": datetime.datetime.now(datetime.timezone.utc).isoformat()}
    write_json(manifest, m)
    print(f"  generated in {row['wall_s']:.1f} s", flush=True)
    return m


def report_row(peer, row):
    if "error" in row:
        print(f"    {peer}: FAILED rc={row['rc']} (log {row['log']})\n{row['error']}", flush=True)
    else:
        core, tps, bg = row.get("core_s"), row.get("tokens_per_s"), row.get("background_cores")
        core = "-" if core is None else f"{core:.3f}"
        tps = "-" if tps is None else f"{tps:.0f}"
        bg = "-" if bg is None else f"{bg:.2f}"
        print(f"    {peer}: wall {row['wall_s']:.3f} s, forward {core} s, {tps} tokens/s, "
              f"peak RSS {row['peak_rss_mib']:.1f} MiB, bg cores {bg}", flush=True)


def run_case(args):
    case = {"texts": args.texts, "tokens": args.tokens, "batch_size": args.batch_size,
            "seed": args.seed}
    model_params = {"seed": args.seed, "config": "GPT2Config()"}
    case["model_dir"] = os.path.join(args.work, f"gpt2-random-s{args.seed}")
    model_params["dir"] = case["model_dir"]
    print(f"Case: random GPT-2 small (GPT2Config(), seed {args.seed}), {args.texts} texts x "
          f"{args.tokens} tokens, batch {args.batch_size}, float32, threads {args.threads}",
          flush=True)
    ensure_generated("gen-model", model_params, os.path.join(case["model_dir"],
                                                             "model.safetensors"),
                     os.path.join(case["model_dir"], "manifest.json"), args)
    case["texts_path"] = os.path.join(
        args.work, f"texts_n{args.texts}_t{args.tokens}_s{args.seed}.csv")
    text_params = {"texts": args.texts, "tokens": args.tokens, "seed": args.seed,
                   "model_dir": case["model_dir"], "path": case["texts_path"]}
    ensure_generated("gen-texts", text_params, case["texts_path"],
                     case["texts_path"][:-4] + ".manifest.json", args)
    cfg = read_json(os.path.join(case["model_dir"], "config.json"))
    warm_cache(case["model_dir"])
    warm_cache(case["texts_path"])

    out_dir = os.path.join(args.work, "actlens_out")
    saves = {"transformers-eager": os.path.join(args.work, "final_transformers-eager.npy"),
             "transformers-sdpa": os.path.join(args.work, "final_transformers-sdpa.npy")}
    rows = {}
    for peer in PEERS:
        if args.peers and peer not in args.peers:
            continue
        print(f"  running {peer} ...", flush=True)
        if peer == "actlens":
            rows[peer] = best_of(lambda: run_actlens(case, out_dir, args, "actlens"),
                                 args.repeat)
        elif peer == "gemm":
            wp = {"batch_size": args.batch_size, "tokens": args.tokens, "texts": args.texts,
                  "d_model": cfg["n_embd"], "n_layer": cfg["n_layer"], "n_head": cfg["n_head"],
                  "gemm_reps": args.gemm_reps, "threads": args.threads}
            rows[peer] = best_of(lambda: run_worker("gemm", wp, args, "gemm"), args.repeat)
        else:
            wp = {"model_dir": case["model_dir"], "texts_path": case["texts_path"],
                  "batch_size": args.batch_size, "threads": args.threads, "save": saves[peer],
                  "attn_implementation": "eager" if peer == "transformers-eager" else None}
            rows[peer] = best_of(lambda: run_worker("transformers", wp, args, peer),
                                 args.repeat)
        report_row(peer, rows[peer])

    checks = {}
    act, eager = rows.get("actlens", {}), rows.get("transformers-eager", {})
    if act and eager and "error" not in act and "error" not in eager \
            and args.hooks == DEFAULT_HOOKS:
        cp = {"eager": saves["transformers-eager"], "sdpa": saves["transformers-sdpa"]
              if "transformers-sdpa" in rows else None,
              "actlens_out": out_dir, "model_dir": case["model_dir"]}
        c = run_worker("compare", cp, args, "compare", wait=False)
        if "error" in c:
            print(f"  compare FAILED:\n{c['error']}", flush=True)
            checks["error"] = c["error"]
        else:
            checks = {k: v for k, v in c.items() if k in (
                "per_layer", "max_abs_diff", "max_abs", "n_texts", "actlens_tokens_per_text",
                "sdpa_vs_eager_max_abs_diff")}
    if not args.keep:
        for f in saves.values():
            if os.path.exists(f):
                os.remove(f)
        if os.path.isdir(out_dir):
            shutil.rmtree(out_dir)
    return {"params": case, "model_config": {k: cfg.get(k) for k in (
        "n_layer", "n_embd", "n_head", "vocab_size", "n_positions")}, "rows": rows,
        "checks": checks}


# ---------------------------------------------------------------------------------------------
# Table
# ---------------------------------------------------------------------------------------------


def table_rows(results):
    header = ["peer", "wall s", "forward s", "tokens/s", "peak RSS MiB", "actlens / peer tokens/s",
              "RSS / actlens", "bg cores"]
    rows = results["case"]["rows"]
    ref = rows.get("actlens", {})
    if "error" in ref:
        ref = {}
    out = []
    for peer, r in rows.items():
        if "error" in r:
            out.append([peer, "FAILED", "-", "-", "-", "-", "-", "-"])
            continue
        rt = ratio(ref.get("tokens_per_s"), r.get("tokens_per_s"))
        rm = ratio(r["peak_rss_mib"], ref.get("peak_rss_mib"))
        out.append([peer, f"{r['wall_s']:.3f}", fmt(r.get("core_s")),
                    "-" if r.get("tokens_per_s") is None else f"{r['tokens_per_s']:.1f}",
                    f"{r['peak_rss_mib']:.1f}",
                    "-" if rt is None else f"{rt:.2f}x",
                    "-" if rm is None else f"{rm:.2f}x",
                    "-" if r.get("background_cores") is None
                    else f"{r['background_cores']:.2f}"])
    return header, out


def render_text(header, rows):
    w = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = "  ".join(h.ljust(w[i]) if i < 1 else h.rjust(w[i]) for i, h in enumerate(header))
    sep = "  ".join("-" * x for x in w)
    body = ["  ".join(str(c).ljust(w[i]) if i < 1 else str(c).rjust(w[i])
                      for i, c in enumerate(r)) for r in rows]
    return "\n".join([line, sep] + body)


def render_md(header, rows):
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


LEGEND = """\
wall s     : spawn-to-exit wall clock of the peer's own child process (interpreter start,
             imports, model load and tokenisation included; actlens: load of the 0.5 GB
             safetensors, tokenisation, forward and writing the outputs)
forward s  : actlens: run.json timings.forward_s; transformers-*: the loop over the batches
             (model(**batch, output_hidden_states=True) + final-token gather of hidden_states
             [1..{n_layer}]; tokenisation and model load excluded); gemm: {n_batches:g} batches x
             {n_layer} layers x the 4 linear-layer torch.mm's (fastest of --gemm-reps each)
tokens/s   : texts x tokens / forward s ({n_tok} tokens); gemm: "tokens/s if only the GEMMs ran"
peak RSS   : ru_maxrss of that child (os.wait4); floor from the orchestrator: {floor:.1f} MiB
ratios     : actlens tokens/s / peer tokens/s (>1 = actlens faster); peer RSS / actlens RSS
             (>1 = actlens smaller)
repeat     : {repeat} run(s) per peer; the row is the run with the smallest forward s
bg cores   : average number of cores busy with OTHER processes while the peer ran (/proc/stat
             minus the child's own CPU time); well above 0 means the timing is contaminated"""


def verdict(results):
    rows = results["case"]["rows"]
    a, e = rows.get("actlens", {}), rows.get("transformers-eager", {})
    if not a.get("tokens_per_s") or not e.get("tokens_per_s"):
        return None
    r = a["tokens_per_s"] / e["tokens_per_s"]
    met = r >= TARGET_RATIO and a["tokens_per_s"] >= TARGET_TOKENS_S
    return (f"actlens is {r:.2f}x PyTorch eager ({a['tokens_per_s']:.0f} vs "
            f"{e['tokens_per_s']:.0f} tokens/s); target >= {TARGET_RATIO}x and >= "
            f"{TARGET_TOKENS_S:.0f} tokens/s: {'met' if met else 'NOT met'}")


def checks_text(results):
    lines = []
    case = results["case"]
    c, rows = case.get("checks", {}), case["rows"]
    if c.get("per_layer"):
        lines.append(f"actlens vs transformers-eager, final-token residual stream of all "
                     f"{len(c['per_layer'])} blocks ({c['n_texts']} texts): max abs diff = "
                     f"{c['max_abs_diff']:.3e} (max |value| {c['max_abs']:.3g}; the last block "
                     f"compared after ln_f, as hidden_states[-1]); tokens per text in actlens: "
                     f"{c['actlens_tokens_per_text']}")
        lines.append("   per layer: " + ", ".join(f"{r['layer']}: {r['max_abs_diff']:.1e}"
                                                  for r in c["per_layer"]))
        if c.get("sdpa_vs_eager_max_abs_diff") is not None:
            lines.append(f"transformers-sdpa vs transformers-eager: max abs diff = "
                         f"{c['sdpa_vs_eager_max_abs_diff']:.3e}")
    elif c.get("error"):
        lines.append("compare FAILED: " + c["error"].strip().splitlines()[-1])
    g = rows.get("gemm", {})
    if g.get("per_shape"):
        rows_per_batch = case["params"]["batch_size"] * case["params"]["tokens"]
        lines.append(f"gemm: per batch of {rows_per_batch} rows x "
                     f"{case['model_config']['n_layer']} layers "
                     f"{g['gemm_batch_s']:.3f} s -> {g['tokens_per_s']:.0f} tokens/s; shapes: "
                     + ", ".join(f"{k} {v['best_s'] * 1e3:.2f} ms ({v['gflops']:.0f} GFLOP/s)"
                                 for k, v in g["per_shape"].items())
                     + f"; with the attention bmm's ({g['attn_bmm_batch_s']:.3f} s/batch): "
                       f"{g['tokens_per_s_with_attn_bmm']:.0f} tokens/s")
        for peer in ("actlens", "transformers-eager", "transformers-sdpa"):
            r = rows.get(peer, {})
            if r.get("tokens_per_s"):
                lines.append(f"{peer}: {r['tokens_per_s'] / g['tokens_per_s'] * 100:.0f} % of the "
                             f"GEMM-only tokens/s")
    for peer in ("transformers-eager", "transformers-sdpa"):
        r = rows.get(peer, {})
        if r.get("batch_times_s"):
            bt = sorted(r["batch_times_s"])
            lines.append(f"{peer}: imports {r['import_s']:.2f} s, load {r['load_s']:.2f} s, "
                         f"tokenize {r['tokenize_s']:.3f} s; per batch first "
                         f"{r['batch_times_s'][0]:.3f} s, median {bt[len(bt) // 2]:.3f} s, min "
                         f"{bt[0]:.3f} s; RSS after imports {r['rss_after_imports_mib']:.0f} "
                         f"MiB, after load {r['rss_after_load_mib']:.0f} MiB; attention "
                         f"{r['attn_implementation']}; tokens per text {r['tokens_per_text']}; "
                         f"user+sys CPU {r['user_s'] + r['sys_s']:.1f} s")
    a = rows.get("actlens", {})
    if a.get("timings"):
        lines.append("actlens timings (s): "
                     + ", ".join(f"{k} {v:.3f}" for k, v in a["timings"].items())
                     + f"; threads {a.get('threads')}; libtorch {a.get('libtorch')}; oneDNN sgemm "
                       f"{a.get('onednn_sgemm')}; user+sys CPU {a['user_s'] + a['sys_s']:.1f} s")
    v = verdict(results)
    if v:
        lines.append(v)
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help=f"smoke test: {QUICK_TEXTS} texts (default {FULL_TEXTS})")
    ap.add_argument("--texts", type=int, default=None,
                    help=f"number of texts (default {FULL_TEXTS}, --quick {QUICK_TEXTS})")
    ap.add_argument("--tokens", type=int, default=128, help="tokens per text (default 128)")
    ap.add_argument("--batch-size", type=int, default=8, help="texts per forward pass (8)")
    ap.add_argument("--threads", type=int, default=2,
                    help="threads for every peer (torch.set_num_threads, OMP/MKL/OpenBLAS env "
                         "vars, actlens --threads); default 2")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run every peer this many times, report the run with the smallest "
                         "forward time (all runs are kept in the JSON); default 1")
    ap.add_argument("--peers", default=None,
                    help="comma list of peers to run (default all): " + ", ".join(PEERS))
    ap.add_argument("--actlens", default=DEFAULT_ACTLENS,
                    help="actlens binary (default build/release/actlens in the repo)")
    ap.add_argument("--hooks", default=DEFAULT_HOOKS,
                    help=f"actlens --hooks (default {DEFAULT_HOOKS!r}; the agreement check "
                         "needs the default)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the peers' outputs (WORK/actlens_out/, WORK/final_*.npy); the "
                         "model folder and texts are always kept and reused")
    ap.add_argument("--work", default=DEFAULT_WORK, help="work dir (model, texts, outputs)")
    ap.add_argument("--seed", type=int, default=0, help="model and text seed")
    ap.add_argument("--gemm-reps", type=int, default=5,
                    help="torch.mm repetitions per shape (fastest kept)")
    ap.add_argument("--peer-timeout", type=float, default=None,
                    help="kill a peer after this many seconds (default: no limit)")
    ap.add_argument("--regen", action="store_true", help="regenerate the model and texts")
    ap.add_argument("--wait-idle", type=float, default=0.0, metavar="S",
                    help="before each peer wait up to S seconds until other processes use less "
                         "than --idle-cores cores for 3 s in a row (default 0: do not wait)")
    ap.add_argument("--idle-cores", type=float, default=0.3,
                    help="threshold for --wait-idle (default 0.3 cores)")
    args = ap.parse_args(argv)
    if args.texts is None:
        args.texts = QUICK_TEXTS if args.quick else FULL_TEXTS
    if args.texts < 1 or args.tokens < 1 or args.batch_size < 1 or args.threads < 1:
        ap.error("--texts, --tokens, --batch-size and --threads must be >= 1")
    if args.tokens > 1024:
        ap.error("--tokens: at most 1024 (n_positions)")
    args.peers = None if args.peers is None else [p.strip() for p in args.peers.split(",")]
    if args.peers and set(args.peers) - set(PEERS):
        ap.error(f"unknown peer(s): {sorted(set(args.peers) - set(PEERS))}")
    args.work = os.path.abspath(args.work)
    args.actlens = os.path.abspath(os.path.join(REPO, args.actlens)) \
        if not os.path.isabs(args.actlens) else args.actlens
    return args


def main(argv):
    if argv and argv[0] == "_worker":
        return worker_main(argv[1:])
    args = parse_args(argv)
    if not (os.path.isfile(args.actlens) and os.access(args.actlens, os.X_OK)):
        raise SystemExit(f"actlens binary not found: {args.actlens}\n"
                         "build it: scripts/build release actlens")
    os.makedirs(os.path.join(args.work, "logs"), exist_ok=True)
    # the tree is rebuilt concurrently by others: run a private copy so every actlens run of
    # this benchmark uses the same binaries (they link only system libraries).  `actlens capture`
    # execs its sibling `actlens-torch` (the LibTorch half), so both are copied side by side.
    args.actlens_source = args.actlens
    snap_dir = os.path.join(args.work, "snapshot")
    os.makedirs(snap_dir, exist_ok=True)
    args.snapshot_files = {}
    for name in ("actlens", "actlens-torch"):
        src = args.actlens if name == "actlens" else os.path.join(
            os.path.dirname(args.actlens), name)
        dst = os.path.join(snap_dir, name)
        if os.path.exists(src):
            shutil.copy2(src, dst + ".tmp")
            os.replace(dst + ".tmp", dst)
            args.snapshot_files[name] = datetime.datetime.fromtimestamp(
                os.path.getmtime(src), datetime.timezone.utc).isoformat()
        elif os.path.exists(dst):
            os.remove(dst)
    args.actlens = os.path.join(snap_dir, "actlens")

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
        "quick": args.quick, "texts": args.texts, "tokens": args.tokens,
        "batch_size": args.batch_size, "hooks": args.hooks, "repeat": args.repeat,
        "threads": args.threads, "actlens": args.actlens_source, "actlens_version": ver,
        "actlens_mtimes": args.snapshot_files,
        "git_commit": commit, "cpu": cpu, "nproc": os.cpu_count(),
        "python": platform.python_version(), "rss_floor_mib": floor,
        "targets": {"ratio_vs_eager": TARGET_RATIO, "tokens_per_s": TARGET_TOKENS_S},
    }
    print(f"actlens {ver} ({args.actlens_source}"
          f"{' + actlens-torch' if 'actlens-torch' in args.snapshot_files else ''}, run from a "
          f"copy), {os.cpu_count()} CPUs "
          f"({cpu}), threads={args.threads}, RSS floor {floor:.1f} MiB", flush=True)
    t0 = time.perf_counter()
    results["case"] = run_case(args)
    results["bench_wall_s"] = time.perf_counter() - t0

    header, rows = table_rows(results)
    cfg = results["case"]["model_config"]
    legend = LEGEND.format(floor=floor, repeat=args.repeat, n_layer=cfg["n_layer"],
                           n_batches=args.texts / args.batch_size,
                           n_tok=args.texts * args.tokens)
    checks = checks_text(results)
    print()
    print(render_text(header, rows))
    print()
    print(legend)
    print()
    print(checks)

    suffix = "_quick" if args.quick else ""
    md_path = os.path.join(args.work, f"capture_results{suffix}.md")
    json_path = os.path.join(args.work, f"capture_results{suffix}.json")
    with open(md_path, "w") as f:
        f.write(f"# actlens capture benchmark ({results['created']})\n\n")
        f.write(f"actlens {ver} (git {commit}), {os.cpu_count()} CPUs ({cpu}), threads="
                f"{args.threads}\n\n")
        f.write(f"- random-weight GPT-2 small ({cfg['n_layer']} layers, d={cfg['n_embd']}, "
                f"{cfg['n_head']} heads, vocab {cfg['vocab_size']}), {args.texts} texts x "
                f"{args.tokens} tokens, batch {args.batch_size}, float32, hooks {args.hooks}, "
                f"final-token aggregation\n")
        f.write("\n" + render_md(header, rows) + "\n\n```\n" + legend + "\n\n" + checks
                + "\n```\n")
    write_json(json_path, results)
    print(f"\nwrote {os.path.relpath(md_path, REPO)} and {os.path.relpath(json_path, REPO)} "
          f"(bench {results['bench_wall_s']:.1f} s)")
    failed = [p for p, row in results["case"]["rows"].items() if "error" in row]
    if failed:
        print("FAILED peers: " + ", ".join(failed), file=sys.stderr)
        return 1
    if results["case"]["checks"].get("error"):
        print("agreement check FAILED", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]) or 0)
