#include "actlens/io/nan_policy.hpp"

#include <stdexcept>

#include "actlens/core/finite.hpp"
#include "actlens/error.hpp"

namespace actlens::io {

namespace {

template <class Matrix>
std::int64_t first_bad_row(const Matrix& x) {
  // One fast scan of the whole buffer first: the common case is clean data.
  if (core::all_finite(x.data(), static_cast<std::size_t>(x.size()))) return -1;
  for (Eigen::Index r = 0; r < x.rows(); ++r)
    if (!core::all_finite(x.row(r).data(), static_cast<std::size_t>(x.cols()))) return r;
  return -1;
}

}  // namespace

NanPolicy parse_nan_policy(const std::string& name) {
  if (name == "error") return NanPolicy::Error;
  if (name == "skip") return NanPolicy::Skip;
  throw std::invalid_argument("NaN policy '" + name + "' is not one of error, skip");
}

FiniteRows apply_nan_policy(Chunk& chunk, std::size_t slot, int layer, NanPolicy policy) {
  RowMatrixF& rows = chunk.rows.at(slot);
  FiniteRows out;
  out.class_ids = chunk.class_ids;
  if (core::all_finite(rows.data(), static_cast<std::size_t>(rows.size()))) return out;
  std::vector<Eigen::Index> keep;
  for (Eigen::Index r = 0; r < rows.rows(); ++r) {
    if (core::all_finite(rows.row(r).data(), static_cast<std::size_t>(rows.cols()))) {
      keep.push_back(r);
      continue;
    }
    if (policy == NanPolicy::Error)
      throw Error(chunk.source + ": key '" + chunk.keys.at(static_cast<std::size_t>(r)) +
                  "' has NaN/Inf at layer " + std::to_string(layer) +
                  "; fix the data or pass --nan skip to leave such samples out");
  }
  RowMatrixF kept(static_cast<Eigen::Index>(keep.size()), rows.cols());
  std::vector<int> kept_ids;
  kept_ids.reserve(keep.size());
  for (std::size_t r = 0; r < keep.size(); ++r) {
    kept.row(static_cast<Eigen::Index>(r)) = rows.row(keep[r]);
    kept_ids.push_back(out.class_ids[static_cast<std::size_t>(keep[r])]);
  }
  out.dropped = rows.rows() - static_cast<Eigen::Index>(keep.size());
  rows = std::move(kept);
  out.class_ids = std::move(kept_ids);
  return out;
}

std::int64_t first_nonfinite_row(const RowMatrixF& x) {
  return first_bad_row(x);
}
std::int64_t first_nonfinite_row(const RowMatrixD& x) {
  return first_bad_row(x);
}

}  // namespace actlens::io
