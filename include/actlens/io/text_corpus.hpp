#pragma once
// Texts to run a model on, or to filter: one record per text, with an optional label.
//   .csv    a header line; the text column (default "text") is required, the label column
//           (default "label") is used when present (RFC 4180 quoting, as pandas writes it).
//           A record is a data row (blank lines between rows are not rows, as in pandas).
//   .jsonl  one JSON object per line with the same keys, or one JSON string per line.
//   .txt    one text per line (no labels). Newlines inside a text need .csv or .jsonl.
// One rule for every format: record i (0-based) is line i+1 of .txt/.jsonl and data row i+1 of
// .csv, so `index` in capture's labels.csv is the line (row) number - 1. Whitespace-only texts
// are texts (GPT-2 encodes " " as one token); an empty text (or a blank .jsonl line) is an
// error naming the file and line (row), never skipped, since skipping would shift the indices.
// A final newline does not start another line. Every text must be valid UTF-8 (the tokenizer
// rejects anything else).
#include <filesystem>
#include <string>
#include <vector>

namespace actlens::io {

struct TextRecord {
  std::string text;
  std::string label;  // empty when the input has no label column
};

struct TextCorpusOptions {
  std::string text_column = "text";
  std::string label_column = "label";
  // When true, a missing label column/key is an error instead of empty labels.
  bool label_required = false;
};

// "a, b, c" of the column/key names a user could pass instead, for error messages (at most
// 20, then the count).
std::string name_list(const std::vector<std::string>& names);

// Throws actlens::Error naming the file (missing, unknown extension, missing column with the
// columns/keys there are, invalid JSON, invalid UTF-8 or an empty text with its line/row).
std::vector<TextRecord> read_text_corpus(const std::filesystem::path& path,
                                         const TextCorpusOptions& options = {});

// True when `s` is well-formed UTF-8 (no overlongs, surrogates or code points above U+10FFFF).
bool is_valid_utf8(const std::string& s);

}  // namespace actlens::io
