#!/usr/bin/env python3
"""Writes the word-embedding fixtures for actlens::io::read_embeddings (tests/unit/test_embeddings.cpp)
and the bundled example for the seed workflow (GloVe 50-d / 300-d rows for 20 words).

The word2vec files are written by gensim's own writer (KeyedVectors.save_word2vec_format), the
one the seed notebook's loader belongs to; a second binary file follows the original C tool's
layout byte for byte (a '\\n' after every vector, which gensim omits). Every file is read back
with gensim and checked against the expected values before anything is written, so the expected
arrays are what gensim itself reads.

Output, all under tests/data/embeddings/:
  vectors.txt         GloVe text ("word v1 ... v8", no header, 6 decimals), 42 words x 8 dims,
                      including two non-ASCII words ("café", "naïve")
  vectors.w2v.txt     the same vectors as word2vec text (gensim: header "42 8", str(float32))
  vectors.bin         word2vec binary as gensim writes it (no newline after a vector)
  vectors.txt.gz, vectors.bin.gz   gzip (Python's gzip module) of vectors.txt / vectors.bin
  vectors_c.w2v       word2vec binary as the C tool writes it ("\\n" after each vector); no .bin
                      extension, so readers must recognise it by its bytes
  vectors.npy         float32 [42, 8] (np.save);  vectors_f64.npy float64, vectors_f16.npy float16
  vectors.vocab.txt   the 42 words, one per line, row order of the .npy files
  query.txt           a word list (comments, blank lines) in an order unlike the file's
  query.csv           a CSV word list whose `word` column is not the first
  expected_query.npy  float64 [n_query, 8]: the query's rows, float32 values widened exactly
  expected_all.npy    float64 [42, 8]: every row in file order
  expected_query_f16.npy  float64: the query's rows of vectors_f16.npy
  gpt2_expected.json  GPT-2 tokenizations (transformers.GPT2Tokenizer, the slow pure-Python one)
                      for the tiny test model's vocabulary (tests/data/models/tiny) and for the
                      real GPT-2 vocabulary (tests/data/tokenizer/gpt2), with and without a
                      leading space, plus the tiny model's wte rows (read with safetensors and,
                      for tests/data/models/tiny-bin, torch.load) for the single-token words

Seed example (the seed notebook loads glove-wiki-gigaword-50/300 through gensim.downloader,
which cannot be downloaded here):
  seed_words.txt      the seed's 20 words, one per line
  seed_groups.csv     word,group (space x6, furniture x5, fruit x9: the seed's group mask)
  small50.txt         SYNTHETIC stand-in for glove-wiki-gigaword-50: 200 words (the seed's 20
                      among 180 filler words) x 50 dims, GloVe text with 6 decimals
  small300.txt        SYNTHETIC stand-in for glove-wiki-gigaword-300: the same words x 300 dims,
                      4 decimals (to stay under ~600 KB)
  These are NOT GloVe vectors: each group's words lie near one random centre (Gaussian noise),
  filler words are random, all share one offset (so between-group cosines are positive), so the seed's RSA / t-SNE / DBSCAN steps show category structure.
  Filler words are real English words taken deterministically from the GPT-2 vocabulary.

Deterministic (fixed seeds). Re-run from the repository root with:
  .venv-ref/bin/python tests/reference/make_embedding_fixtures.py
"""
import gzip
import json
import pathlib

import numpy as np
import torch
from gensim.models import KeyedVectors
from safetensors.numpy import load_file
from transformers import GPT2Tokenizer

TESTS = pathlib.Path(__file__).resolve().parents[1]
OUT = TESTS / "data" / "embeddings"

SEED_WORDS = ["space", "spaceship", "planet", "moon", "star", "galaxy",
              "chair", "table", "couch", "stool", "floor",
              "apple", "banana", "pear", "kiwi", "orange", "peach", "watermelon", "starfruit",
              "date"]
SEED_GROUPS = ["space"] * 6 + ["furniture"] * 5 + ["fruit"] * 9

FIXTURE_WORDS = SEED_WORDS + [
    "the", "of", "and", "to", "in", "is", "was", "for", "on", "with", "as", "by", "at", "from",
    "it", "he", "be", "that", "café", "naïve", "x",
    "1998",  # GloVe has numeric tokens; the reader must not take them for a header
]
DIM = 8
QUERY = ["date", "moon", "café", "the", "1998", "space", "kiwi", "naïve", "x", "galaxy"]


def fixture_vectors() -> np.ndarray:
    """float32 [V, DIM] with exactly 6 decimals (GloVe's %f) and a few special values."""
    rng = np.random.default_rng(20240501)
    v = np.round(rng.normal(0.0, 0.6, size=(len(FIXTURE_WORDS), DIM)), 6)
    v[0, 0] = 0.0
    v[1, 1] = -2.5
    v[2, 2] = 12.000001
    v[3, 3] = -0.000001
    return v


def glove_text(words, values, decimals) -> str:
    fmt = "%." + str(decimals) + "f"
    return "".join(w + " " + " ".join(fmt % x for x in row) + "\n" for w, row in zip(words, values))


def c_tool_binary(words, vectors32) -> bytes:
    """word2vec.c's output: "count dim\\n", then per word: word, ' ', dim float32 LE, '\\n'."""
    out = [f"{len(words)} {vectors32.shape[1]}\n".encode()]
    for w, row in zip(words, vectors32):
        out.append(w.encode("utf8") + b" " + row.astype("<f4").tobytes() + b"\n")
    return b"".join(out)


def check_gensim(path, words, expected32, binary, no_header=False):
    kv = KeyedVectors.load_word2vec_format(str(path), binary=binary, no_header=no_header)
    assert kv.index_to_key == list(words), path
    got = np.stack([kv[w] for w in words])
    assert got.dtype == np.float32
    assert np.array_equal(got, expected32), path


def write_fixtures():
    words = FIXTURE_WORDS
    text = glove_text(words, fixture_vectors(), 6)
    (OUT / "vectors.txt").write_text(text, encoding="utf8")
    # What a reader must return: each printed decimal parsed to float32 (as gensim does).
    vec32 = np.array([[np.float32(t) for t in line.split(" ")[1:]] for line in text.splitlines()],
                     dtype=np.float32)
    check_gensim(OUT / "vectors.txt", words, vec32, binary=False, no_header=True)

    kv = KeyedVectors(vector_size=DIM)
    kv.add_vectors(words, vec32)
    kv.save_word2vec_format(str(OUT / "vectors.w2v.txt"), binary=False)
    kv.save_word2vec_format(str(OUT / "vectors.bin"), binary=True)
    check_gensim(OUT / "vectors.w2v.txt", words, vec32, binary=False)
    check_gensim(OUT / "vectors.bin", words, vec32, binary=True)
    (OUT / "vectors_c.w2v").write_bytes(c_tool_binary(words, vec32))
    check_gensim(OUT / "vectors_c.w2v", words, vec32, binary=True)
    raw = (OUT / "vectors.bin").read_bytes()
    assert raw.endswith(vec32[-1].tobytes()), "gensim binary layout changed (newline added?)"
    for name in ("vectors.txt", "vectors.bin"):
        (OUT / (name + ".gz")).write_bytes(gzip.compress((OUT / name).read_bytes(), mtime=0))
    check_gensim(OUT / "vectors.txt.gz", words, vec32, binary=False, no_header=True)
    check_gensim(OUT / "vectors.bin.gz", words, vec32, binary=True)

    np.save(OUT / "vectors.npy", vec32)
    np.save(OUT / "vectors_f64.npy", vec32.astype(np.float64))
    vec16 = vec32.astype(np.float16)
    np.save(OUT / "vectors_f16.npy", vec16)
    (OUT / "vectors.vocab.txt").write_text("".join(w + "\n" for w in words), encoding="utf8")

    (OUT / "query.txt").write_text(
        "# words for the embeddings test, in query order\n\n"
        + "".join(("  " + w + "  \n") if w == "moon" else (w + "\n") for w in QUERY[:5])
        + "\n# second half\n"
        + "".join(w + "\n" for w in QUERY[5:]),
        encoding="utf8")
    (OUT / "query.csv").write_text(
        "group,word\n" + "".join(f"g{i % 3},{w}\n" for i, w in enumerate(QUERY)), encoding="utf8")

    idx = [words.index(w) for w in QUERY]
    np.save(OUT / "expected_query.npy", vec32[idx].astype(np.float64))
    np.save(OUT / "expected_all.npy", vec32.astype(np.float64))
    np.save(OUT / "expected_query_f16.npy", vec16[idx].astype(np.float64))


def tokenizations(tok, words):
    out = {}
    for space in (False, True):
        key = "space" if space else "plain"
        out[key] = {w: tok.encode((" " if space else "") + w) for w in words}
    return out


def write_gpt2_expected():
    models = TESTS / "data" / "models"
    tiny_tok = GPT2Tokenizer(str(models / "tiny" / "vocab.json"), str(models / "tiny" / "merges.txt"))
    tiny_words = ["the", "a", "token", "ever", "moon", "merges", "byte", "starfruit", "café", "x"]
    tiny = tokenizations(tiny_tok, tiny_words)

    wte_st = load_file(str(models / "tiny" / "model.safetensors"))["wte.weight"]
    sd = torch.load(str(models / "tiny-bin" / "pytorch_model.bin"), map_location="cpu",
                    weights_only=True)
    wte_bin = sd["transformer.wte.weight"].numpy()
    assert wte_st.dtype == np.float32 and wte_bin.dtype == np.float32
    rows = {}
    for mode in ("plain", "space"):
        for w, ids in tiny[mode].items():
            if len(ids) == 1:
                rows[str(ids[0])] = {"safetensors": wte_st[ids[0]].astype(np.float64).tolist(),
                                     "torch": wte_bin[ids[0]].astype(np.float64).tolist()}

    gpt2_dir = TESTS / "data" / "tokenizer" / "gpt2"
    gpt2_tok = GPT2Tokenizer(str(gpt2_dir / "encoder.json"), str(gpt2_dir / "vocab.bpe"))
    gpt2 = tokenizations(gpt2_tok, SEED_WORDS)
    doc = {
        "tiny": {"words": tiny_words, "ids": tiny, "wte_shape": list(wte_st.shape), "rows": rows},
        "gpt2": {"words": SEED_WORDS, "ids": gpt2, "vocab_size": len(gpt2_tok)},
    }
    (OUT / "gpt2_expected.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n",
                                            encoding="utf8")


def filler_words(n):
    """n lowercase alphabetic words (4..9 letters) from the GPT-2 vocabulary, in id order."""
    enc = json.loads((TESTS / "data" / "tokenizer" / "gpt2" / "encoder.json").read_text("utf8"))
    out = []
    for tok, _ in sorted(enc.items(), key=lambda kv: kv[1]):
        if tok.startswith("\u0120") and 4 <= len(tok) - 1 <= 9:
            w = tok[1:]
            if w.isascii() and w.isalpha() and w.islower() and w not in SEED_WORDS and w not in out:
                out.append(w)
                if len(out) == n:
                    break
    assert len(out) == n
    return out


def write_seed_example():
    (OUT / "seed_words.txt").write_text("".join(w + "\n" for w in SEED_WORDS), encoding="utf8")
    (OUT / "seed_groups.csv").write_text(
        "word,group\n" + "".join(f"{w},{g}\n" for w, g in zip(SEED_WORDS, SEED_GROUPS)),
        encoding="utf8")
    rng = np.random.default_rng(50300)
    words = filler_words(180) + SEED_WORDS
    order = rng.permutation(len(words))
    words = [words[i] for i in order]
    group_names = ["space", "furniture", "fruit"]
    for dim, decimals, name in ((50, 6, "small50.txt"), (300, 4, "small300.txt")):
        # A shared offset (real GloVe vectors have a positive mean cosine too), one centre per
        # group, Gaussian noise per word; filler words are the offset plus noise.
        common = rng.normal(0.0, 0.35, size=dim)
        centres = common + rng.normal(0.0, 0.35, size=(3, dim))
        vecs = common + rng.normal(0.0, 0.4, size=(len(words), dim))
        for i, w in enumerate(words):
            if w in SEED_WORDS:
                g = group_names.index(SEED_GROUPS[SEED_WORDS.index(w)])
                vecs[i] = centres[g] + rng.normal(0.0, 0.3, size=dim)
        text = glove_text(words, vecs, decimals)
        (OUT / name).write_text(text, encoding="utf8")
        kv = KeyedVectors.load_word2vec_format(str(OUT / name), binary=False, no_header=True)
        assert kv.vector_size == dim and len(kv) == len(words)
        # The seed's category selectivity index should come out > 1.
        e = np.stack([kv[w] for w in SEED_WORDS]).astype(np.float64)
        e /= np.linalg.norm(e, axis=1, keepdims=True)
        cs = e @ e.T
        grp = np.array([[1] * 6 + [2] * 5 + [3] * 9])
        mask = np.triu(grp.T @ grp, 1)
        within = np.mean([cs[mask == k].mean() for k in (1, 4, 9)])
        between = np.mean([cs[mask == k].mean() for k in (2, 3, 6)])
        print(f"{name}: selectivity index {within / between:.2f}")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    write_fixtures()
    write_gpt2_expected()
    write_seed_example()
    total = sum(p.stat().st_size for p in OUT.iterdir())
    print(f"wrote {OUT} ({total / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
