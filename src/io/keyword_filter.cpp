// Keyword filters of `actlens corpus filter` (see keyword_filter.hpp for the semantics).
//
// The seed's pattern (.*?)((?:^|[\s\W])KW(?:[\s\W]|$)) is not run as written: its lazy prefix
// makes re.search quadratic in the length of a line (every start offset scans to the line's end),
// and its leading alternation hides the keyword's first letter from PCRE2's fast scan. The same
// match is found in linear time:
//   1. [\s\W] is exactly the complement of \w (every \s character is \W; checked for every code
//      point, in Python and PCRE2), so "^ or a [\s\W] character before" is (?<!\w) and
//      "[\s\W] or $ after" is (?!\w) ($ also matches before a final '\n', itself \W). The
//      leftmost match of (?<!\w)(KW)(?!\w) is the first keyword occurrence k with boundaries on
//      both sides; its boundary p (the character before k, or offset 0 when k = 0, where Python's ^
//      branch is tried first) is the leftmost p group(2) can start at, as p grows with k.
//   2. Python's match starts at the leftmost offset s from which (.*?) can reach p: the first
//      offset after the last '\n' before p ('.' matches anything but '\n', '\r' included), or 0.
//      From s no earlier occurrence is reachable (k is the first), so the lazy prefix stops at p.
// tests/reference/corpus/expected.json checks this against Python's `re` on 636 strings.
#include "actlens/io/keyword_filter.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <cstdio>

#include "actlens/error.hpp"
#include "actlens/io/csv.hpp"
#include "actlens/io/text_corpus.hpp"

namespace actlens::io {
namespace {

// Code points of valid UTF-8 (checked by the caller).
std::vector<char32_t> code_points(std::string_view s) {
  std::vector<char32_t> out;
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
    char32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (std::size_t k = 1; k < len; ++k)
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    out.push_back(cp);
    i += len;
  }
  return out;
}

std::string hex_escape(char32_t cp) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "\\x{%x}", static_cast<unsigned>(cp));
  return buf;
}

// The keyword as a PCRE2 literal, as re.escape makes it one for Python: ASCII punctuation and
// spaces backslashed (a backslash before a non-alphanumeric character is that character), control
// characters as \x{..}, everything else as its own UTF-8 bytes. Caseless, the dotted and dotless
// i's become one class, as Python's `re` matches them (see the header).
std::string escape_keyword(std::string_view keyword, bool caseless) {
  std::string out;
  for (char32_t cp : code_points(keyword)) {
    if (caseless && (cp == U'i' || cp == U'I' || cp == 0x130 || cp == 0x131)) {
      out += "[\\x{49}\\x{69}\\x{130}\\x{131}]";
    } else if (cp < 0x20 || cp == 0x7F) {
      out += hex_escape(cp);
    } else if (cp < 0x80) {
      const char c = static_cast<char>(cp);
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
        out += '\\';
      out += c;
    } else {
      out += hex_escape(cp);
    }
  }
  return out;
}

std::string pcre2_message(int code) {
  PCRE2_UCHAR msg[256];
  pcre2_get_error_message(code, msg, sizeof msg);
  return reinterpret_cast<const char*>(msg);
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

void check_options(const KeywordFilterOptions& o) {
  if (o.keywords.empty()) throw Error("no keywords given; name at least one");
  for (std::size_t i = 0; i < o.keywords.size(); ++i) {
    if (o.keywords[i].empty()) throw Error("keyword " + std::to_string(i + 1) + " is empty");
    for (std::size_t j = 0; j < i; ++j)
      if (o.keywords[j] == o.keywords[i])
        throw Error("keyword '" + o.keywords[i] + "' is given twice; labels must be unique");
  }
}

KeywordFilterResult make_result(const KeywordFilterOptions& o) {
  KeywordFilterResult r;
  r.window = o.window;
  r.target_index = o.window > 0 ? o.window / 2 : -1;
  r.keywords = o.keywords;
  r.counts.assign(o.keywords.size(), 0);
  r.skipped_at_edge.assign(o.keywords.size(), 0);
  return r;
}

// Every keyword has its max_per_label texts.
bool all_full(const KeywordFilterResult& r, std::size_t max_per_label) {
  if (max_per_label == 0) return false;
  return std::all_of(r.counts.begin(), r.counts.end(),
                     [&](std::size_t c) { return c >= max_per_label; });
}

void concatenate(KeywordFilterResult& r, std::vector<std::vector<FilteredText>>& buckets) {
  for (auto& b : buckets)
    for (auto& t : b) r.rows.push_back(std::move(t));
}

}  // namespace

struct KeywordPattern::Impl {
  std::string keyword;
  pcre2_code* regex = nullptr;

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() { pcre2_code_free(regex); }
};

KeywordPattern::KeywordPattern(std::string_view keyword, bool case_sensitive) {
  if (keyword.empty()) throw Error("empty keyword; give a word to look for");
  if (!is_valid_utf8(std::string(keyword)))
    throw Error("keyword is not valid UTF-8; pass it as UTF-8 text");
  auto impl = std::make_shared<Impl>();
  impl->keyword = std::string(keyword);
  const std::string pattern = "(?<!\\w)(" + escape_keyword(keyword, !case_sensitive) + ")(?!\\w)";
  int code = 0;
  PCRE2_SIZE offset = 0;
  const std::uint32_t flags = PCRE2_UTF | PCRE2_UCP | (case_sensitive ? 0u : PCRE2_CASELESS);
  impl->regex = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), flags,
                              &code, &offset, nullptr);
  if (impl->regex == nullptr)
    throw Error("keyword '" + impl->keyword + "': its pattern does not compile (" +
                pcre2_message(code) + "); report this as a bug");
  // JIT is several times faster; without it (PCRE2 built without JIT) the matches are the same.
  pcre2_jit_compile(impl->regex, PCRE2_JIT_COMPLETE);
  impl_ = std::move(impl);
}

const std::string& KeywordPattern::keyword() const {
  return impl_->keyword;
}

std::optional<KeywordMatch> KeywordPattern::find(std::string_view text) const {
  // Match data per call: PCRE2 match blocks must not be shared between threads.
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> match(
      pcre2_match_data_create_from_pattern(impl_->regex, nullptr), &pcre2_match_data_free);
  if (!match) throw Error("out of memory while matching keyword '" + impl_->keyword + "'");
  const int rc = pcre2_match(impl_->regex, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(),
                             0, 0, match.get(), nullptr);
  if (rc == PCRE2_ERROR_NOMATCH) return std::nullopt;
  if (rc <= PCRE2_ERROR_UTF8_ERR1 && rc >= PCRE2_ERROR_UTF8_ERR21)
    throw Error("text is not valid UTF-8 (" + pcre2_message(rc) + "); re-encode it as UTF-8");
  if (rc < 0)
    throw Error("matching keyword '" + impl_->keyword + "' failed (" + pcre2_message(rc) + ")");
  const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(match.get());
  KeywordMatch m;
  m.keyword_begin = ov[2];
  m.keyword_end = ov[3];
  if (m.keyword_begin > 0) {
    // p: the first byte of the boundary character before the keyword
    std::size_t p = m.keyword_begin - 1;
    while (p > 0 && (static_cast<unsigned char>(text[p]) & 0xC0) == 0x80) --p;
    if (p > 0) {
      const std::size_t nl = text.rfind('\n', p - 1);
      m.begin = nl == std::string_view::npos ? 0 : nl + 1;
    }
  }
  return m;
}

std::optional<KeywordMatch> find_keyword(std::string_view text, std::string_view keyword,
                                         bool case_sensitive) {
  return KeywordPattern(keyword, case_sensitive).find(text);
}

KeywordFilterResult filter_by_keywords(const std::vector<std::string>& docs,
                                       const KeywordFilterOptions& o,
                                       const FilterProgress& progress) {
  check_options(o);
  if (o.window != 0) throw Error("filter_by_keywords: window must be 0 (use filter_token_windows)");
  std::vector<KeywordPattern> patterns;
  for (const auto& kw : o.keywords) patterns.emplace_back(kw, o.case_sensitive);
  KeywordFilterResult r = make_result(o);
  std::vector<std::vector<FilteredText>> buckets(o.keywords.size());
  for (std::size_t d = 0; d < docs.size() && !all_full(r, o.max_per_label); ++d) {
    for (std::size_t k = 0; k < patterns.size(); ++k) {
      if (o.max_per_label > 0 && r.counts[k] >= o.max_per_label) continue;
      std::optional<KeywordMatch> m;
      try {
        m = patterns[k].find(docs[d]);
      } catch (const Error& e) {
        throw Error("document " + std::to_string(d) + ": " + e.what());
      }
      if (!m) continue;
      buckets[k].push_back(
          {o.keywords[k], docs[d].substr(m->begin, m->keyword_end - m->begin), d, {}});
      ++r.counts[k];
    }
    r.documents_scanned = d + 1;
    if (progress) progress(d + 1);
  }
  concatenate(r, buckets);
  return r;
}

KeywordFilterResult filter_token_windows(const std::vector<std::string>& docs,
                                         const Gpt2Tokenizer& tokenizer,
                                         const KeywordFilterOptions& o,
                                         const FilterProgress& progress) {
  check_options(o);
  if (o.window < 1) throw Error("window must be at least 1 token");
  const auto window = static_cast<std::size_t>(o.window);
  const auto before = static_cast<std::size_t>(o.window / 2);
  // What the seed looks for: tokenizer.encode(' him'); a keyword of several ids is matched as a
  // sequence and centred on its first id.
  std::vector<std::vector<std::int32_t>> targets;
  std::vector<std::string> needles;  // the bytes of those ids: a document without them is skipped
  for (const auto& kw : o.keywords) {
    targets.push_back(tokenizer.encode(" " + kw));
    if (targets.back().empty())
      throw Error("keyword '" + kw + "': \" " + kw + "\" encodes to no GPT-2 ids");
    needles.push_back(tokenizer.decode(targets.back()));
  }
  KeywordFilterResult r = make_result(o);
  std::vector<std::vector<FilteredText>> buckets(o.keywords.size());
  for (std::size_t d = 0; d < docs.size() && !all_full(r, o.max_per_label); ++d) {
    std::vector<std::int32_t> ids;
    bool tokenized = false;
    for (std::size_t k = 0; k < targets.size(); ++k) {
      if (o.max_per_label > 0 && r.counts[k] >= o.max_per_label) continue;
      // The ids' bytes concatenate to the document, so a matching id sequence means the document
      // holds the needle's bytes: most documents need no tokenizing at all.
      if (docs[d].find(needles[k]) == std::string::npos) continue;
      if (!tokenized) {
        try {
          ids = tokenizer.encode(docs[d]);
        } catch (const Error& e) {
          throw Error("document " + std::to_string(d) + ": " + e.what());
        }
        tokenized = true;
      }
      const auto hit = std::search(ids.begin(), ids.end(), targets[k].begin(), targets[k].end());
      if (hit == ids.end()) continue;
      const auto i = static_cast<std::size_t>(hit - ids.begin());
      if (i < before || i - before + window > ids.size()) {
        ++r.skipped_at_edge[k];
        continue;
      }
      std::vector<std::int32_t> win(ids.begin() + static_cast<std::ptrdiff_t>(i - before),
                                    ids.begin() + static_cast<std::ptrdiff_t>(i - before + window));
      std::string text = utf8_lossy(tokenizer.decode(win));
      buckets[k].push_back({o.keywords[k], std::move(text), d, std::move(win)});
      ++r.counts[k];
    }
    r.documents_scanned = d + 1;
    if (progress) progress(d + 1);
  }
  concatenate(r, buckets);
  return r;
}

std::string keyword_filter_csv(const KeywordFilterResult& r) {
  const bool windows = r.window > 0;
  std::string out = windows ? csv_line({"label", "text", "doc", "ids", "target_index"})
                            : csv_line({"label", "text", "doc"});
  for (const auto& row : r.rows) {
    if (!windows) {
      out += csv_line({row.label, row.text, std::to_string(row.doc)});
      continue;
    }
    std::string ids;
    for (std::size_t i = 0; i < row.ids.size(); ++i)
      ids += (i ? " " : "") + std::to_string(row.ids[i]);
    out += csv_line(
        {row.label, row.text, std::to_string(row.doc), ids, std::to_string(r.target_index)});
  }
  return out;
}

std::string utf8_lossy(std::string_view bytes) {
  // Unicode's "maximal subpart" practice (Table 3-7 of well-formed sequences): a lead byte and
  // the continuation bytes that can still complete it form one subpart; an incomplete subpart,
  // or a byte that cannot start a sequence, becomes one U+FFFD.
  std::string out;
  out.reserve(bytes.size());
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t n = bytes.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned c = p[i];
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    std::size_t len = 0;
    unsigned lo = 0x80, hi = 0xBF;  // valid range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    }
    if (len == 0) {  // 80..C1, F5..FF: never a valid lead byte
      append_utf8(out, 0xFFFD);
      ++i;
      continue;
    }
    std::size_t k = 1;
    while (k < len && i + k < n) {
      const unsigned b = p[i + k];
      const bool ok = k == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
      if (!ok) break;
      ++k;
    }
    if (k == len) {
      out.append(bytes.substr(i, len));
    } else {
      append_utf8(out, 0xFFFD);
    }
    i += k;
  }
  return out;
}

}  // namespace actlens::io
