// GloVe and word2vec text, and the choice between text and binary after a word2vec header. See
// actlens/io/embeddings.hpp (formats, words with spaces, fast path) and embeddings_detail.hpp.
#include <algorithm>
#include <charconv>
#include <cmath>

#include "actlens/error.hpp"
#include "embeddings_detail.hpp"

namespace actlens::io::embeddings_detail {

namespace fs = std::filesystem;

namespace {

// Splits on spaces and tabs; empty fields (repeated separators) are skipped.
void split_fields(std::string_view line, std::vector<std::string_view>& out) {
  out.clear();
  std::size_t i = 0;
  const std::size_t n = line.size();
  while (i < n) {
    while (i < n && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i == n) break;
    const std::size_t start = i;
    while (i < n && line[i] != ' ' && line[i] != '\t') ++i;
    out.push_back(line.substr(start, i - start));
  }
}

// A float32 number (from_chars: correctly rounded); "+1.5" is accepted too. nullopt if `s` is
// not entirely a number. `range` is set when it is a number outside float32.
std::optional<float> parse_float(std::string_view s, bool* range = nullptr) {
  if (s.size() > 1 && s[0] == '+' && s[1] != '-' && s[1] != '+') s.remove_prefix(1);
  float v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (p != s.data() + s.size() || s.empty()) return std::nullopt;
  if (ec == std::errc::result_out_of_range) {
    if (range != nullptr) *range = true;
    return std::nullopt;
  }
  if (ec != std::errc()) return std::nullopt;
  return v;
}

bool is_number(std::string_view s) {
  bool range = false;
  return parse_float(s, &range).has_value() || range;
}

std::optional<std::int64_t> parse_count(std::string_view s) {
  std::int64_t v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

// "count dim" (exactly two non-negative integers), else nullopt.
std::optional<Header> parse_header(std::string_view line) {
  std::vector<std::string_view> f;
  split_fields(line, f);
  if (f.size() != 2) return std::nullopt;
  const auto count = parse_count(f[0]);
  const auto dim = parse_count(f[1]);
  if (!count || !dim) return std::nullopt;
  return Header{*count, *dim};
}

// The number of fields of a line whose fields are separated by single spaces (no tabs, no
// leading or repeated spaces; trailing spaces and tabs ignored), or -1 for any other line. A few
// vectorised passes instead of a split: the fast path for the rows nobody asked for.
std::int64_t simple_field_count(std::string_view line) {
  while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
  if (line.empty() || line.front() == ' ' || line.find('\t') != std::string_view::npos ||
      line.find("  ") != std::string_view::npos)
    return -1;
  return static_cast<std::int64_t>(std::count(line.begin(), line.end(), ' ')) + 1;
}

// True when `bytes` look like text: no control bytes but tab/CR/LF, valid UTF-8 (a sequence cut
// by the end of the sample is allowed).
bool looks_like_text(std::string_view bytes) {
  std::size_t i = 0;
  const std::size_t n = bytes.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c < 0x80) {
      if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) return false;
      ++i;
      continue;
    }
    std::size_t len = 0;
    if ((c & 0xE0) == 0xC0 && c >= 0xC2)
      len = 2;
    else if ((c & 0xF0) == 0xE0)
      len = 3;
    else if ((c & 0xF8) == 0xF0 && c <= 0xF4)
      len = 4;
    else
      return false;
    for (std::size_t k = 1; k < len; ++k) {
      if (i + k >= n) return true;  // cut by the sample's end
      if ((static_cast<unsigned char>(bytes[i + k]) & 0xC0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

bool has_bin_extension(const fs::path& p) {
  const std::string name = p.filename().string();
  const auto ends = [&](std::string_view suf) {
    return name.size() >= suf.size() &&
           name.compare(name.size() - suf.size(), suf.size(), suf) == 0;
  };
  return ends(".bin") || ends(".bin.gz");
}

// Reads the text formats. `header`: the word2vec header (its line already consumed), or nullopt
}  // namespace

// for GloVe (the reader is at the start).
Embeddings read_text(Reader& in, std::optional<Header> header, const EmbeddingQuery& q) {
  const std::string file = in.name();
  Collector rows(q.words, header ? header->dim : 0);
  std::int64_t dim = header ? header->dim : -1;
  const std::string dim_source = header ? "the header says " : "the first row has ";
  std::vector<std::string_view> f;
  std::int64_t n_rows = 0;
  std::string_view line;
  while (in.next_line(line)) {
    if (blank(line)) continue;
    const std::int64_t ln = in.line_no();
    if (dim > 0 && !rows.all() && (!header || n_rows < header->count)) {
      // Fast path: a well-formed row of a word nobody asked for is only counted.
      const std::size_t sp = line.find(' ');
      if (sp != std::string_view::npos && !rows.wanted(line.substr(0, sp)) &&
          simple_field_count(line) == dim + 1) {
        ++n_rows;
        continue;
      }
    }
    if (header && n_rows == header->count)
      throw Error(file + ": line " + std::to_string(ln) + " is a row past the " +
                  std::to_string(header->count) +
                  " words the header (line 1) promises; fix the header's count");
    split_fields(line, f);
    const auto n_values = static_cast<std::int64_t>(f.size()) - 1;
    if (dim < 0) {
      if (n_values < 1)
        throw Error(file + ": line " + std::to_string(ln) +
                    " has no values; expected 'word v1 ... vd' (GloVe) or a 'count dim' header");
      dim = n_values;
      rows.set_dim(dim);
    }
    // The word is every field before the last `dim` ones (GloVe 840B has words with spaces),
    // unless those extra fields are numbers: then the row simply has too many values.
    std::size_t word_fields = 1;
    if (n_values > dim) {
      word_fields = f.size() - static_cast<std::size_t>(dim);
      bool extra_numeric = true;
      for (std::size_t k = 1; k < word_fields && extra_numeric; ++k)
        extra_numeric = is_number(f[k]);
      if (extra_numeric) word_fields = 0;
    }
    if (n_values < dim || word_fields == 0)
      throw Error(file + ": line " + std::to_string(ln) + " has " + std::to_string(n_values) +
                  " values, " + dim_source + std::to_string(dim) +
                  "; the file is damaged or mixes two embeddings");
    ++n_rows;
    const std::string_view word =
        word_fields == 1
            ? f[0]
            : std::string_view(f[0].data(),
                               static_cast<std::size_t>(f[word_fields - 1].data() +
                                                        f[word_fields - 1].size() - f[0].data()));
    double* dst = rows.take(word, ln, file, "on lines");
    if (dst == nullptr) continue;
    for (std::int64_t k = 0; k < dim; ++k) {
      const std::string_view s = f[word_fields + static_cast<std::size_t>(k)];
      bool range = false;
      const auto v = parse_float(s, &range);
      if (!v || !std::isfinite(*v)) {
        const std::string where = file + ": line " + std::to_string(ln) + ", column " +
                                  std::to_string(static_cast<std::int64_t>(word_fields) + k + 1) +
                                  " (word " + squote(word) + "): " + squote(s);
        if (range) throw Error(where + " is outside the float32 range; the file is damaged");
        if (!v) throw Error(where + " is not a number; the file is damaged");
        throw Error(where + " is not a finite number (NaN/Inf); re-create the embeddings");
      }
      dst[k] = static_cast<double>(*v);
    }
  }
  if (header && n_rows != header->count)
    throw Error(file + ": the header (line 1) says " + std::to_string(header->count) +
                " words, the file has " + std::to_string(n_rows) +
                " rows; the file is truncated or the header is wrong");
  if (!header && n_rows == 0)
    throw Error(file + ": empty file; expected word vectors (GloVe or word2vec text/binary)");
  Embeddings e = rows.finish(q.words, q.skip_missing, file);
  e.vocab_size = n_rows;
  e.dim = dim;
  e.format = header ? "word2vec-text" : "glove-text";
  return e;
}

Embeddings read_text_or_binary(const fs::path& path, const EmbeddingQuery& q) {
  Reader in(path);
  const std::string file = in.name();
  std::string_view first;
  // Skips leading blank lines; the first line decides.
  bool any = false;
  while (in.next_line(first)) {
    if (!blank(first)) {
      any = true;
      break;
    }
  }
  if (!any)
    throw Error(file + ": empty file; expected word vectors (GloVe or word2vec text/binary)");
  std::optional<Header> header =
      q.format == EmbeddingFormat::GloveText ? std::nullopt : parse_header(first);
  if (header && (header->dim < 1 || header->dim > kMaxDim))
    throw Error(file + ": the header (line 1) gives dim " + std::to_string(header->dim) +
                "; expected 1.." + std::to_string(kMaxDim) + " (is this an embeddings file?)");
  if (!header) {
    if (q.format == EmbeddingFormat::Word2VecText || q.format == EmbeddingFormat::Word2VecBinary)
      throw Error(file + ": line 1 is not a word2vec header 'count dim'; for GloVe text (no " +
                  "header) use format glove-text");
    Reader again(path);  // the first line is a row: start over
    return read_text(again, std::nullopt, q);
  }
  bool binary = q.format == EmbeddingFormat::Word2VecBinary;
  if (q.format == EmbeddingFormat::Auto) {
    const std::size_t avail = in.fill(kSniffBytes);
    binary = has_bin_extension(path) ||
             !looks_like_text(std::string_view(in.data(), std::min(avail, kSniffBytes)));
  }
  return binary ? read_binary(in, *header, q) : read_text(in, header, q);
}

}  // namespace actlens::io::embeddings_detail
