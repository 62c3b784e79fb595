#pragma once
// What a streaming reader does with input rows that hold NaN or Inf: stop with an error that
// names the file, the sample's key and the layer (the default: such rows usually mean a broken
// capture), or leave those samples out and count them.
#include <cstdint>
#include <string>
#include <vector>

#include "actlens/io/array.hpp"
#include "actlens/io/labeled_rows.hpp"

namespace actlens::io {

enum class NanPolicy { Error, Skip };

// "error" | "skip"; throws std::invalid_argument otherwise.
NanPolicy parse_nan_policy(const std::string& name);

// The rows of one layer of a chunk that passed the policy.
struct FiniteRows {
  std::vector<int> class_ids;  // [n_kept] class of each row left in chunk.rows[slot]
  std::int64_t dropped = 0;    // rows left out (Skip only)
};

// Applies `policy` to chunk.rows[slot] ([n, d], the layer numbered `layer` in messages):
// Error throws actlens::Error "<chunk.source>: key '<key>' has NaN/Inf at layer <layer>; ..."
// for the first such row; Skip removes those rows from chunk.rows[slot] (in place, order kept)
// and returns the class ids of the rows kept. chunk.class_ids is left as it is, so every layer
// slot of the chunk can be filtered on its own.
FiniteRows apply_nan_policy(Chunk& chunk, std::size_t slot, int layer, NanPolicy policy);

// The index of the first row of x [n, d] with a NaN or Inf, or -1 when every value is finite.
std::int64_t first_nonfinite_row(const RowMatrixF& x);
std::int64_t first_nonfinite_row(const RowMatrixD& x);

}  // namespace actlens::io
