#!/usr/bin/env python3
"""Python peer of `actlens train --config configs/rrxor.toml`: the same model in TransformerLens
(HookedTransformer), the same optimiser and schedule (AdamW, linear warm-up, cosine decay to 10%,
gradient-norm clip 1), fresh RRXOR batches sampled with numpy. Prints its wall time, peak RSS and
the exact expected loss over every context (from the MSP files `actlens process beliefs` writes),
so the two runs are compared on the same number.
    .venv-ref/bin/python peer_tl.py MSP_DIR [--steps N] [--threads T]
"""
import argparse
import math
import os
import resource
import sys
import time

import numpy as np
import torch
from transformer_lens import HookedTransformer, HookedTransformerConfig

ap = argparse.ArgumentParser()
ap.add_argument("msp_dir")
ap.add_argument("--steps", type=int, default=2000)
ap.add_argument("--batch-size", type=int, default=128)
ap.add_argument("--lr", type=float, default=1e-3)
ap.add_argument("--warmup", type=int, default=200)
ap.add_argument("--threads", type=int, default=0)
a = ap.parse_args()
if a.threads:
    torch.set_num_threads(a.threads)
t0 = time.perf_counter()

# RRXOR: states S, 0, 1, T, F (T[x][i][j] = P(emit x, go to j | i)), stationary start.
T = np.zeros((2, 5, 5))
T[0, 0, 1] = T[1, 0, 2] = 0.5
T[0, 1, 4] = T[1, 1, 3] = 0.5
T[1, 2, 4] = T[0, 2, 3] = 0.5
T[1, 3, 0] = 1.0
T[0, 4, 0] = 1.0
pi = np.array([1 / 3, 1 / 6, 1 / 6, 1 / 6, 1 / 6])
rng = np.random.default_rng(0)
flat = T.transpose(1, 0, 2).reshape(5, 10)  # per state: (x, j) pairs
cum = np.cumsum(flat, 1)


def sample(n, length):
    s = rng.choice(5, size=n, p=pi)
    out = np.empty((n, length), np.int64)
    for t in range(length):
        k = (rng.random(n)[:, None] < cum[s]).argmax(1)
        out[:, t], s = k // 5, k % 5
    return out


cfg = HookedTransformerConfig(n_layers=4, d_model=128, n_ctx=10, d_head=16, n_heads=4, d_mlp=512,
                              d_vocab=2, act_fn="relu", normalization_type="LN", seed=0,
                              device="cpu")
model = HookedTransformer(cfg)
opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.0)


def lr_at(step):
    if step < a.warmup:
        return a.lr * (step + 1) / a.warmup
    t = min(1.0, (step - a.warmup) / max(1, a.steps - a.warmup))
    lo = a.lr * 0.1
    return lo + 0.5 * (a.lr - lo) * (1 + math.cos(math.pi * t))


for step in range(a.steps):
    for g in opt.param_groups:
        g["lr"] = lr_at(step)
    seq = torch.from_numpy(sample(a.batch_size, 11))
    # next-token loss at all n_ctx positions, as actlens trains (TL's return_type="loss" would
    # drop the last position: it shifts inside the input)
    logits = model(seq[:, :-1])
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                             seq[:, 1:].reshape(-1))
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
train_s = time.perf_counter() - t0

# Exact expected loss over every context of length 10, as actlens' run.json exact_loss_nats.
inputs = np.load(os.path.join(a.msp_dir, "inputs.npy"))
beliefs = np.load(os.path.join(a.msp_dir, "input_beliefs.npy"))
prob = np.load(os.path.join(a.msp_dir, "input_probabilities.npy"))
target = beliefs @ T.sum(2).T  # P(x | belief) = belief T[x] 1
with torch.no_grad():
    logp = torch.log_softmax(model(torch.from_numpy(inputs)).double(), -1).numpy()
exact = float((-(target * logp).sum(-1).mean(-1) * prob).sum())
print(f"transformer_lens train: {train_s:.1f} s, peak RSS "
      f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB, {a.steps} steps, "
      f"exact loss {exact:.6f} nats")
