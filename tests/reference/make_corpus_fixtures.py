#!/usr/bin/env python3
"""Writes the fixtures `actlens corpus filter` is tested against
(tests/reference/test_corpus_reference.cpp, tests/unit/test_keyword_filter.cpp, tests/cli).

What: the labelled texts that the seeds' own Python code makes from the small document corpus
tests/data/corpus/docs.jsonl (32 short original documents, committed; not written here):
  corpus/expected_days.csv        the PCA seed's filter (pca-gpt2-days.txt, feature_zoo) for the
                                  keywords monday..sunday: per document and keyword, re.search of
                                  (.*?)((?:^|[\\s\\W])KEYWORD(?:[\\s\\W]|$)) with re.IGNORECASE
                                  (keyword through re.escape), first match only; the text is the
                                  match up to the end of the keyword (group(1) + group(2) without
                                  its trailing boundary character), so its last token is the
                                  keyword. Columns label,text,doc.
  corpus/expected_regex_him_her.csv  the same for the keywords him,her.
  corpus/expected_window_him_her.csv the GED seed's windows (ged-gpt2-him-her.txt) for him,her:
                                  each document tokenized with the real GPT-2 vocabulary
                                  (tests/data/tokenizer/gpt2, loaded as
                                  GPT2TokenizerFast), the first token equal to
                                  encode(' him') (or ' her'), window tokens[i-5:i+5] (target at
                                  index 5); windows running off either end are skipped. Columns
                                  label,text,doc,ids,target_index; text = decode(window) with
                                  clean_up_tokenization_spaces=False (invalid UTF-8 at a cut
                                  becomes U+FFFD, as Hugging Face decodes), ids space-separated.
  corpus/expected.json            {"generated_with", "summaries": per-keyword counts (and window
                                  skips) of the three files, "find": [{"text", "keyword",
                                  "case_sensitive", "match": null | {"begin", "keyword_begin",
                                  "keyword_end"}}]} where "find" holds FIND_CASES plus random
                                  strings over an alphabet of awkward pieces (newlines, \\r,
                                  underscores, dotted/dotless i, Kelvin sign, NBSP, em dash),
                                  matched with the seed's regex; offsets are UTF-8 BYTE offsets:
                                  begin = m.start(), keyword_begin/end = the keyword inside
                                  group(2).

Why: actlens implements the seed's regex with PCRE2 (and the window search on its own GPT-2
tokenizer); these files pin down what Python's `re` and Hugging Face return, including the
corners where the two regex engines could part (the match starts at the line of the keyword, not
at the document start, because '.' does not match '\\n'; "Mondays" and "monday_x" do not match
"monday"; 'i' matches 'İ' and 'ı' under re.IGNORECASE). Rows are grouped by keyword in the order
given, then by document, as `actlens corpus filter` writes them. CSV fields are quoted only when
they hold a comma, a quote, \\n or \\r (the rule of actlens's io::csv_field), lines end in \\n, so
the CLI test can compare the command's output byte for byte.

Deterministic: fixed corpus, a fixed-seed random.Random for the random cases. Re-run from the
repository root with:
  scripts/reference-env        # once: the venv with transformers and tokenizers
  .venv-ref/bin/python tests/reference/make_corpus_fixtures.py
"""
import json
import pathlib
import random
import re
import shutil
import sys
import tempfile

import tokenizers
import transformers
from transformers import GPT2TokenizerFast

TESTS = pathlib.Path(__file__).resolve().parents[1]
DOCS = TESTS / "data" / "corpus" / "docs.jsonl"
VOCAB = TESTS / "data" / "tokenizer" / "gpt2"
OUT = TESTS / "reference" / "corpus"

DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
PRONOUNS = ["him", "her"]
WINDOW = 10


def seed_regex(keyword, case_sensitive=False):
    """The PCA seed's per-keyword pattern (feature_zoo's corpus filter)."""
    flags = 0 if case_sensitive else re.IGNORECASE
    return re.compile(r"(.*?)((?:^|[\s\W])" + re.escape(keyword) + r"(?:[\s\W]|$))", flags)


def seed_match(text, keyword, case_sensitive=False):
    """(begin, keyword_begin, keyword_end) in characters, or None: the first re.search match."""
    m = seed_regex(keyword, case_sensitive).search(text)
    if m is None:
        return None
    flags = 0 if case_sensitive else re.IGNORECASE
    # group(2) = a boundary character (or the empty ^ at offset 0) + the keyword + a boundary
    # character (or the empty $). At offset 0 Python tries ^ first, so the keyword starts at 0
    # exactly when "^KEYWORD(?:[\s\W]|$)" matches there.
    start = m.start(2)
    head = re.compile(r"^" + re.escape(keyword) + r"(?:[\s\W]|$)", flags)
    kbegin = start if start == 0 and head.match(text) else start + 1
    k = re.compile(re.escape(keyword), flags).match(text, kbegin)
    assert k is not None and k.end() <= m.end(2), (text, keyword)
    return m.start(), kbegin, k.end()


def byte_offset(text, i):
    return len(text[:i].encode("utf-8"))


def csv_field(s):
    if any(c in s for c in ',"\n\r'):
        return '"' + s.replace('"', '""') + '"'
    return s


def write_csv(path, header, rows):
    with open(path, "w", encoding="utf-8", newline="") as f:
        for r in [header] + rows:
            f.write(",".join(csv_field(str(x)) for x in r) + "\n")


def gpt2_tokenizer():
    """GPT2TokenizerFast of the committed vocabulary. transformers 5 ignores vocab_file/merges_file
    given to the constructor (it builds an empty tokenizer), so OpenAI's encoder.json/vocab.bpe
    are copied under Hugging Face's names into a temporary folder and loaded from there."""
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(VOCAB / "encoder.json", pathlib.Path(tmp) / "vocab.json")
        shutil.copy(VOCAB / "vocab.bpe", pathlib.Path(tmp) / "merges.txt")
        return GPT2TokenizerFast.from_pretrained(tmp)


def regex_filter(docs, keywords):
    rows, counts = [], {}
    for kw in keywords:
        n = 0
        for d, text in enumerate(docs):
            hit = seed_match(text, kw)
            if hit is None:
                continue
            begin, _, kend = hit
            rows.append([kw, text[begin:kend], d])
            n += 1
        counts[kw] = n
    return rows, counts


def window_filter(docs, keywords, tok, window):
    before = window // 2
    rows, counts, skipped = [], {}, {}
    encoded = [tok.encode(t) for t in docs]
    for kw in keywords:
        target = tok.encode(" " + kw)
        assert len(target) >= 1
        n = s = 0
        for d, ids in enumerate(encoded):
            hits = [i for i in range(len(ids) - len(target) + 1) if ids[i:i + len(target)] == target]
            if not hits:
                continue
            i = hits[0]  # the first occurrence only
            lo, hi = i - before, i - before + window
            if lo < 0 or hi > len(ids):
                s += 1
                continue
            win = ids[lo:hi]
            text = tok.decode(win, clean_up_tokenization_spaces=False)
            rows.append([kw, text, d, " ".join(map(str, win)), before])
            n += 1
        counts[kw], skipped[kw] = n, s
    return rows, counts, skipped


# Hand-picked find_keyword cases: (text, keyword, case_sensitive).
FIND_CASES = [
    ("monday", "monday", False),
    ("Monday", "monday", True),
    ("Monday", "Monday", True),
    ("MONDAY!", "monday", False),
    ("on monday", "monday", False),
    ("mondays", "monday", False),
    ("monday's", "monday", False),
    ("monday_x monday", "monday", False),
    ("xmonday monday", "monday", False),
    ("a\nb monday", "monday", False),
    ("a\nmonday", "monday", False),
    ("a\n\nmonday", "monday", False),
    ("a\r\nb monday", "monday", False),
    ("line\nsecond line\nthe monday\n", "monday", False),
    ("monday\n", "monday", False),
    ("(monday)", "monday", False),
    ("\u00e9monday", "monday", False),
    ("caf\u00e9 monday", "monday", False),
    ("\u2014monday\u2014", "monday", False),
    ("\u00a0monday\u00a0", "monday", False),
    ("2monday", "monday", False),
    ("FR\u0130DAY", "friday", False),
    ("fr\u0131day", "friday", False),
    ("FR\u0130DAY", "friday", True),
    ("\u212ailn", "kiln", False),
    ("ki\u017fs", "kiss", False),
    ("stra\u00dfe", "STRASSE", False),
    ("die STRASSE", "stra\u00dfe", False),
    ("\u00c9t\u00e9 \u00e9t\u00e9", "\u00e9t\u00e9", False),
    ("the c++ code", "c++", False),
    ("a.b a.b", "a.b", False),
    ("a b", "a.b", False),
    ("new  york new york", "new york", False),
    ("x [x] (x)", "[x]", False),
    ("", "monday", False),
    ("monday", "mondayx", False),
]

PIECES = ["a", "b", "ab", "ba", " ", " ", "\n", "\r", "_", ".", "-", "1", "\u00e9", "I", "i",
          "\u0130", "\u0131", "A", "B", "\u2014", "\u00a0", "k", "K", "\u212a", "\U0001f600"]
KEYWORDS = ["ab", "a", "b", "a b", "i", "ik", "b.", ".a", "\u00e9", "ab_", "Ab", "\u0130b"]


def random_cases(rng, n):
    """Random strings of PIECES; most get a keyword (in a random case) spliced in somewhere."""
    out = []
    for _ in range(n):
        pieces = [rng.choice(PIECES) for _ in range(rng.randint(0, 12))]
        kw = rng.choice(KEYWORDS)
        if rng.random() < 0.75:
            variant = "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in kw)
            pieces.insert(rng.randint(0, len(pieces)), variant)
        out.append(("".join(pieces), kw, rng.random() < 0.25))
    return out


def main():
    docs = [json.loads(line)["text"] for line in DOCS.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    OUT.mkdir(parents=True, exist_ok=True)

    days, days_counts = regex_filter(docs, DAYS)
    write_csv(OUT / "expected_days.csv", ["label", "text", "doc"], days)
    pron, pron_counts = regex_filter(docs, PRONOUNS)
    write_csv(OUT / "expected_regex_him_her.csv", ["label", "text", "doc"], pron)

    tok = gpt2_tokenizer()
    assert tok.encode(" him") == [683] and tok.encode(" her") == [607], "not GPT-2's vocabulary"
    win, win_counts, win_skipped = window_filter(docs, PRONOUNS, tok, WINDOW)
    write_csv(OUT / "expected_window_him_her.csv",
              ["label", "text", "doc", "ids", "target_index"], win)

    find = []
    for text, kw, cs in FIND_CASES + random_cases(random.Random(20240611), 600):
        hit = seed_match(text, kw, cs)
        find.append({
            "text": text, "keyword": kw, "case_sensitive": cs,
            "match": None if hit is None else {
                "begin": byte_offset(text, hit[0]),
                "keyword_begin": byte_offset(text, hit[1]),
                "keyword_end": byte_offset(text, hit[2])}})
    expected = {
        "generated_with": {"python": sys.version.split()[0], "transformers": transformers.__version__,
                           "tokenizers": tokenizers.__version__},
        "summaries": {
            "days": {"keywords": DAYS, "counts": [days_counts[k] for k in DAYS]},
            "regex_him_her": {"keywords": PRONOUNS, "counts": [pron_counts[k] for k in PRONOUNS]},
            "window_him_her": {"keywords": PRONOUNS, "window": WINDOW,
                               "counts": [win_counts[k] for k in PRONOUNS],
                               "skipped_at_edge": [win_skipped[k] for k in PRONOUNS]}},
        "find": find,
    }
    # One "find" case per line keeps the file short and its diffs readable.
    text = json.dumps({k: v for k, v in expected.items() if k != "find"}, ensure_ascii=False)
    cases = ",\n".join(json.dumps(c, ensure_ascii=False) for c in find)
    (OUT / "expected.json").write_text(text[:-1] + ', "find": [\n' + cases + "\n]}\n",
                                       encoding="utf-8")
    matched = sum(1 for c in find if c["match"] is not None)
    print(f"days {days_counts}\nregex him/her {pron_counts}\n"
          f"window him/her {win_counts} skipped {win_skipped}\n"
          f"find cases: {len(find)} ({matched} matched)")


if __name__ == "__main__":
    main()
