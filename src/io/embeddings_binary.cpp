// word2vec binary (word2vec.c, gensim save_word2vec_format(binary=True)). See
// actlens/io/embeddings.hpp and embeddings_detail.hpp.
#include <bit>
#include <cmath>
#include <cstring>

#include "actlens/error.hpp"
#include "embeddings_detail.hpp"

namespace actlens::io::embeddings_detail {

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

}  // namespace actlens::io::embeddings_detail
