#pragma once
// Texts to run a model on, or to filter: one record per text, with an optional label.
//   .csv    a header line; the text column (default "text") is required, the label column
//           (default "label") is used when present (RFC 4180 quoting, as pandas writes it).
//   .jsonl  one JSON object per line with the same keys, or one JSON string per line; blank
//           lines are skipped.
//   .txt    one text per line (no labels); blank lines are skipped. Newlines inside a text need
//           .csv or .jsonl.
// Every text must be valid UTF-8 (the tokenizer rejects anything else); the error names the
// file and the record.
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

// Throws actlens::Error naming the file (missing, unknown extension, missing column, invalid
// JSON with its line number, invalid UTF-8 with its record number).
std::vector<TextRecord> read_text_corpus(const std::filesystem::path& path,
                                         const TextCorpusOptions& options = {});

// True when `s` is well-formed UTF-8 (no overlongs, surrogates or code points above U+10FFFF).
bool is_valid_utf8(const std::string& s);

}  // namespace actlens::io
