#pragma once
// A labelled activation set that analyses stream through: samples belong to classes, and each
// sample has one row of `dim` values per layer. Sources read chunk by chunk (one role file, or a
// block of rows), so only the selected layers of one chunk are in memory at a time.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "actlens/io/array.hpp"

namespace actlens::io {

struct ClassInfo {
  std::string name;        // "pirate_pos_3", or the label for plain inputs
  std::string role;        // role name ("" for plain inputs)
  int score = -1;          // judge score (-1 for plain inputs)
  std::int64_t count = 0;  // samples selected
};

struct Chunk {
  // rows[i]: [n, dim] float32 for the i-th requested layer.
  std::vector<RowMatrixF> rows;
  std::vector<int> class_ids;     // [n]
  std::vector<std::string> keys;  // [n] sample names, for error messages
  std::string source;             // file the chunk came from
};

class LabeledRows {
 public:
  virtual ~LabeledRows() = default;
  virtual int n_layers() const = 0;
  virtual std::int64_t dim() const = 0;
  virtual const std::vector<ClassInfo>& classes() const = 0;
  virtual std::int64_t n_samples() const = 0;
  virtual std::size_t n_chunks() const = 0;
  // Reads chunk `i` for `layers` (validated by the caller against n_layers()).
  virtual Chunk read_chunk(std::size_t i, const std::vector<int>& layers) const = 0;
  // Input description for run.json: paths, file count, bytes.
  virtual std::string describe() const = 0;
  virtual std::uint64_t input_bytes() const = 0;
};

}  // namespace actlens::io
