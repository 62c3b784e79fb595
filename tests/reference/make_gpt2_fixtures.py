#!/usr/bin/env python3
"""Writes tiny random-weight GPT-2 models in Hugging Face format, and the activations that
transformers computes for them, so actlens's GPT-2 forward pass and `capture` aggregations can be
checked against an independent implementation.

What (all paths relative to the repository root):
  tests/data/models/tiny/        GPT2Config(n_layer=2, n_embd=64, n_head=4, n_positions=32,
                                 vocab_size=500, activation_function="gelu_new",
                                 layer_norm_epsilon=1e-5), torch.manual_seed(0), GPT2Model saved
                                 with save_pretrained: config.json + model.safetensors (float32,
                                 keys WITHOUT a "transformer." prefix: "wte.weight",
                                 "h.0.ln_1.bias") + vocab.json + merges.txt.
  tests/data/models/tiny-bin/    the SAME weights in a GPT2LMHeadModel (lm_head tied to wte),
                                 written as pytorch_model.bin: a torch.save zip archive of
                                 GPT2LMHeadModel.state_dict(), keys WITH the prefix
                                 ("transformer.wte.weight", ..., "lm_head.weight"; the tied
                                 lm_head.weight shares its storage with transformer.wte.weight, so
                                 the archive holds that tensor once). transformers 5 has no
                                 safe_serialization=False any more (save_pretrained ignores it and
                                 writes safetensors), so the file is written with
                                 torch.save(model.state_dict(), path), which is what
                                 save_pretrained(safe_serialization=False) did in transformers 4.
                                 transformers 5 registers no attn.bias / attn.masked_bias buffers,
                                 so the archive has none (transformers < 4.31 wrote them).
                                 + config.json (architectures GPT2LMHeadModel) + vocab/merges.
  tests/data/models/wide/        GPT2Config(n_layer=1, n_embd=768, n_head=12, n_inner=128,
                                 n_positions=32, vocab_size=500), seed 1, saved in bfloat16
                                 (model.to(torch.bfloat16).save_pretrained: config "dtype":
                                 "bfloat16", model.safetensors with BF16 tensors) + vocab/merges.
  tests/data/capture/texts.csv   header "label,text" (Python's csv module, RFC 4180 quoting): 8
                                 texts, labels "a"/"b" alternating, 3 to 27 tokens; each holds
                                 " him" or " her" (see TEXTS below for the edge cases), so none
                                 can be a single token: the shortest, " her", is 3.
  tests/reference/capture/<model>/{final,mean,sum,max,all,token_him_her}.npz and meta.json,
                                 for <model> = tiny and wide (tiny-bin is only checked here to
                                 give bit-identical hidden states to tiny).

Weights: transformers' default init (normal(0, 0.02), zero biases, LayerNorm 1/0) would hide bugs
(a forgotten bias or LayerNorm weight changes nothing; tiny pre-activations keep gelu linear), so
after GPT2Model(config) every parameter is redrawn from the seeded global torch RNG, in
named_parameters() order: LayerNorm weights 1 + 0.1*randn, every bias 0.05*randn, wte randn,
wpe 0.5*randn, Conv1D weights [in, out] randn / sqrt(in) (attention scores and MLP
pre-activations of order 1). The tokenizer of all models is the 500-token byte-level BPE of
tests/data/tokenizer/small (made by make_tokenizer_fixtures.py), vocab_size = its 500 entries,
bos_token_id = eos_token_id = id of "<|endoftext|>" = 0.

Reference activations: each model folder is loaded back with
GPT2Model.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager") (for wide:
bf16 weights widened to float32, computed in float32), model.eval(), torch.no_grad(). The
tokenizer is GPT2Tokenizer.from_pretrained(folder) (no special tokens added, nothing prepended),
pad_token = eos_token, padding_side = "right"; ALL texts run in ONE padded batch with its
attention_mask (T = Tmax = the longest text; position ids 0..T-1).

Hook points (TransformerLens names, L = layer), read with forward hooks / pre-hooks:
  hook_embed                output of wte                                   [B,T,d]
  hook_pos_embed            output of wpe ([1,T,d]), broadcast to           [B,T,d]
  blocks.L.hook_resid_pre   input hidden_states of h[L] (pre-hook)          [B,T,d]
  blocks.L.attn.hook_pattern  attention probabilities (output_attentions)   [B,H,T,T]
  blocks.L.hook_attn_out    output of h[L].attn (first element)             [B,T,d]
  blocks.L.hook_resid_mid   resid_pre + attn_out (= input of h[L].ln_2)     [B,T,d]
  blocks.L.mlp.hook_pre     output of h[L].mlp.c_fc                         [B,T,d_mlp]
  blocks.L.mlp.hook_post    output of h[L].mlp.act (gelu_new)               [B,T,d_mlp]
  blocks.L.hook_mlp_out     output of h[L].mlp                              [B,T,d]
  blocks.L.hook_resid_post  output of h[L]                                  [B,T,d]
  ln_final.hook_normalized  (x - mean) / sqrt(var + eps) of ln_f's input x (population variance,
                            eps = layer_norm_epsilon), before ln_f's weight and bias   [B,T,d]
  hook_final                last_hidden_state (after ln_f)                  [B,T,d]
The script also checks (and prints) how output_hidden_states maps onto these: hidden_states[0]
is blocks.0.hook_resid_pre, hidden_states[i] is blocks.(i-1).hook_resid_post for
i = 1..n_layer-1, hidden_states[n_layer] is hook_final (transformers applies ln_f to the last).
The pattern is also recomputed by hand from the c_attn output (causal + padding mask, softmax).

Aggregations, per text i of n_i = attention_mask[i].sum() real tokens (positions 0..n_i-1):
  final          act[torch.arange(B), mask.sum(1) - 1]
  mean, sum, max over positions 0..n_i-1 (max elementwise)
  all            the rows of all real positions of all texts, in text order: [sum n_i, ...],
                 plus "offsets" int64 [B+1] (offsets[0] = 0, offsets[i+1] = offsets[i] + n_i)
  token_him_her  (`token:him,her`) candidates = for w in ["him", "her"]: tokenizer.encode(" " + w)
                 and tokenizer.encode(w), deduplicated, in that order. In each text the smallest
                 start p where some candidate c equals ids[p:p+len(c)] (the longest candidate
                 when several match at p); the value is the MEAN of act over p..p+len(c)-1.
                 Under the small tokenizer " him" = [221, 72, 73, 77], "him" = [72, 73, 77],
                 " her" = [221, 72, 260], "her" = [72, 260]: "her" also matches inside
                 " there" (" t" "h" "er" "e"), which text "f" relies on.
For attn.hook_pattern ([H,T,T] per text) the aggregations run over the QUERY position; the key
axis is Tmax wide (keys >= n_i have probability 0): final/mean/sum/max/token -> [B,H,Tmax],
all -> [sum n_i, H, Tmax]. Sums and means are taken in float64 and stored as float32.

Output: tests/reference/capture/<model>/<aggregation>.npz (np.savez_compressed, i.e. deflated
members, to keep the repository small; keys = the hook names above, float32 [B,d] / [B,d_mlp] /
[B,H,Tmax]; all.npz: [sum n_i, ...] and "offsets") and meta.json {"generated_with", "model"
(folder relative to tests/data), "texts": "capture/texts.csv", "ids", "lengths", "tmax",
"eos_id", "n_layer", "n_embd", "n_head", "d_mlp", "hooks" (in order), "token_candidates",
"token_match": [[p, len] per text]}.

Deterministic: fixed texts, seeded weights (torch.manual_seed), CPU float32. numpy writes
fixed zip timestamps, so re-running gives byte-identical .npz/.json/.csv files; the model files
were also byte-identical across runs with torch 2.x / transformers 5.x / safetensors 0.8 (other
versions may change config.json's "transformers_version" or the zip layout of the .bin, not the
weights). Re-run from the repository root with:
  scripts/reference-env        # once: the venv with torch, transformers and tokenizers
  .venv-ref/bin/python tests/reference/make_gpt2_fixtures.py
"""
import csv
import json
import math
import pathlib
import platform
import shutil
import zipfile

import numpy as np
import safetensors
import torch
import transformers
from safetensors import safe_open
from transformers import GPT2Config, GPT2LMHeadModel, GPT2Model, GPT2Tokenizer

REPO = pathlib.Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
TOKENIZER = DATA / "tokenizer" / "small"
MODELS = DATA / "models"
TEXTS_CSV = DATA / "capture" / "texts.csv"
REFS = REPO / "tests" / "reference" / "capture"
EOT = "<|endoftext|>"
TOKEN_WORDS = ["him", "her"]
AGGREGATIONS = ["final", "mean", "sum", "max", "all", "token_him_her"]

# (label, text). Token counts under the small tokenizer in the comments (checked below).
TEXTS = [
    ("a", "I saw him at the market."),                           # 17
    ("b", "She gave her the book and left her there."),          # 27: " her" twice, "her" in
                                                                 #     " there": first match wins
    ("a", " her"),                                               # 3: a single word, the whole
                                                                 #    text is the match
    ("b", "Caf\u00e9 \u65e5\u672c \U0001f600 for her"),          # 15: é, 日本, an emoji; match
                                                                 #     at the very end
    ("a", 'Tell him,\n  "go"   now.'),                           # 20: newline, space runs,
                                                                 #     quotes inside the field
    ("b", "Go there with her."),                                 # 13: "her" [72, 260] inside
                                                                 #     " there" comes first
    ("a", "Ask him."),                                           # 8
    ("b", "Then the dog ran to him and sat."),                   # 16
]


# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------
def vocab_info():
    vocab = json.loads((TOKENIZER / "vocab.json").read_text(encoding="utf-8"))
    eos = vocab[EOT]
    assert sorted(vocab.values()) == list(range(len(vocab))), "vocab ids are not 0..V-1"
    assert eos < len(vocab)
    return len(vocab), eos


def nontrivial_init(model):
    """Redraws every parameter from the (already seeded) global torch RNG; see the docstring."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            parts = name.split(".")
            module = model.get_submodule(".".join(parts[:-1]))
            if isinstance(module, torch.nn.LayerNorm):
                if parts[-1] == "weight":
                    p.copy_(1 + 0.1 * torch.randn(p.shape))
                else:
                    p.copy_(0.05 * torch.randn(p.shape))
            elif parts[-1] == "bias":
                p.copy_(0.05 * torch.randn(p.shape))
            elif name.endswith("wte.weight"):
                p.copy_(torch.randn(p.shape))
            elif name.endswith("wpe.weight"):
                p.copy_(0.5 * torch.randn(p.shape))
            else:  # Conv1D weight, stored [in, out]
                assert p.dim() == 2, name
                p.copy_(torch.randn(p.shape) / math.sqrt(p.shape[0]))


def make_config(vocab_size, eos, **kw):
    return GPT2Config(vocab_size=vocab_size, n_positions=32, activation_function="gelu_new",
                      layer_norm_epsilon=1e-5, bos_token_id=eos, eos_token_id=eos, **kw)


def fresh_folder(path):
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    shutil.copy(TOKENIZER / "vocab.json", path / "vocab.json")
    shutil.copy(TOKENIZER / "merges.txt", path / "merges.txt")


def build_models(vocab_size, eos):
    # tiny: float32 safetensors
    config = make_config(vocab_size, eos, n_layer=2, n_embd=64, n_head=4)
    torch.manual_seed(0)
    tiny = GPT2Model(config)
    nontrivial_init(tiny)
    fresh_folder(MODELS / "tiny")
    tiny.save_pretrained(MODELS / "tiny")

    # tiny-bin: the same weights in a GPT2LMHeadModel, torch.save'd (transformers 4's .bin)
    lm = GPT2LMHeadModel(make_config(vocab_size, eos, n_layer=2, n_embd=64, n_head=4))
    missing, unexpected = lm.transformer.load_state_dict(tiny.state_dict(), strict=True)
    assert not missing and not unexpected
    lm.tie_weights()
    assert lm.lm_head.weight.data_ptr() == lm.transformer.wte.weight.data_ptr(), "lm_head untied"
    folder = MODELS / "tiny-bin"
    fresh_folder(folder)
    lm.config.architectures = ["GPT2LMHeadModel"]
    lm.config.dtype = torch.float32  # what save_pretrained would record
    lm.config.save_pretrained(folder)
    torch.save(lm.state_dict(), folder / "pytorch_model.bin")

    # wide: bfloat16 safetensors
    config = make_config(vocab_size, eos, n_layer=1, n_embd=768, n_head=12, n_inner=128)
    torch.manual_seed(1)
    wide = GPT2Model(config)
    nontrivial_init(wide)
    fresh_folder(MODELS / "wide")
    wide.to(torch.bfloat16).save_pretrained(MODELS / "wide")
    saved = json.loads((MODELS / "wide" / "config.json").read_text())
    assert saved.get("dtype", saved.get("torch_dtype")) == "bfloat16", saved


def describe_files():
    """Prints the keys of the weight files and checks the .bin is a torch.save zip archive."""
    for name in ["tiny", "wide"]:
        path = MODELS / name / "model.safetensors"
        with safe_open(str(path), framework="pt") as f:
            print(f"{path.relative_to(REPO)}: metadata {f.metadata()}")
            for k in f.keys():
                s = f.get_slice(k)
                print(f"  {k:32s} {s.get_dtype():5s} {s.get_shape()}")
    path = MODELS / "tiny-bin" / "pytorch_model.bin"
    assert zipfile.is_zipfile(path), f"{path} is not a zip archive"
    names = zipfile.ZipFile(path).namelist()
    assert any(n.endswith("/data.pkl") for n in names), names
    print(f"{path.relative_to(REPO)}: torch.save zip archive, entries {names}")
    sd = torch.load(path, map_location="cpu", weights_only=True)
    for k, v in sd.items():
        print(f"  {k:44s} {str(v.dtype):14s} {list(v.shape)}")
    assert torch.equal(sd["lm_head.weight"], sd["transformer.wte.weight"])


# ---------------------------------------------------------------------------------------------
# Forward pass with hooks
# ---------------------------------------------------------------------------------------------
def load(folder, allow_unexpected=()):
    model, info = GPT2Model.from_pretrained(folder, dtype=torch.float32,
                                            attn_implementation="eager",
                                            output_loading_info=True)
    assert not info["missing_keys"] and not info["mismatched_keys"], (folder, info)
    assert set(info["unexpected_keys"]) <= set(allow_unexpected), (folder, info)
    model.eval()
    tok = GPT2Tokenizer.from_pretrained(folder)
    tok.pad_token = tok.eos_token
    tok.padding_side = "right"
    return model, tok


def hook_names(n_layer):
    names = ["hook_embed", "hook_pos_embed"]
    for L in range(n_layer):
        names += [f"blocks.{L}.{h}" for h in [
            "hook_resid_pre", "attn.hook_pattern", "hook_attn_out", "hook_resid_mid",
            "mlp.hook_pre", "mlp.hook_post", "hook_mlp_out", "hook_resid_post"]]
    return names + ["ln_final.hook_normalized", "hook_final"]


def first(out):
    return out[0] if isinstance(out, tuple) else out


def forward(model, tok, texts):
    """Returns (input_ids, attention_mask, {hook: float32 tensor [B,T,...]}, hidden_states)."""
    enc = tok(texts, return_tensors="pt", padding=True)
    acts, extra, handles = {}, {}, []

    def keep(store, name):
        def hook(module, args, out):
            store[name] = first(out).detach().clone()
        return hook

    def keep_input(store, name):
        def pre(module, args, kwargs):
            x = args[0] if args else kwargs["hidden_states"]
            store[name] = x.detach().clone()
        return pre

    handles.append(model.wte.register_forward_hook(keep(acts, "hook_embed")))
    handles.append(model.wpe.register_forward_hook(keep(acts, "hook_pos_embed")))
    for L, block in enumerate(model.h):
        p = f"blocks.{L}."
        handles.append(block.register_forward_pre_hook(keep_input(acts, p + "hook_resid_pre"),
                                                       with_kwargs=True))
        handles.append(block.attn.register_forward_hook(keep(acts, p + "hook_attn_out")))
        handles.append(block.attn.c_attn.register_forward_hook(keep(extra, p + "c_attn")))
        handles.append(block.ln_2.register_forward_pre_hook(keep_input(acts, p + "hook_resid_mid"),
                                                            with_kwargs=True))
        handles.append(block.mlp.c_fc.register_forward_hook(keep(acts, p + "mlp.hook_pre")))
        handles.append(block.mlp.act.register_forward_hook(keep(acts, p + "mlp.hook_post")))
        handles.append(block.mlp.register_forward_hook(keep(acts, p + "hook_mlp_out")))
        handles.append(block.register_forward_hook(keep(acts, p + "hook_resid_post")))
    handles.append(model.ln_f.register_forward_pre_hook(keep_input(extra, "ln_f_in"),
                                                        with_kwargs=True))
    with torch.no_grad():
        out = model(**enc, output_attentions=True, output_hidden_states=True)
    for h in handles:
        h.remove()

    B, T = enc["input_ids"].shape
    cfg = model.config
    acts["hook_pos_embed"] = acts["hook_pos_embed"].expand(B, T, cfg.n_embd).clone()
    x = extra["ln_f_in"]
    var = x.var(-1, unbiased=False, keepdim=True)
    acts["ln_final.hook_normalized"] = (x - x.mean(-1, keepdim=True)) / torch.sqrt(
        var + cfg.layer_norm_epsilon)
    acts["hook_final"] = out.last_hidden_state
    for L in range(cfg.n_layer):
        acts[f"blocks.{L}.attn.hook_pattern"] = out.attentions[L]

    # consistency checks, all of which must hold whatever the hooks' inner workings
    mask = enc["attention_mask"].bool()
    close = lambda a, b: torch.allclose(a, b, rtol=1e-5, atol=1e-5)
    assert torch.equal(acts["blocks.0.hook_resid_pre"], acts["hook_embed"] + acts["hook_pos_embed"])
    torch.testing.assert_close(acts["ln_final.hook_normalized"] * model.ln_f.weight
                               + model.ln_f.bias, acts["hook_final"])
    H, dh = cfg.n_head, cfg.n_embd // cfg.n_head
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    for L in range(cfg.n_layer):
        p = f"blocks.{L}."
        assert close(acts[p + "hook_resid_mid"],
                     acts[p + "hook_resid_pre"] + acts[p + "hook_attn_out"])
        assert close(acts[p + "hook_resid_post"],
                     acts[p + "hook_resid_mid"] + acts[p + "hook_mlp_out"])
        if L + 1 < cfg.n_layer:
            assert torch.equal(acts[p + "hook_resid_post"], acts[f"blocks.{L + 1}.hook_resid_pre"])
        # attention pattern by hand: q.k / sqrt(dh), causal and key-padding mask, softmax
        q, k, _ = extra[p + "c_attn"].split(cfg.n_embd, dim=-1)
        q = q.view(B, T, H, dh).transpose(1, 2)
        k = k.view(B, T, H, dh).transpose(1, 2)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(dh)
        allowed = causal[None, None] & mask[:, None, None, :]
        mine = torch.softmax(scores.masked_fill(~allowed, float("-inf")), dim=-1)
        theirs = acts[p + "attn.hook_pattern"]
        for i in range(B):
            n = int(mask[i].sum())
            torch.testing.assert_close(theirs[i, :, :n, :], mine[i, :, :n, :])
            assert torch.all(theirs[i, :, :n, n:] == 0)
    hs = out.hidden_states
    assert len(hs) == cfg.n_layer + 1
    assert torch.equal(hs[0], acts["blocks.0.hook_resid_pre"])
    for i in range(1, cfg.n_layer):
        assert torch.equal(hs[i], acts[f"blocks.{i - 1}.hook_resid_post"])
    assert torch.equal(hs[cfg.n_layer], acts["hook_final"])
    names = hook_names(cfg.n_layer)
    assert sorted(acts) == sorted(names), sorted(set(acts) ^ set(names))
    return enc["input_ids"], enc["attention_mask"], acts, hs


# ---------------------------------------------------------------------------------------------
# Aggregations
# ---------------------------------------------------------------------------------------------
def token_candidates(tok):
    cands = []
    for w in TOKEN_WORDS:
        for s in (" " + w, w):
            c = tok.encode(s)
            if c and c not in cands:
                cands.append(c)
    return cands


def token_match(ids, n, cands):
    for p in range(n):
        best = None
        for c in cands:
            if p + len(c) <= n and ids[p:p + len(c)] == c and (best is None or len(c) > len(best)):
                best = c
        if best is not None:
            return p, len(best)
    raise AssertionError(f"no him/her in {ids[:n]}")


def aggregate(act, mask, matches):
    """act [B,T,...] with positions on axis 1 (a pattern comes as [B,Tq,H,Tk])."""
    B = act.shape[0]
    lengths = mask.sum(1)
    a64 = act.double()
    out = {"final": act[torch.arange(B), lengths - 1]}
    sums, means, maxes, tokens, rows = [], [], [], [], []
    for i in range(B):
        n = int(lengths[i])
        real = a64[i, :n]
        sums.append(real.sum(0))
        means.append(real.sum(0) / n)
        maxes.append(act[i, :n].max(0).values)
        p, m = matches[i]
        tokens.append(a64[i, p:p + m].sum(0) / m)
        rows.append(act[i, :n])
    out["sum"] = torch.stack(sums)
    out["mean"] = torch.stack(means)
    out["max"] = torch.stack(maxes)
    out["token_him_her"] = torch.stack(tokens)
    out["all"] = torch.cat(rows)
    return {k: v.float().numpy() for k, v in out.items()}


def write_references(name, texts):
    folder = MODELS / name
    model, tok = load(folder)
    input_ids, mask, acts, _ = forward(model, tok, texts)
    cfg = model.config
    B, T = input_ids.shape
    lengths = [int(n) for n in mask.sum(1)]
    tmax = max(lengths)
    assert T == tmax
    ids = [input_ids[i, :lengths[i]].tolist() for i in range(B)]
    for i, t in enumerate(texts):
        assert ids[i] == tok.encode(t), "batched ids differ from one-text ids"
    cands = token_candidates(tok)
    matches = [token_match(ids[i], lengths[i], cands) for i in range(B)]
    names = hook_names(cfg.n_layer)

    results = {agg: {} for agg in AGGREGATIONS}
    for hook in names:
        act = acts[hook]
        if hook.endswith("attn.hook_pattern"):
            act = act.permute(0, 2, 1, 3)[..., :tmax]  # [B, Tq, H, Tk]
        for agg, value in aggregate(act, mask, matches).items():
            results[agg][hook] = value
    offsets = np.zeros(B + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(lengths)
    results["all"]["offsets"] = offsets

    out = REFS / name
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for agg in AGGREGATIONS:
        np.savez_compressed(out / f"{agg}.npz", **results[agg])
    d_mlp = cfg.n_inner if cfg.n_inner is not None else 4 * cfg.n_embd
    meta = {
        "generated_with": {"torch": torch.__version__, "transformers": transformers.__version__,
                           "numpy": np.__version__, "safetensors": safetensors.__version__,
                           "python": platform.python_version()},
        "model": str(folder.relative_to(DATA)),
        "texts": str(TEXTS_CSV.relative_to(DATA)),
        "ids": ids,
        "lengths": lengths,
        "tmax": tmax,
        "eos_id": tok.eos_token_id,
        "n_layer": cfg.n_layer,
        "n_embd": cfg.n_embd,
        "n_head": cfg.n_head,
        "d_mlp": d_mlp,
        "hooks": names,
        "token_candidates": cands,
        "token_match": [list(m) for m in matches],
    }
    # one key a line, each value on one line
    (out / "meta.json").write_text(
        "{\n" + ",\n".join(f" {json.dumps(k)}: {json.dumps(v)}" for k, v in meta.items()) + "\n}\n")
    print(f"{name}: B={B} Tmax={tmax} sum n_i={sum(lengths)} d={cfg.n_embd} d_mlp={d_mlp} "
          f"H={cfg.n_head}; token matches {matches}")
    mapping = ["hidden_states[0] == blocks.0.hook_resid_pre"]
    mapping += [f"hidden_states[{i}] == blocks.{i - 1}.hook_resid_post"
                for i in range(1, cfg.n_layer)]
    mapping += [f"hidden_states[{cfg.n_layer}] == hook_final (after ln_f)"]
    print("  " + "; ".join(mapping))
    return acts


def write_texts():
    TEXTS_CSV.parent.mkdir(parents=True, exist_ok=True)
    with open(TEXTS_CSV, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["label", "text"])
        w.writerows(TEXTS)
    with open(TEXTS_CSV, encoding="utf-8", newline="") as f:
        back = [tuple(r) for r in csv.reader(f)][1:]
    assert back == TEXTS, "texts.csv does not read back"
    return [t for _, t in TEXTS]


def main():
    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()  # the expected lm_head.weight report
    vocab_size, eos = vocab_info()
    print(f"tokenizer {TOKENIZER.relative_to(REPO)}: vocab_size {vocab_size}, {EOT} = {eos}")
    texts = write_texts()
    tok = GPT2Tokenizer.from_pretrained(TOKENIZER)
    assert tok.eos_token == EOT and tok.eos_token_id == eos and len(tok) == vocab_size
    for label, t in TEXTS:
        ids = tok.encode(t)
        assert 1 <= len(ids) <= 32
        print(f"  {len(ids):2d} tokens  [{label}] {t!r}")
    print(f"  candidates for him,her: {token_candidates(tok)}")

    build_models(vocab_size, eos)
    describe_files()
    tiny = write_references("tiny", texts)
    write_references("wide", texts)

    # tiny-bin must load (prefix stripped, tied lm_head dropped) to the very same activations
    model, tok = load(MODELS / "tiny-bin", allow_unexpected={"lm_head.weight"})
    _, _, acts, _ = forward(model, tok, texts)
    for k, v in tiny.items():
        assert torch.equal(v, acts[k]), k
    print("tiny-bin: GPT2Model.from_pretrained gives activations identical to tiny")

    for path in sorted(list(MODELS.rglob("*")) + list(REFS.rglob("*")) + [TEXTS_CSV]):
        if path.is_file():
            print(f"  {path.stat().st_size:9d}  {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
