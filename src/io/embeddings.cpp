// Word-embedding readers: GloVe / word2vec text and binary (streamed, optionally gzip), .npy with a
// vocabulary file, and a GPT-2 folder's token embedding. See actlens/io/embeddings.hpp; each
// format has its own file (embeddings_*.cpp, listed in embeddings_detail.hpp). Here: the choice of
// format, word lists and format names.
#include "actlens/io/embeddings.hpp"

#include <algorithm>
#include <string_view>
#include <utility>

#include "actlens/error.hpp"
#include "actlens/io/csv.hpp"
#include "embeddings_detail.hpp"

namespace actlens::io {
namespace {

namespace fs = std::filesystem;
using embeddings_detail::read_gpt2;
using embeddings_detail::read_npy_vocab;
using embeddings_detail::read_text_or_binary;
using embeddings_detail::Reader;

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
