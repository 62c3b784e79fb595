#pragma once
// Word embeddings: the rows of chosen words from a pretrained embedding table, as the seed
// notebooks take them with gensim (`np.array([glove[w] for w in words])`).
//
// Formats
//   glove-text       "word v1 ... vd" per line, no header (GloVe's .txt files)
//   word2vec-text    the same after a "count dim" line (gensim save_word2vec_format(binary=False))
//   word2vec-binary  "count dim\n", then per word: its UTF-8 bytes, ' ', dim little-endian float32,
//                    and optionally '\n' (word2vec.c writes it, gensim does not)
//   npy+vocab        an .npy [V, d] (float16/bfloat16/float32/float64) and a vocabulary file with
//                    one word per line, line i naming row i-1
//   gpt2-wte         a Hugging Face GPT-2 folder: the rows of the token embedding (wte.weight or
//                    transformer.wte.weight in model.safetensors, pytorch_model.bin or their
//                    sharded .index.json) for words that are exactly one token
// Text and binary files may be gzip-compressed (recognised by their bytes, read through zlib).
//
// Auto-detection: a folder is a GPT-2 folder, a .npy file is npy+vocab; otherwise the first line
// decides: "count dim" (two integers) is a word2vec header, anything else is a GloVe row. After a
// header the file is binary when its name ends in .bin (or .bin.gz) or when the bytes after the
// header are not text (control bytes or invalid UTF-8 in the first 4 KiB).
//
// Streaming: text and binary files are read once, front to back, through a 1 MiB buffer, so a
// multi-GB file is never held in memory; only the requested words' vectors are kept (all of them
// when the query is empty). The whole file is always read: `vocab_size` is then the exact number
// of words in the file, a word2vec header's count is checked against the rows, and a requested
// word that appears twice is caught wherever the second copy is. For speed, rows of words that
// were not requested are only checked for their field count (text) or length (binary); their
// numbers are not parsed. Kept rows are fully checked: every field a float32 number, finite.
//
// Values: text numbers are parsed to float32 (correctly rounded, as gensim stores them) and
// widened exactly to float64; binary/npy/wte values are widened exactly as well.
//
// Words with spaces (a few odd tokens of GloVe 840B): when a text row has more fields than
// `dim + 1`, its LAST dim fields are the vector and everything before them is the word, unless
// the extra fields are all numbers, in which case the row is reported as ragged.
//
// Every error is an actlens::Error with a one-line message that names the file (and the line or
// word) and says what to do; a query that is wrong in itself (empty GPT-2 query, empty word,
// --vocab for a non-npy file) is an actlens::UsageError.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "actlens/core/types.hpp"

namespace actlens::io {

enum class EmbeddingFormat {
  Auto,
  GloveText,
  Word2VecText,
  Word2VecBinary,
  NpyWithVocab,
  Gpt2Folder
};

struct EmbeddingQuery {
  // The rows wanted, in this order; a word may repeat (its row then repeats). Empty = every word
  // of the file, in file order (text, binary and npy; a GPT-2 folder needs words).
  std::vector<std::string> words;
  // false: words that are not found make an Error listing them (the first 20 and a count);
  // true: they are dropped and listed in Embeddings::missing.
  bool skip_missing = false;
  EmbeddingFormat format = EmbeddingFormat::Auto;
  // NpyWithVocab: the vocabulary file, one word per line (required for .npy).
  std::filesystem::path vocab;
  // Gpt2Folder: look up " word" (the "Ġword" token, as a word inside a sentence) instead of "word".
  bool gpt2_leading_space = false;
};

struct Embeddings {
  std::vector<std::string> words;  // the words found, in query order
  core::RowMatrixXd vectors;       // vectors: [words.size(), dim], row-major float64
  // Requested words that were not found (each once, in query order), and why, one reason per
  // missing word: "not in the vocabulary" or, for GPT-2, "3 tokens: Ġstar|fr|uit".
  std::vector<std::string> missing;
  std::vector<std::string> missing_reasons;
  // Words in the file: text/binary rows counted while streaming, the .npy's rows, or the GPT-2
  // embedding's rows (its token count). Always exact: the whole file is read.
  std::int64_t vocab_size = 0;
  std::int64_t dim = 0;
  // "glove-text", "word2vec-text", "word2vec-binary", "npy+vocab" or "gpt2-wte".
  std::string format;
};

// Reads the rows of `q.words` from `path` (a file, or a folder for GPT-2). See the top of this
// file.
Embeddings read_embeddings(const std::filesystem::path& path, const EmbeddingQuery& q);

// A word list: `spec` names an existing file, or is a comma-separated list ("moon,star, sun";
// items are trimmed, empty ones skipped). Files: one word per line, surrounding whitespace
// trimmed, blank lines and lines starting with '#' skipped; a .csv (RFC 4180, with a header)
// gives the column named `word`, else its first column. A file without words is an Error, a
// list without words a UsageError; a path-like spec (a '/', .txt, .csv) that names no file is an
// Error.
std::vector<std::string> read_word_list(const std::string& spec);

// "glove-text" etc. (and "auto") <-> the enum; parse also takes "glove", "word2vec", "w2v-bin",
// "npy" and "gpt2". An unknown name is an actlens::UsageError listing the accepted ones.
std::string embedding_format_name(EmbeddingFormat f);
EmbeddingFormat parse_embedding_format(const std::string& name);

}  // namespace actlens::io
