#pragma once
// Keyword filters that turn a document corpus into labelled texts (`actlens corpus filter`), as
// the seeds build their datasets:
//
// Text mode (the PCA seed, pca-gpt2-days.txt): per keyword, Python's
//     re.search(r"(.*?)((?:^|[\s\W])" + re.escape(KEYWORD) + r"(?:[\s\W]|$))", doc, re.IGNORECASE)
// and the first match only. The text kept is the match up to the END of the keyword: group(1) +
// group(2) without its trailing boundary character, so the keyword is the text's last token (what
// `final` aggregation reads). NOTE: '.' does not match '\n', so the match (and the text) starts at
// the beginning of the LINE holding the keyword (or of the line before, when the character just
// before the keyword is that '\n'), not at the document start.
//
// Window mode (the GED seed, ged-gpt2-him-her.txt): the document's GPT-2 ids, the first
// occurrence of encode(" KEYWORD") (exact ids, so case-sensitive), and the window
// ids[i - N/2, i - N/2 + N) around it (N = 10: 5 before, the keyword at index 5, 4 after, the
// seed's tokens[i-5:i+5]). A window running off either end of the document is skipped.
//
// Matching is PCRE2 with UTF + UCP (+ CASELESS), which agrees with Python 3.11's `re` on str
// patterns: \w is Unicode letters, numbers and '_' in both (Unicode 14; checked for every code
// point), and case-insensitive letters match the same characters, except that Python also matches
// 'i', 'I', U+0130 'İ' and U+0131 'ı' with each other, which PCRE2 10.42 does not: those four
// are written as one class. tests/reference/make_corpus_fixtures.py pins the behaviour down.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actlens/io/gpt2_tokenizer.hpp"

namespace actlens::io {

// Byte offsets into the searched text.
struct KeywordMatch {
  std::size_t begin = 0;          // where Python's match starts (m.start())
  std::size_t keyword_begin = 0;  // the keyword's first byte, as it appears in the text
  std::size_t keyword_end = 0;    // one past its last byte; the filtered text is [begin, end)
};

// One keyword's compiled pattern. Cheap to copy (shared, immutable) and safe to use from several
// threads at once.
class KeywordPattern {
 public:
  // Throws actlens::Error for an empty keyword or one that is not valid UTF-8.
  KeywordPattern(std::string_view keyword, bool case_sensitive);
  // The first match, as re.search finds it; Error names the problem for invalid UTF-8 text.
  std::optional<KeywordMatch> find(std::string_view text) const;
  const std::string& keyword() const;

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

// KeywordPattern(keyword, case_sensitive).find(text), compiling the pattern on every call.
std::optional<KeywordMatch> find_keyword(std::string_view text, std::string_view keyword,
                                         bool case_sensitive = false);

struct KeywordFilterOptions {
  std::vector<std::string> keywords;  // the labels, in output order; non-empty, no duplicates
  bool case_sensitive = false;        // text mode only (window mode always matches ids exactly)
  std::size_t max_per_label = 0;      // keep the first N texts per keyword; 0 = all
  int window = 0;                     // 0: text mode; N >= 1: token windows of N ids
};

struct FilteredText {
  std::string label;
  std::string text;     // window mode: the window's ids decoded (invalid UTF-8 at a cut -> U+FFFD)
  std::size_t doc = 0;  // 0-based index of the document
  std::vector<std::int32_t> ids;  // window mode only
};

struct KeywordFilterResult {
  int window = 0;                            // as in the options
  int target_index = -1;                     // window mode: N/2, the keyword's index in ids
  std::vector<std::string> keywords;         // as in the options
  std::vector<FilteredText> rows;            // by keyword in the order given, then by document
  std::vector<std::size_t> counts;           // rows per keyword
  std::vector<std::size_t> skipped_at_edge;  // window mode: first occurrence too near an end
  std::size_t documents_scanned = 0;         // fewer than given when every keyword was full
};

// Called after each document with the number done so far (progress, interruption checks).
using FilterProgress = std::function<void(std::size_t)>;

// Text mode (options.window must be 0). Throws actlens::Error for bad options or invalid UTF-8.
KeywordFilterResult filter_by_keywords(const std::vector<std::string>& docs,
                                       const KeywordFilterOptions& options,
                                       const FilterProgress& progress = {});

// Window mode (options.window >= 1): documents tokenized with `tokenizer`. Throws actlens::Error
// naming the keyword when " KEYWORD" encodes to no ids.
KeywordFilterResult filter_token_windows(const std::vector<std::string>& docs,
                                         const Gpt2Tokenizer& tokenizer,
                                         const KeywordFilterOptions& options,
                                         const FilterProgress& progress = {});

// The result as CSV: header label,text,doc (text mode) or label,text,doc,ids,target_index
// (window mode; ids space-separated), fields quoted only where needed (io::csv_line), "\n" line
// ends.
std::string keyword_filter_csv(const KeywordFilterResult& result);

// `bytes` as UTF-8 with every ill-formed sequence replaced by U+FFFD, one per maximal subpart (as
// Python's bytes.decode(errors="replace") and Rust's String::from_utf8_lossy do, hence Hugging
// Face's decode).
std::string utf8_lossy(std::string_view bytes);

}  // namespace actlens::io
