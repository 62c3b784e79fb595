// libFuzzer target: io::read_embeddings on text and binary embedding files (GloVe text,
// word2vec text, word2vec binary, each possibly gzip-compressed, plus npy+vocab) and
// io::read_word_list on a word-list file.
// Feeds: byte 0 picks the file name / format / query, the rest is the file:
//   bits 0-2  0 emb.txt auto, 1 emb.bin auto, 2 emb.txt glove-text, 3 emb.txt word2vec-text,
//             4 emb.bin word2vec-binary, 5 emb.txt.gz auto, 6 emb.bin.gz auto,
//             7 npy+vocab: the rest is "<npy bytes>\n@@VOCAB@@\n<vocab lines>"
//   bit 3     query: every word (clear) or {"the", ",", "word", "the"} (set)
//   bit 4     skip_missing
//   bit 5     also read the file as a word list (read_word_list)
// Failure: anything but success or actlens::Error / UsageError / std::invalid_argument: a crash,
// a sanitizer report, another exception, a hang or unbounded memory.
#include <cstddef>
#include <cstdint>
#include <string>

#include "actlens/io/embeddings.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using actlens::io::EmbeddingFormat;
  const std::uint8_t mode = actlens::fuzz::take_byte(data, size);
  actlens::io::EmbeddingQuery q;
  std::filesystem::path path;
  switch (mode & 7) {
    case 0:
      path = actlens::fuzz::write_file("emb.txt", data, size);
      break;
    case 1:
      path = actlens::fuzz::write_file("emb.bin", data, size);
      break;
    case 2:
      path = actlens::fuzz::write_file("emb.txt", data, size);
      q.format = EmbeddingFormat::GloveText;
      break;
    case 3:
      path = actlens::fuzz::write_file("emb.txt", data, size);
      q.format = EmbeddingFormat::Word2VecText;
      break;
    case 4:
      path = actlens::fuzz::write_file("emb.bin", data, size);
      q.format = EmbeddingFormat::Word2VecBinary;
      break;
    case 5:
      path = actlens::fuzz::write_file("emb.txt.gz", data, size);
      break;
    case 6:
      path = actlens::fuzz::write_file("emb.bin.gz", data, size);
      break;
    default: {
      const auto [npy, vocab] = actlens::fuzz::split(data, size, "\n@@VOCAB@@\n");
      path = actlens::fuzz::write_file("emb.npy", npy);
      q.vocab = actlens::fuzz::write_file("vocab.txt", vocab);
      q.format = EmbeddingFormat::NpyWithVocab;
    }
  }
  if (mode & 8) q.words = {"the", ",", "word", "the"};
  q.skip_missing = (mode & 16) != 0;
  actlens::fuzz::expect_ok_or_rejected([&] {
    const auto e = actlens::io::read_embeddings(path, q);
    if (e.vectors.rows() != static_cast<long>(e.words.size()) || e.vectors.cols() != e.dim) {
      std::fprintf(stderr, "fuzz: %zu words but a %ldx%ld matrix (dim %ld)\n", e.words.size(),
                   static_cast<long>(e.vectors.rows()), static_cast<long>(e.vectors.cols()),
                   static_cast<long>(e.dim));
      std::abort();
    }
  });
  if (mode & 32)
    actlens::fuzz::expect_ok_or_rejected([&] { (void)actlens::io::read_word_list(path.string()); });
  return 0;
}
