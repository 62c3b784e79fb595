#!/usr/bin/env python3
"""Reference data for actlens's HookedTransformer (src/model/hooked_transformer.cpp), in both
directions, from TransformerLens 3.x (pinned < 4 in scripts/reference-env: 4.0 drops
HookedTransformer). Run from the repository root: .venv-ref/bin/python <this file>.

Python -> actlens: tests/reference/hooked/<name>/ for the models of MODELS below, each
  config.json   the HookedTransformerConfig fields given (no device/dtype)
  model.pt      torch.save(model.state_dict()) (TL's own format, buffers included)
  tokens.npy    int64 [3, n_ctx], seeded random tokens
  logits.npy    float32 [3, n_ctx, d_vocab_out], model(tokens)
  resid_post_L.npy  float32 [3, n_ctx, d_model], run_with_cache's blocks.L.hook_resid_post
Every parameter is redrawn after init (LayerNorm weights 1 + 0.3 randn, biases 0.2 randn, matrices
randn / sqrt(fan_in)): TL's init (zero biases, unit LayerNorm) would hide a forgotten term.

actlens -> Python: tests/reference/hooked/actlens_written/{config.json, model.pt} are written by
actlens (HookedTransformer::init(cfg).save(dir); regenerate them with
`build/release/tests/actlens_model_tests "[.write-hooked-fixture]"`, then rerun this script).
This script loads them exactly as a user would:
    cfg = HookedTransformerConfig(**{k: v for k, v in json.load(open(d / "config.json")).items()
                                     if k != "actlens"})
    model = HookedTransformer(cfg); model.load_state_dict(torch.load(d / "model.pt"), strict=True)
(torch.load with its default weights_only=True) and stores tokens.npy, logits.npy and
resid_post_L.npy there as above. It also compares TL's own fresh init for that config (same seed)
with actlens's weights and prints the largest difference (information only: the RNG kernels of
LibTorch 1.13 and PyPI torch need not agree bit for bit).
"""
import json
import pathlib
import sys

import numpy as np
import torch
from transformer_lens import HookedTransformer, HookedTransformerConfig

OUT = pathlib.Path("tests/reference/hooked")
BATCH = 3

MODELS = {
    # LayerNorm, relu, two layers.
    "ln_relu": dict(n_layers=2, d_model=32, n_heads=4, d_head=8, d_mlp=64, d_vocab=5, n_ctx=8,
                    act_fn="relu", normalization_type="LN", seed=1),
    # No normalization, gelu_new, n_heads * d_head != d_model, d_vocab_out != d_vocab.
    "none_gelu_new": dict(n_layers=1, d_model=24, n_heads=3, d_head=6, d_mlp=40, d_vocab=7,
                          d_vocab_out=4, n_ctx=6, act_fn="gelu_new", normalization_type=None,
                          seed=2),
    # silu, eps other than the default.
    "ln_silu": dict(n_layers=1, d_model=16, n_heads=2, d_head=8, d_mlp=32, d_vocab=9, n_ctx=5,
                    act_fn="silu", normalization_type="LN", eps=1e-3, seed=3),
}


def load_config(d):
    with open(d / "config.json") as f:
        fields = {k: v for k, v in json.load(f).items() if k != "actlens"}
    return HookedTransformerConfig(**fields, device="cpu")


def write_reference(model, d, seed):
    cfg = model.cfg
    g = torch.Generator().manual_seed(1000 + seed)
    tokens = torch.randint(0, cfg.d_vocab, (BATCH, cfg.n_ctx), generator=g)
    with torch.no_grad():
        logits, cache = model.run_with_cache(tokens)
    np.save(d / "tokens.npy", tokens.numpy().astype(np.int64))
    np.save(d / "logits.npy", logits.numpy().astype(np.float32))
    for layer in range(cfg.n_layers):
        resid = cache[f"blocks.{layer}.hook_resid_post"]
        np.save(d / f"resid_post_{layer}.npy", resid.numpy().astype(np.float32))


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            r = torch.randn(p.shape, generator=g)
            leaf = name.rsplit(".", 1)[-1]
            if name.startswith(("blocks.", "ln_final")) and leaf == "w":  # LayerNorm weight
                p.copy_(1 + 0.3 * r)
            elif leaf.startswith("b"):
                p.copy_(0.2 * r)
            elif leaf in ("W_E", "W_pos"):
                p.copy_(r)
            else:  # fan_in: d_model for W_Q/K/V, W_in, W_U; d_head * n_heads for W_O; d_mlp
                fan_in = p.shape[-2] * (p.shape[0] if leaf == "W_O" else 1)
                p.copy_(r / fan_in ** 0.5)


def python_written():
    for name, fields in MODELS.items():
        d = OUT / name
        d.mkdir(parents=True, exist_ok=True)
        with open(d / "config.json", "w") as f:
            json.dump(fields, f, indent=2)
            f.write("\n")
        model = HookedTransformer(load_config(d))
        randomize(model, fields["seed"])
        model.eval()
        torch.save(model.state_dict(), d / "model.pt")
        write_reference(model, d, fields["seed"])
        print(f"wrote {d}")


def actlens_written():
    d = OUT / "actlens_written"
    if not (d / "model.pt").exists():
        sys.exit(f"{d}/model.pt missing: write it with actlens_model_tests "
                 "\"[.write-hooked-fixture]\" first")
    cfg = load_config(d)
    model = HookedTransformer(cfg)  # TL's own init, seeded with cfg.seed
    fresh = {k: v.clone() for k, v in model.state_dict().items()}
    sd = torch.load(d / "model.pt")  # weights_only=True: our file needs no unsafe pickle
    model.load_state_dict(sd, strict=True)
    model.eval()
    diff = max((fresh[k].float() - v.float()).abs().max().item()
               for k, v in sd.items() if v.is_floating_point() and v.dim() > 0)
    print(f"{d}: TL's fresh init vs actlens's init, max |diff| = {diff:.3g}")
    write_reference(model, d, cfg.seed)
    print(f"wrote {d} references")


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    python_written()
    actlens_written()
