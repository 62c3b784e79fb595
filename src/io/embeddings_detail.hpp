#pragma once
// Internals of the word-embedding readers (actlens/io/embeddings.hpp), shared by their files:
//   embeddings.cpp            read_embeddings (format dispatch), read_word_list, format names
//   embeddings_stream.cpp     Reader: a plain or gzip file read front to back, by lines or bytes
//   embeddings_collector.cpp  Collector: the requested words and the rows found for them
//   embeddings_text.cpp       GloVe / word2vec text, and the text-or-binary decision
//   embeddings_binary.cpp     word2vec binary
//   embeddings_npy.cpp        .npy + vocabulary file
//   embeddings_gpt2.cpp       a GPT-2 folder's token embedding
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "actlens/io/array.hpp"
#include "actlens/io/embeddings.hpp"

namespace actlens::io::embeddings_detail {

constexpr std::size_t kBufferSize = std::size_t{1} << 20;     // read chunk
constexpr std::size_t kMaxLine = std::size_t{64} << 20;       // longest text line accepted
constexpr std::size_t kMaxBinaryWord = std::size_t{1} << 16;  // longest binary word accepted
constexpr std::int64_t kMaxDim = 1'000'000;                   // larger "dims" are corrupt
constexpr std::size_t kListedMissing = 20;                    // missing words named in errors
constexpr std::size_t kSniffBytes = 4096;                     // bytes looked at to detect binary

inline std::string squote(std::string_view s) {
  return "'" + std::string(s) + "'";
}

// Float element types (an embedding table must hold one).
inline bool is_float_dtype(DType t) {
  return t == DType::F64 || t == DType::F32 || t == DType::F16 || t == DType::BF16;
}

// A line of nothing but spaces, tabs and CRs.
inline bool blank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

// ---------------------------------------------------------------------------------------------
// The bytes of a file, plain or gzip (recognised by its magic bytes, read through zlib), front to
// back through a buffer: lines for the text formats, byte runs for the binary one.

class ByteSource;  // embeddings_stream.cpp

class Reader {
 public:
  explicit Reader(const std::filesystem::path& path);
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;
  ~Reader();

  const std::filesystem::path& path() const;
  std::string name() const { return path().string(); }
  bool compressed() const;

  // Buffers at least n bytes from the current position unless the data ends; returns how many
  // are buffered.
  std::size_t fill(std::size_t n);
  const char* data() const { return buf_.data() + begin_; }
  std::size_t available() const { return end_ - begin_; }
  void consume(std::size_t n) { begin_ += n; }

  // Skips n bytes; false when the data ends first.
  bool skip(std::uint64_t n);

  // The next line without its '\n' (and a '\r' before it); false at the end. A line longer than
  // kMaxLine is an Error.
  bool next_line(std::string_view& line);
  std::int64_t line_no() const { return line_no_; }

 private:
  std::unique_ptr<ByteSource> src_;
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
  // `query` empty: every word is wanted (in file order). An empty word is a UsageError.
  Collector(const std::vector<std::string>& query, std::int64_t dim);

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
                        const char* at, const std::string& suffix = "");
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
                    const std::unordered_map<std::string, std::string>& reasons = {}) const;

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
// The readers, one per format; `q` as given to read_embeddings.

// A word2vec header: "count dim".
struct Header {
  std::int64_t count = 0, dim = 0;
};

// GloVe / word2vec text. `header`: the word2vec header (its line already consumed), or nullopt
// for GloVe (the reader is at the start).
Embeddings read_text(Reader& in, std::optional<Header> header, const EmbeddingQuery& q);
// word2vec binary, the reader just past the header line.
Embeddings read_binary(Reader& in, const Header& h, const EmbeddingQuery& q);
// The first line decides between GloVe text, word2vec text and word2vec binary.
Embeddings read_text_or_binary(const std::filesystem::path& path, const EmbeddingQuery& q);
Embeddings read_npy_vocab(const std::filesystem::path& path, const EmbeddingQuery& q);
Embeddings read_gpt2(const std::filesystem::path& dir, const EmbeddingQuery& q);

}  // namespace actlens::io::embeddings_detail
