#pragma once
// Sufficient statistics for LDA, accumulated from chunks of rows in float64: per-class counts and
// sums, and the total scatter sum (x - c)(x - c)^T about a fixed shift c (the first chunk's mean),
// which keeps the final centring free of cancellation. Accumulators merge, so the same code serves
// one file, many files, threads and processes.
#include <cstdint>
#include <span>
#include <vector>

#include <Eigen/Core>

#include "actlens/core/types.hpp"

namespace actlens::core {

// What LDA needs, centred on the grand mean.
struct ScatterStats {
  std::int64_t n = 0;
  std::vector<std::int64_t> class_counts;  // [C]
  Eigen::VectorXd mean;                    // [d] grand mean
  RowMatrixXd class_means;                 // [C, d]
  Eigen::MatrixXd total_scatter;           // [d, d] S_T = sum (x - mean)(x - mean)^T, symmetric
};

// An accumulator's exact state as plain arrays, for partial-statistics files (io/partial_stats):
// everything is about `shift`, so rebuilding from a state and merging equals merging the
// accumulators themselves. n == 0 is the empty state (shift then unused, all zero).
struct ScatterState {
  std::int64_t n = 0;
  std::vector<std::int64_t> class_counts;  // [C], sums to n
  Eigen::VectorXd shift;                   // [d]
  RowMatrixXd class_sums;                  // [C, d] sum over the class of (x - shift)
  Eigen::MatrixXd gram;                    // [d, d] sum (x - shift)(x - shift)^T, symmetric
};

// How chunk products are formed. Both accumulate into float64 across chunks.
//  Float64: each chunk is widened and multiplied in float64 (dsyrk).
//  Mixed:   float32 input rows, centred on a float32 shift, are multiplied in float32 (ssyrk)
//           in blocks of at most 1024 rows, and each block's product is added in float64. As
//           the seed's own float32 np.outer terms, about 2x faster than Float64; eigenvalues
//           then differ from an exact float64 computation by up to ~1e-5..1e-4 relative.
enum class Precision { Float64, Mixed };

class ScatterAccumulator {
 public:
  ScatterAccumulator(Eigen::Index dim, Eigen::Index n_classes,
                     Precision precision = Precision::Float64);

  // x: [n, d] row-major float32 rows; class_ids[i] in [0, C). Rows are widened to float64.
  void add(const Eigen::Ref<const RowMatrixXf>& x, std::span<const int> class_ids);
  // Same for float64 rows (e.g. after a non-affine scaler).
  void add(const Eigen::Ref<const RowMatrixXd>& x, std::span<const int> class_ids);
  // The pairwise update of Chan, Golub and LeVeque about the merged mean: each side's scatter is
  // centred on its own mean, and the two add with (n1 n2 / n) (m2 - m1)(m2 - m1)^T. Terms are
  // all centred, so a merge is as accurate as one pass however far apart the two shifts are
  // (shards start from different first chunks). Afterwards the shift is the merged mean.
  void merge(const ScatterAccumulator& other);
  ScatterStats finalize() const;

  // The exact state (gram mirrored to a full symmetric matrix) and back. from_state throws
  // std::invalid_argument for inconsistent shapes, negative counts or counts not summing to n.
  ScatterState state() const;
  static ScatterAccumulator from_state(const ScatterState& state,
                                       Precision precision = Precision::Float64);

  std::int64_t count() const { return n_; }
  Eigen::Index dim() const { return dim_; }

 private:
  void check_chunk(Eigen::Index rows, Eigen::Index cols, std::span<const int> class_ids) const;
  void count(std::span<const int> class_ids);
  Eigen::VectorXd total_sum() const;  // [d] sum (x - shift)

  Eigen::Index dim_;
  Precision precision_;
  std::int64_t n_ = 0;
  bool has_shift_ = false;
  Eigen::VectorXd shift_;   // [d]
  RowMatrixXd class_sums_;  // [C, d] sum (x - shift) per class
  std::vector<std::int64_t> class_counts_;
  Eigen::MatrixXd gram_;    // [d, d] lower triangle of sum (x - shift)(x - shift)^T
  RowMatrixXd buffer_;      // reused chunk buffer
  RowMatrixXf buffer_f_;    // Mixed: float32 centred block
  Eigen::MatrixXf gram_f_;  // Mixed: one block's float32 product
};

// Statistics of the scaled data z = (x - mean) / scale, derived exactly from raw statistics
// (valid for affine scalers).
ScatterStats scale_stats(const ScatterStats& raw, const Eigen::VectorXd& mean,
                         const Eigen::VectorXd& scale);

}  // namespace actlens::core
