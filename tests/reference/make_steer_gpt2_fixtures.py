#!/usr/bin/env python3
"""Reference numbers for the text (GPT-2) mode of `actlens steer`, computed with Hugging Face
transformers (an implementation independent of actlens's LibTorch GPT-2), so the CLI's steering
vectors and next-token probabilities can be checked (tests/cli/steer_tests.cmake runs the CLI,
tests/reference/test_steer_gpt2_cli_output.cpp compares its files with these).

Model: tests/data/models/tiny (made by make_gpt2_fixtures.py: 2 layers, d_model 64, vocab 500,
n_positions 32), loaded with GPT2Model.from_pretrained(folder, dtype=float32,
attn_implementation="eager"), eval(), no_grad. The folder holds GPT2Model weights only; GPT-2's
unembedding is tied to the token embedding, so the next-token logits are
last_hidden_state @ wte.weight.T (what GPT2LMHeadModel's tied lm_head computes); probabilities
are softmax(logits) in float64. The tokenizer is GPT2TokenizerFast.from_pretrained(folder)
(no special tokens added). Every text and prompt runs alone (batch of one, no padding).

Hook points (TransformerLens names), all [1, T, d_model]:
  hook_embed                 output of wte            (forward hook on transformer.wte)
  blocks.L.hook_resid_post   output of transformer.h[L] (forward hook on the block)
Steering with multiplier m adds m * v[hook] to the hook's activation at EVERY position (the
edited activation flows on: steering blocks.0 changes what blocks.1 sees, then blocks.1 adds its
own row).

Cases (the CLI commands are in tests/cli/steer_tests.cmake):
  contrastive  hooks blocks.0.hook_resid_post, blocks.1.hook_resid_post (= blocks.*.hook_resid_
               post); v[hook] = mean over the texts of tests/data/steer/positive.txt of (the mean
               of the hook's activation over the text's tokens) minus the same over negative.txt
               (`--aggregate mean`; float64); prompts: tests/data/steer/prompts.txt, one per line;
               multipliers 0 (unsteered), -8, 2, 8.
  vector       hooks hook_embed, blocks.1.hook_resid_post; v = tests/data/steer/vector.npy
               ([2, 64] float32, written here: seeded normal(0, 1) rows, row i for hook i in
               forward order); prompts PROMPTS_VECTOR; multipliers 0, 0.5, -3.
Also tests/data/steer/row_vector.npy (row 1 of vector.npy, [64]: the CLI adds it at every hook) and
tests/data/steer/nan_vector.npy: row 0 of vector.npy with element 3 set to NaN ([64]; the
CLI must refuse it).

Output, tests/reference/steer_gpt2/<case>/:
  vectors.npy   [n_hooks, 64] float64: the steering vectors
  probs.npy     [n_prompts, n_multipliers, 500] float64: next-token probabilities at the last
                position of each prompt, multipliers in the order of meta.json (0 first)
  logits.npy    the same shape: the logits
  meta.json     {"hooks", "multipliers", "prompts", "prompt_ids", "top_k", "top_ids"
                 [n_prompts][n_multipliers][top_k], "generated_with"}

Deterministic (fixed texts and weights, CPU float32, seeded vector). Re-run from the repository
root with:
  scripts/reference-env        # once: the venv with torch, transformers and tokenizers
  .venv-ref/bin/python tests/reference/make_steer_gpt2_fixtures.py
"""
import json
import pathlib
import platform

import numpy as np
import torch
import transformers
from transformers import GPT2Model, GPT2TokenizerFast

REPO = pathlib.Path(__file__).resolve().parents[2]
MODEL = REPO / "tests" / "data" / "models" / "tiny"
DATA = REPO / "tests" / "data" / "steer"
OUT = REPO / "tests" / "reference" / "steer_gpt2"
TOP_K = 5
PROMPTS_VECTOR = ["Once upon a time", "He said"]


def read_lines(path):
    return [s for s in path.read_text(encoding="utf-8").splitlines() if s.strip()]


def load():
    model = GPT2Model.from_pretrained(MODEL, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    tok = GPT2TokenizerFast.from_pretrained(MODEL)
    return model, tok


def module_of(model, hook):
    if hook == "hook_embed":
        return model.wte
    parts = hook.split(".")
    assert parts[0] == "blocks" and parts[2] == "hook_resid_post", hook
    return model.h[int(parts[1])]


def first(out):
    return out[0] if isinstance(out, tuple) else out


def replace_first(out, x):
    return (x,) + tuple(out[1:]) if isinstance(out, tuple) else x


def run(model, ids, hooks, add=None, record=None):
    """Runs one text; `add[hook]` is added to the hook's output, `record[hook]` receives it."""
    handles = []
    for h in hooks:
        def fn(module, inputs, out, h=h):
            x = first(out)
            if add is not None:
                x = x + add[h].to(x.dtype)
            if record is not None:
                record[h] = x.detach().clone()
            return replace_first(out, x)
        handles.append(module_of(model, h).register_forward_hook(fn))
    try:
        with torch.no_grad():
            hidden = model(input_ids=torch.tensor([ids])).last_hidden_state
    finally:
        for hd in handles:
            hd.remove()
    return hidden


def contrastive_vectors(model, tok, hooks):
    def mean_of(path):
        texts = read_lines(path)
        rows = {h: [] for h in hooks}
        for t in texts:
            ids = tok.encode(t)
            assert 1 <= len(ids) <= model.config.n_positions, (t, len(ids))
            rec = {}
            run(model, ids, hooks, record=rec)
            for h in hooks:
                rows[h].append(rec[h][0].double().mean(0))  # mean over the text's tokens
        return {h: torch.stack(rows[h]).mean(0) for h in hooks}

    pos, neg = mean_of(DATA / "positive.txt"), mean_of(DATA / "negative.txt")
    return torch.stack([pos[h] - neg[h] for h in hooks])  # [n_hooks, d] float64


def next_tokens(model, tok, hooks, vectors, prompts, multipliers):
    wte = model.wte.weight.detach().double()
    probs, logits, top = [], [], []
    for p in prompts:
        ids = tok.encode(p)
        assert 1 <= len(ids) <= model.config.n_positions
        pp, ll, tt = [], [], []
        for m in multipliers:
            add = {h: (m * vectors[i]).float() for i, h in enumerate(hooks)}
            hidden = run(model, ids, hooks, add=add)
            lg = hidden[0, -1].double() @ wte.T
            pr = torch.softmax(lg, -1)
            pp.append(pr.numpy())
            ll.append(lg.numpy())
            tt.append(torch.topk(pr, TOP_K).indices.tolist())
        probs.append(pp)
        logits.append(ll)
        top.append(tt)
    return np.array(probs), np.array(logits), top


def write_case(name, model, tok, hooks, vectors, prompts, multipliers):
    d = OUT / name
    d.mkdir(parents=True, exist_ok=True)
    probs, logits, top = next_tokens(model, tok, hooks, vectors, prompts, multipliers)
    np.save(d / "vectors.npy", vectors.numpy().astype(np.float64))
    np.save(d / "probs.npy", probs)
    np.save(d / "logits.npy", logits)
    meta = {
        "hooks": hooks,
        "multipliers": multipliers,
        "prompts": prompts,
        "prompt_ids": [tok.encode(p) for p in prompts],
        "top_k": TOP_K,
        "top_ids": top,
        "generated_with": {"python": platform.python_version(), "torch": torch.__version__,
                           "transformers": transformers.__version__, "numpy": np.__version__},
    }
    (d / "meta.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    for i, p in enumerate(prompts):
        print(f"{name}: {p!r}")
        for j, m in enumerate(multipliers):
            row = ", ".join(f"{tok.decode([t])!r} {probs[i, j, t]:.4f}" for t in top[i][j])
            print(f"  m={m:+g}: {row}")
    print(f"{name}: vector norms {[round(float(v.norm()), 6) for v in vectors]}")


def main():
    torch.manual_seed(0)
    model, tok = load()

    hooks = ["blocks.0.hook_resid_post", "blocks.1.hook_resid_post"]
    vectors = contrastive_vectors(model, tok, hooks)
    write_case("contrastive", model, tok, hooks, vectors, read_lines(DATA / "prompts.txt"),
               [0.0, -8.0, 2.0, 8.0])

    gen = torch.Generator().manual_seed(7)
    v = torch.randn(2, model.config.n_embd, generator=gen, dtype=torch.float32)
    np.save(DATA / "vector.npy", v.numpy())
    np.save(DATA / "row_vector.npy", v[1].numpy())  # [64]: one vector for every hook
    bad = v[0].numpy().copy()
    bad[3] = np.nan
    np.save(DATA / "nan_vector.npy", bad)  # for the CLI's bad-input test
    write_case("vector", model, tok, ["hook_embed", "blocks.1.hook_resid_post"], v.double(),
               PROMPTS_VECTOR, [0.0, 0.5, -3.0])


if __name__ == "__main__":
    main()
