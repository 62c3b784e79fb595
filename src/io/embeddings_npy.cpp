// An .npy embedding table [V, d] with its vocabulary file (line i naming row i-1). See
// actlens/io/embeddings.hpp and embeddings_detail.hpp.
#include <cmath>
#include <cstring>
#include <utility>

#include "actlens/error.hpp"
#include "actlens/io/npy.hpp"
#include "embeddings_detail.hpp"
#include "input_file.hpp"

namespace actlens::io::embeddings_detail {

namespace fs = std::filesystem;

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

}  // namespace actlens::io::embeddings_detail
