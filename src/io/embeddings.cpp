// Word-embedding readers: GloVe / word2vec text and binary (streamed, optionally gzip), .npy with a
// vocabulary file, and a GPT-2 folder's token embedding. See actlens/io/embeddings.hpp.
#include "actlens/io/embeddings.hpp"

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "actlens/core/error.hpp"
#include "actlens/io/array.hpp"
#include "actlens/io/csv.hpp"
#include "actlens/io/gpt2_tokenizer.hpp"
#include "actlens/io/json_file.hpp"
#include "actlens/io/npy.hpp"
#include "actlens/io/safetensors.hpp"
#include "actlens/io/torch_file.hpp"
#include "input_file.hpp"

namespace actlens::io {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kBufferSize = std::size_t{1} << 20;     // read chunk
constexpr std::size_t kMaxLine = std::size_t{64} << 20;       // longest text line accepted
constexpr std::size_t kMaxBinaryWord = std::size_t{1} << 16;  // longest binary word accepted
constexpr std::int64_t kMaxDim = 1'000'000;                   // larger "dims" are corrupt
constexpr std::size_t kListedMissing = 20;                    // missing words named in errors
constexpr std::size_t kSniffBytes = 4096;                     // bytes looked at to detect binary

std::string squote(std::string_view s) {
  return "'" + std::string(s) + "'";
}

// ---------------------------------------------------------------------------------------------
// Bytes of a file, plain (pread) or gzip (zlib), read front to back.

class ByteSource {
 public:
  explicit ByteSource(const fs::path& path)
      : file_(path, "an embeddings file (GloVe/word2vec text or binary)") {
    unsigned char magic[2] = {0, 0};
    if (file_.read_up_to(0, magic, 2) == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
      // The descriptor already checked to be a regular file (not the path again: it may have
      // been replaced by a FIFO or a device since).
      const int fd = ::dup(file_.fd());
      if (fd >= 0) gz_ = gzdopen(fd, "rb");
      if (gz_ == nullptr) {
        if (fd >= 0) ::close(fd);
        throw Error(path.string() + ": cannot open the gzip stream; check the file");
      }
      gzbuffer(gz_, 1u << 17);
    }
  }
  ByteSource(const ByteSource&) = delete;
  ByteSource& operator=(const ByteSource&) = delete;
  ~ByteSource() {
    if (gz_ != nullptr) gzclose(gz_);
  }

  const fs::path& path() const { return file_.path(); }
  bool compressed() const { return gz_ != nullptr; }

  // Up to n bytes; 0 at the end.
  std::size_t read(char* dst, std::size_t n) {
    if (gz_ == nullptr) {
      const std::size_t got = file_.read_up_to(pos_, dst, n);
      pos_ += got;
      return got;
    }
    const int want = static_cast<int>(std::min<std::size_t>(n, std::size_t{1} << 30));
    const int got = gzread(gz_, dst, static_cast<unsigned>(want));
    if (got < 0) gz_fail();
    if (got == 0) {  // the end, or a stream cut short (zlib: "unexpected end of file")
      int err = Z_OK;
      gzerror(gz_, &err);
      if (err != Z_OK) gz_fail();
    }
    pos_ += static_cast<std::uint64_t>(got);
    return static_cast<std::size_t>(got);
  }

  // Skips n bytes; false when the data ends first (then everything was skipped).
  bool skip(std::uint64_t n) {
    if (gz_ == nullptr) {
      if (pos_ + n > file_.size()) {
        pos_ = file_.size();
        return false;
      }
      pos_ += n;
      return true;
    }
    std::vector<char> sink(std::min<std::uint64_t>(n, kBufferSize));
    while (n > 0) {
      const std::size_t got = read(sink.data(), std::min<std::uint64_t>(n, sink.size()));
      if (got == 0) return false;
      n -= got;
    }
    return true;
  }

 private:
  [[noreturn]] void gz_fail() {
    int err = Z_OK;
    const char* msg = gzerror(gz_, &err);
    throw Error(file_.path().string() + ": damaged or truncated gzip data (" +
                (msg != nullptr ? msg : "zlib error") + "); re-download or re-compress the file");
  }

  InputFile file_;
  gzFile gz_ = nullptr;
  std::uint64_t pos_ = 0;
};

// A buffer over a ByteSource: lines for the text formats, byte runs for the binary one.
class Reader {
 public:
  explicit Reader(const fs::path& path) : src_(path), buf_(kBufferSize) {}

  const fs::path& path() const { return src_.path(); }
  std::string name() const { return src_.path().string(); }
  bool compressed() const { return src_.compressed(); }

  // Buffers at least n bytes from the current position unless the data ends; returns how many
  // are buffered.
  std::size_t fill(std::size_t n) {
    if (end_ - begin_ >= n || eof_) return end_ - begin_;
    if (begin_ > 0) {
      std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (buf_.size() < n) buf_.resize(std::max(n, buf_.size() * 2));
    while (end_ < n && !eof_) {
      const std::size_t got = src_.read(buf_.data() + end_, buf_.size() - end_);
      if (got == 0) eof_ = true;
      end_ += got;
    }
    return end_ - begin_;
  }
  const char* data() const { return buf_.data() + begin_; }
  std::size_t available() const { return end_ - begin_; }
  void consume(std::size_t n) { begin_ += n; }

  // Skips n bytes; false when the data ends first.
  bool skip(std::uint64_t n) {
    if (n <= available()) {
      consume(static_cast<std::size_t>(n));
      return true;
    }
    n -= available();
    begin_ = end_ = 0;
    return src_.skip(n);
  }

  // The next line without its '\n' (and a '\r' before it); false at the end.
  bool next_line(std::string_view& line) {
    std::size_t scanned = 0;
    for (;;) {
      const char* start = buf_.data() + begin_;
      const std::size_t avail = end_ - begin_;
      const void* nl =
          avail > scanned ? std::memchr(start + scanned, '\n', avail - scanned) : nullptr;
      if (nl != nullptr || (eof_ && avail > 0)) {
        const std::size_t len =
            nl != nullptr ? static_cast<std::size_t>(static_cast<const char*>(nl) - start) : avail;
        line = std::string_view(start, len);
        begin_ += nl != nullptr ? len + 1 : len;
        ++line_no_;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        return true;
      }
      if (eof_) return false;
      scanned = avail;
      if (avail >= kMaxLine)
        throw Error(name() + ": line " + std::to_string(line_no_ + 1) +
                    " is longer than 64 MiB; this is not a GloVe/word2vec text file");
      fill(avail + 1);
    }
  }
  std::int64_t line_no() const { return line_no_; }

 private:
  ByteSource src_;
  std::vector<char> buf_;
  std::size_t begin_ = 0, end_ = 0;
  bool eof_ = false;
  std::int64_t line_no_ = 0;
};

// ---------------------------------------------------------------------------------------------
// The requested words and the rows found for them.

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

class Collector {
 public:
  Collector(const std::vector<std::string>& query, std::int64_t dim)
      : all_(query.empty()), dim_(dim) {
    for (const auto& w : query) {
      if (w.empty()) throw UsageError("the word list holds an empty word; remove it");
      slots_.try_emplace(w, Slot{});
    }
  }

  bool all() const { return all_; }
  std::int64_t dim() const { return dim_; }
  void set_dim(std::int64_t dim) { dim_ = dim; }

  bool wanted(std::string_view word) const { return all_ || slots_.count(word) != 0; }
  bool found(std::string_view word) const {
    const auto it = slots_.find(word);
    return it != slots_.end() && it->second.where >= 0;
  }

  // The row that receives the vector of `word`, found at `where` (a line or word number), or -1
  // when the word is not wanted. A second copy of a kept word throws: `at` describes the
  // locations ("on lines", "as words"), `suffix` what they refer to (" of vocab.txt").
  std::int64_t take_row(std::string_view word, std::int64_t where, const std::string& file,
                        const char* at, const std::string& suffix = "") {
    auto it = slots_.find(word);
    if (it == slots_.end()) {
      if (!all_) return -1;
      it = slots_.emplace(std::string(word), Slot{}).first;
    }
    if (it->second.where >= 0)
      throw Error(file + ": word " + squote(word) + " appears " + at + " " +
                  std::to_string(it->second.where) + " and " + std::to_string(where) + suffix +
                  "; remove the duplicate row so the word has one vector");
    it->second.where = where;
    it->second.row = rows_++;
    if (all_) order_.emplace_back(word);
    values_.resize(static_cast<std::size_t>(rows_ * dim_));
    return rows_ - 1;
  }
  // Storage of row `r` (valid until the next take).
  double* row(std::int64_t r) { return values_.data() + r * dim_; }
  // take_row() and its storage (valid until the next take), or nullptr.
  double* take(std::string_view word, std::int64_t where, const std::string& file, const char* at,
               const std::string& suffix = "") {
    const std::int64_t r = take_row(word, where, file, at, suffix);
    return r < 0 ? nullptr : row(r);
  }

  // The result in query order (file order for an empty query). `reasons` gives why a word is
  // missing (default "not in the vocabulary"); missing words throw unless `skip_missing`.
  Embeddings finish(const std::vector<std::string>& query, bool skip_missing,
                    const std::string& file,
                    const std::unordered_map<std::string, std::string>& reasons = {}) const {
    Embeddings e;
    e.dim = dim_;
    if (all_) {
      e.words = order_;
      e.vectors.resize(rows_, dim_);
      if (rows_ * dim_ > 0) std::memcpy(e.vectors.data(), values_.data(), values_.size() * 8);
      return e;
    }
    std::vector<std::int64_t> rows;
    for (const auto& w : query) {
      const Slot& s = slots_.find(w)->second;
      if (s.where >= 0) {
        e.words.push_back(w);
        rows.push_back(s.row);
      } else if (std::find(e.missing.begin(), e.missing.end(), w) == e.missing.end()) {
        e.missing.push_back(w);
        const auto r = reasons.find(w);
        e.missing_reasons.push_back(r != reasons.end() ? r->second : "not in the vocabulary");
      }
    }
    if (!e.missing.empty() && !skip_missing) {
      const std::size_t n_query = slots_.size();
      std::string list;
      for (std::size_t i = 0; i < e.missing.size() && i < kListedMissing; ++i) {
        if (i > 0) list += ", ";
        list += squote(e.missing[i]);
        if (e.missing_reasons[i] != "not in the vocabulary")
          list += " (" + e.missing_reasons[i] + ")";
      }
      if (e.missing.size() > kListedMissing)
        list += " and " + std::to_string(e.missing.size() - kListedMissing) + " more";
      throw Error(file + ": " + std::to_string(e.missing.size()) + " of " +
                  std::to_string(n_query) + " words not found: " + list +
                  "; check their spelling and case, or drop them with --skip-missing");
    }
    e.vectors.resize(static_cast<Eigen::Index>(rows.size()), dim_);
    for (std::size_t i = 0; i < rows.size(); ++i)
      std::memcpy(e.vectors.row(static_cast<Eigen::Index>(i)).data(),
                  values_.data() + rows[i] * dim_, static_cast<std::size_t>(dim_) * 8);
    return e;
  }

 private:
  struct Slot {
    std::int64_t where = -1;  // where the word was found; -1 = not yet
    std::int64_t row = 0;     // its row in values_
  };
  bool all_;
  std::int64_t dim_;
  std::unordered_map<std::string, Slot, StringHash, std::equal_to<>> slots_;
  std::vector<std::string> order_;  // all_: words in file order
  std::vector<double> values_;      // [rows_, dim_]
  std::int64_t rows_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Text formats.

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

struct Header {
  std::int64_t count = 0, dim = 0;
};

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

bool blank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
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

// ---------------------------------------------------------------------------------------------
// word2vec binary.

Embeddings read_binary(Reader& in, const Header& h, const EmbeddingQuery& q) {
  const std::string file = in.name();
  const std::string shape = std::to_string(h.count) + " words x " + std::to_string(h.dim) + " dims";
  Collector rows(q.words, h.dim);
  const std::size_t vec_bytes = static_cast<std::size_t>(h.dim) * 4;
  std::vector<float> vec(static_cast<std::size_t>(h.dim));
  for (std::int64_t i = 1; i <= h.count; ++i) {
    const std::string which = "word " + std::to_string(i) + " of " + std::to_string(h.count);
    // Newlines between records (word2vec.c writes one after each vector).
    for (;;) {
      if (in.fill(1) == 0)
        throw Error(file + ": the file ends before " + which + "; it is truncated or its header (" +
                    shape + ") is wrong");
      if (in.data()[0] != '\n') break;
      in.consume(1);
    }
    // The word: bytes up to a space.
    std::size_t len = 0;
    for (;;) {
      const std::size_t avail = in.fill(len + 1);
      const void* sp = avail > len ? std::memchr(in.data() + len, ' ', avail - len) : nullptr;
      if (sp != nullptr) {
        len = static_cast<std::size_t>(static_cast<const char*>(sp) - in.data());
        break;
      }
      if (avail <= len)
        throw Error(file + ": the file ends inside " + which + "; it is truncated or its header (" +
                    shape + ") is wrong");
      len = avail;
      if (len > kMaxBinaryWord)
        throw Error(file + ": " + which + " has no ' ' within 64 KiB; the header (" + shape +
                    ") is wrong or this is not a word2vec binary file");
    }
    const std::string_view word(in.data(), len);
    if (word.empty())
      throw Error(file + ": " + which +
                  " is empty (a ' ' where a word should start); the header (" + shape +
                  ") is wrong or the file is damaged");
    for (const char c : word) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u == 0x7f)
        throw Error(file + ": " + which + " holds control bytes; the header (" + shape +
                    ") is wrong or the file is damaged (a word2vec binary word is text)");
    }
    double* dst = rows.take(word, i, file, "as words");
    const std::string word_s(word);
    in.consume(len + 1);
    const std::string truncated = file + ": the file ends inside the vector of " + which + " (" +
                                  squote(word_s) + ", " + std::to_string(vec_bytes) +
                                  " bytes); it is truncated or its header (" + shape + ") is wrong";
    if (dst == nullptr) {
      if (!in.skip(vec_bytes)) throw Error(truncated);
      continue;
    }
    if (in.fill(vec_bytes) < vec_bytes) throw Error(truncated);
    std::memcpy(vec.data(), in.data(), vec_bytes);
    in.consume(vec_bytes);
    for (std::int64_t k = 0; k < h.dim; ++k) {
      float v = vec[static_cast<std::size_t>(k)];
      if constexpr (std::endian::native == std::endian::big) {
        std::uint32_t bits = 0;
        std::memcpy(&bits, &v, 4);
        bits = __builtin_bswap32(bits);
        std::memcpy(&v, &bits, 4);
      }
      if (!std::isfinite(v))
        throw Error(file + ": value " + std::to_string(k + 1) + " of " + which + " (" +
                    squote(word_s) + ") is NaN or Inf; re-create the embeddings");
      dst[k] = static_cast<double>(v);
    }
  }
  // Only whitespace may follow the last vector.
  for (;;) {
    const std::size_t avail = in.fill(1);
    if (avail == 0) break;
    const std::string_view rest(in.data(), avail);
    if (rest.find_first_not_of(" \t\r\n") != std::string_view::npos)
      throw Error(file + ": data follows the " + std::to_string(h.count) +
                  " words the header promises; the header (" + shape + ") is wrong");
    in.consume(avail);
  }
  Embeddings e = rows.finish(q.words, q.skip_missing, file);
  e.vocab_size = h.count;
  e.format = "word2vec-binary";
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

// ---------------------------------------------------------------------------------------------
// .npy + vocabulary.

bool is_float_dtype(DType t) {
  return t == DType::F64 || t == DType::F32 || t == DType::F16 || t == DType::BF16;
}

Embeddings read_npy_vocab(const fs::path& path, const EmbeddingQuery& q) {
  const std::string file = path.string();
  if (q.vocab.empty())
    throw UsageError(file +
                     ": a .npy table needs its vocabulary file (--vocab, one word per line, "
                     "line i naming row i-1)");
  const NpyLayout lay = read_npy_layout(path);
  if (lay.shape.size() != 2)
    throw Error(file + ": expected a 2-D array [words, dims], found " +
                std::to_string(lay.shape.size()) + "-D; save the embedding matrix itself");
  if (!is_float_dtype(lay.dtype))
    throw Error(file + ": dtype " + dtype_name(lay.dtype) +
                " is not a float type; save the embeddings as float16/32/64");
  const std::int64_t n_rows = lay.shape[0];
  const std::int64_t dim = lay.shape[1];

  // The vocabulary: which row holds each wanted word.
  Reader vocab(q.vocab);
  const std::string vfile = vocab.name();
  Collector rows(q.words, dim);
  std::vector<std::pair<std::int64_t, std::int64_t>> wanted;  // npy row -> collector row
  std::string_view line;
  std::int64_t n_words = 0;
  while (vocab.next_line(line)) {
    ++n_words;
    if (line.empty())
      throw Error(vfile + ": line " + std::to_string(vocab.line_no()) +
                  " is empty; the vocabulary needs one word per line (line i = row i-1 of " +
                  path.filename().string() + ")");
    const std::int64_t r = rows.take_row(line, vocab.line_no(), vfile, "on lines");
    if (r >= 0) wanted.emplace_back(n_words - 1, r);
  }
  if (n_words != n_rows)
    throw Error(vfile + ": " + std::to_string(n_words) + " words, but " + file + " has " +
                std::to_string(n_rows) + " rows; give the vocabulary that belongs to the array");

  const auto check_row = [&](const double* r, std::int64_t row) {
    for (std::int64_t k = 0; k < dim; ++k)
      if (!std::isfinite(r[k]))
        throw Error(file + ": row " + std::to_string(row) + " (line " + std::to_string(row + 1) +
                    " of " + vfile + ") holds NaN or Inf; re-create the embeddings");
  };
  if (lay.fortran_order || lay.big_endian) {
    // Rare layouts: the npy reader converts the whole array.
    const RowMatrixD m = to_double_matrix(read_npy(path), file);
    for (const auto& [row, r] : wanted) {
      double* dst = rows.row(r);
      std::memcpy(dst, m.row(row).data(), static_cast<std::size_t>(dim) * 8);
      check_row(dst, row);
    }
  } else {
    const InputFile in(path, "a .npy file");
    const std::size_t row_bytes = static_cast<std::size_t>(dim) * dtype_size(lay.dtype);
    std::vector<std::byte> raw(row_bytes);
    for (const auto& [row, r] : wanted) {
      double* dst = rows.row(r);
      in.read(lay.data_offset + static_cast<std::uint64_t>(row) * row_bytes, raw.data(), row_bytes);
      convert_to_double(lay.dtype, raw.data(), dst, static_cast<std::size_t>(dim));
      check_row(dst, row);
    }
  }
  Embeddings e = rows.finish(q.words, q.skip_missing, file);
  e.vocab_size = n_rows;
  e.dim = dim;
  e.format = "npy+vocab";
  return e;
}

// ---------------------------------------------------------------------------------------------
// GPT-2 folder: the token embedding.

struct TokenTable {
  std::string what;  // "<file>: wte.weight" for messages
  std::int64_t rows = 0, dim = 0;
  std::function<void(std::int64_t, float*)> read_row;
};

constexpr const char* kWteKeys[] = {"wte.weight", "transformer.wte.weight"};

std::optional<TokenTable> wte_from_safetensors(const fs::path& file) {
  const auto st = std::make_shared<SafetensorsFile>(SafetensorsFile::open(file));
  for (const char* key : kWteKeys) {
    if (!st->contains(key)) continue;
    const auto& info = st->info(key);
    if (info.shape.size() != 2 || !is_float_dtype(info.dtype))
      throw Error(file.string() + ": " + key + " is " + dtype_name(info.dtype) + " with " +
                  std::to_string(info.shape.size()) +
                  " dims; expected a float [vocab, d_model] matrix");
    const std::string k = key;
    return TokenTable{file.string() + ": " + key, info.shape[0], info.shape[1],
                      [st, k](std::int64_t row, float* dst) { st->read_row_float(k, row, dst); }};
  }
  return std::nullopt;
}

std::optional<TokenTable> wte_from_torch(const fs::path& file) {
  const auto tf = std::make_shared<TorchFile>(TorchFile::open(file));
  const auto& root = tf->root();
  if (!root || !root->is<pickle::Dict>())
    throw Error(file.string() + ": expected a state dict (name -> tensor), found " +
                (root ? root->type_name() : std::string("nothing")));
  for (const char* key : kWteKeys) {
    const pickle::ValuePtr v = root->get(key);
    if (!v) continue;
    if (!v->is<pickle::Tensor>())
      throw Error(file.string() + ": " + key + " is a " + v->type_name() + ", not a tensor");
    const pickle::Tensor t = v->as<pickle::Tensor>();
    if (t.shape.size() != 2 || !t.storage || !is_float_dtype(t.storage->dtype))
      throw Error(file.string() + ": " + key + " is not a float [vocab, d_model] matrix");
    return TokenTable{file.string() + ": " + key, t.shape[0], t.shape[1],
                      [tf, t](std::int64_t row, float* dst) { tf->read_slice_float(t, row, dst); }};
  }
  return std::nullopt;
}

// The shard a sharded checkpoint's index names for the wte key, if any.
std::optional<fs::path> shard_for_wte(const fs::path& index) {
  const nlohmann::json j = read_json_file(index, "a sharded checkpoint index (JSON)");
  if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
    throw Error(index.string() + ": no \"weight_map\" object; is this a sharded checkpoint index?");
  for (const char* key : kWteKeys) {
    const auto it = j["weight_map"].find(key);
    if (it != j["weight_map"].end() && it->is_string())
      return index.parent_path() / it->get<std::string>();
  }
  return std::nullopt;
}

std::string shape_words(std::int64_t rows, std::int64_t cols) {
  return "[" + std::to_string(rows) + ", " + std::to_string(cols) + "]";
}

// The folder's config.json (when it has one) fixes the embedding's shape: [vocab_size, n_embd].
// A table of another shape belongs to another model (or is damaged): refused, naming both.
void check_wte_shape(const TokenTable& t, const fs::path& dir) {
  if (t.rows < 1 || t.dim < 1 || t.dim > kMaxDim)
    throw Error(t.what + ": shape " + shape_words(t.rows, t.dim) +
                " is no token embedding [vocab, d_model]; the checkpoint is damaged");
  const fs::path cfg_path = dir / "config.json";
  std::error_code ec;
  if (!fs::exists(cfg_path, ec)) return;
  const nlohmann::json cfg = read_json_file(cfg_path, "a config.json file");
  if (!cfg.is_object())
    throw Error(cfg_path.string() + ": expected a JSON object (a Hugging Face model config)");
  auto size = [&](std::initializer_list<const char*> keys, std::int64_t fallback) {
    for (const char* key : keys) {
      const auto it = cfg.find(key);
      if (it == cfg.end() || it->is_null()) continue;
      const bool ok = it->is_number_integer() &&
                      !(it->is_number_unsigned() && it->get<std::uint64_t>() > (1ull << 40)) &&
                      it->get<std::int64_t>() >= 1 && it->get<std::int64_t>() <= (1ll << 40);
      if (!ok) {
        std::string got = it->dump();
        if (got.size() > 60) got = got.substr(0, 60) + "...";
        throw Error(cfg_path.string() + ": key '" + key + "' must be a positive integer, got " +
                    got + "; fix the config");
      }
      return it->get<std::int64_t>();
    }
    return fallback;
  };
  const std::int64_t vocab = size({"vocab_size"}, t.rows);
  const std::int64_t d = size({"n_embd", "hidden_size"}, t.dim);
  if (t.rows != vocab || t.dim != d)
    throw Error(t.what + ": shape " + shape_words(t.rows, t.dim) + ", but " + cfg_path.string() +
                " says [vocab_size, n_embd] = " + shape_words(vocab, d) +
                "; the weights and config.json do not belong together");
}

TokenTable open_wte(const fs::path& dir) {
  std::optional<TokenTable> t;
  std::string looked;
  if (fs::exists(dir / "model.safetensors")) {
    t = wte_from_safetensors(dir / "model.safetensors");
    looked = "model.safetensors";
  } else if (fs::exists(dir / "model.safetensors.index.json")) {
    if (auto shard = shard_for_wte(dir / "model.safetensors.index.json"))
      t = wte_from_safetensors(*shard);
    looked = "model.safetensors.index.json";
  } else if (fs::exists(dir / "pytorch_model.bin")) {
    t = wte_from_torch(dir / "pytorch_model.bin");
    looked = "pytorch_model.bin";
  } else if (fs::exists(dir / "pytorch_model.bin.index.json")) {
    if (auto shard = shard_for_wte(dir / "pytorch_model.bin.index.json"))
      t = wte_from_torch(*shard);
    looked = "pytorch_model.bin.index.json";
  } else {
    throw Error(dir.string() +
                ": no weights (looked for model.safetensors, model.safetensors.index.json, "
                "pytorch_model.bin, pytorch_model.bin.index.json); give a GPT-2 model folder");
  }
  if (!t)
    throw Error((dir / looked).string() +
                ": no token embedding (wte.weight or transformer.wte.weight); is this a GPT-2 "
                "model?");
  check_wte_shape(*t, dir);
  return std::move(*t);
}

Embeddings read_gpt2(const fs::path& dir, const EmbeddingQuery& q) {
  if (q.words.empty())
    throw UsageError(
        dir.string() +
        ": a GPT-2 folder needs the words to look up; give --words (a list or a file)");
  const TokenTable wte = open_wte(dir);
  const Gpt2Tokenizer tok = Gpt2Tokenizer::from_folder(dir);
  Collector rows(q.words, wte.dim);
  std::unordered_map<std::string, std::string> reasons;
  std::vector<float> buf(static_cast<std::size_t>(wte.dim));
  std::int64_t index = 0;
  for (const auto& w : q.words) {
    ++index;
    if (w.empty()) throw UsageError("the word list holds an empty word; remove it");
    if (rows.found(w) || reasons.count(w) != 0) continue;  // a repeated query word
    const std::vector<std::int32_t> ids = tok.encode_ordinary(q.gpt2_leading_space ? " " + w : w);
    if (ids.size() != 1) {
      std::string pieces;
      for (const auto id : ids) pieces += (pieces.empty() ? "" : "|") + tok.token_text(id);
      reasons[w] = std::to_string(ids.size()) + " tokens: " + pieces;
      continue;
    }
    const std::int32_t id = ids[0];
    if (id < 0 || id >= wte.rows)
      throw Error(wte.what + ": token id " + std::to_string(id) + " of " + squote(w) +
                  " is outside its " + std::to_string(wte.rows) +
                  " rows; the tokenizer files and the weights do not belong together");
    double* dst = rows.take(w, index, wte.what, "as query words");
    wte.read_row(id, buf.data());
    for (std::int64_t k = 0; k < wte.dim; ++k) {
      const float v = buf[static_cast<std::size_t>(k)];
      if (!std::isfinite(v))
        throw Error(wte.what + ": row " + std::to_string(id) + " (" + squote(w) +
                    ") holds NaN or Inf; the checkpoint is damaged");
      dst[k] = static_cast<double>(v);
    }
  }
  Embeddings e = rows.finish(q.words, q.skip_missing, dir.string(), reasons);
  e.vocab_size = wte.rows;
  e.dim = wte.dim;
  e.format = "gpt2-wte";
  return e;
}

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

}  // namespace

Embeddings read_embeddings(const fs::path& path, const EmbeddingQuery& q) {
  EmbeddingFormat f = q.format;
  if (f == EmbeddingFormat::Auto) {
    std::error_code ec;
    if (fs::is_directory(path, ec))
      f = EmbeddingFormat::Gpt2Folder;
    else if (path.extension() == ".npy")
      f = EmbeddingFormat::NpyWithVocab;
  }
  if (!q.vocab.empty() && f != EmbeddingFormat::NpyWithVocab)
    throw UsageError(q.vocab.string() +
                     ": a vocabulary file goes with a .npy table only; drop --vocab for " +
                     path.string());
  switch (f) {
    case EmbeddingFormat::Gpt2Folder:
      return read_gpt2(path, q);
    case EmbeddingFormat::NpyWithVocab:
      return read_npy_vocab(path, q);
    default:
      return read_text_or_binary(path, q);
  }
}

std::vector<std::string> read_word_list(const std::string& spec) {
  const fs::path p(spec);
  std::error_code ec;
  std::vector<std::string> words;
  if (fs::is_regular_file(p, ec)) {
    const std::string file = p.string();
    if (p.extension() == ".csv") {
      const CsvTable t = read_csv(p);
      if (t.header.empty()) throw Error(file + ": no header row; expected a column named 'word'");
      const int col = std::max(t.column("word"), 0);
      for (const auto& row : t.rows) {
        if (static_cast<std::size_t>(col) >= row.size()) continue;
        std::string w = trim(row[static_cast<std::size_t>(col)]);
        if (!w.empty()) words.push_back(std::move(w));
      }
    } else {
      Reader in(p);
      std::string_view line;
      while (in.next_line(line)) {
        if (in.line_no() == 1 && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);
        std::string w = trim(line);
        if (w.empty() || w[0] == '#') continue;
        words.push_back(std::move(w));
      }
    }
    if (words.empty())
      throw Error(file + ": no words; write one word per line (or a CSV with a 'word' column)");
    return words;
  }
  const bool path_like =
      spec.find(',') == std::string::npos &&
      (spec.find('/') != std::string::npos || p.extension() == ".txt" || p.extension() == ".csv");
  if (path_like) throw Error(spec + ": no such word-list file; check the path");
  std::size_t start = 0;
  while (start <= spec.size()) {
    const std::size_t comma = std::min(spec.find(',', start), spec.size());
    std::string w = trim(std::string_view(spec).substr(start, comma - start));
    if (!w.empty()) words.push_back(std::move(w));
    start = comma + 1;
  }
  if (words.empty())
    throw UsageError("the word list '" + spec +
                     "' is empty; give words separated by commas or a file with one per line");
  return words;
}

std::string embedding_format_name(EmbeddingFormat f) {
  switch (f) {
    case EmbeddingFormat::Auto:
      return "auto";
    case EmbeddingFormat::GloveText:
      return "glove-text";
    case EmbeddingFormat::Word2VecText:
      return "word2vec-text";
    case EmbeddingFormat::Word2VecBinary:
      return "word2vec-binary";
    case EmbeddingFormat::NpyWithVocab:
      return "npy+vocab";
    case EmbeddingFormat::Gpt2Folder:
      return "gpt2-wte";
  }
  return "auto";
}

EmbeddingFormat parse_embedding_format(const std::string& name) {
  static const std::pair<const char*, EmbeddingFormat> kNames[] = {
      {"auto", EmbeddingFormat::Auto},
      {"glove-text", EmbeddingFormat::GloveText},
      {"glove", EmbeddingFormat::GloveText},
      {"word2vec-text", EmbeddingFormat::Word2VecText},
      {"word2vec", EmbeddingFormat::Word2VecText},
      {"word2vec-binary", EmbeddingFormat::Word2VecBinary},
      {"w2v-bin", EmbeddingFormat::Word2VecBinary},
      {"npy+vocab", EmbeddingFormat::NpyWithVocab},
      {"npy", EmbeddingFormat::NpyWithVocab},
      {"gpt2-wte", EmbeddingFormat::Gpt2Folder},
      {"gpt2", EmbeddingFormat::Gpt2Folder},
  };
  for (const auto& [n, f] : kNames)
    if (name == n) return f;
  throw UsageError("unknown embeddings format '" + name +
                   "'; use auto, glove-text, word2vec-text, word2vec-binary, npy+vocab or "
                   "gpt2-wte");
}

}  // namespace actlens::io
