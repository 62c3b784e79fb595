#pragma once
// Principal component analysis with scikit-learn's `PCA` semantics: rows are centred on their
// mean, variances use ddof = 1 (explained_variance_ = S^2 / (N - 1)), the ratio divides by the
// total variance (the trace of the covariance), and each component's sign is sklearn's svd_flip
// with u_based_decision=False (sklearn >= 1.5): the largest-|.| coordinate of every component row
// is positive. Three exact routes give the same fit:
//  - from streamed scatter sums (one pass, float64; sklearn's "covariance_eigh"), when N >= D;
//  - from the [N, N] Gram matrix of rows held in memory, when N < D;
//  - top-k by Lanczos iterations (Spectra) on the implicit covariance, for D too large to hold
//    a D x D matrix; it matches sklearn's "randomized" solver where the spectrum has a gap.
#include <cstdint>
#include <string>

#include <Eigen/Core>

#include "actlens/core/types.hpp"

namespace actlens::core {

struct PcaFit {
  Eigen::VectorXd mean;                // [D] mean of the fitted rows
  RowMatrixXd components;              // [k, D] unit rows, by decreasing variance
  Eigen::VectorXd explained_variance;  // [k] variance along each component (ddof = 1)
  Eigen::VectorXd spectrum;            // [min(N, D)] every variance, when the route computed them
                                       // all (scatter, gram); empty for top-k
  double total_variance = 0;           // trace of the covariance
  std::int64_t n_samples = 0;
  std::string solver;  // "covariance", "gram" or "lanczos"

  Eigen::VectorXd explained_variance_ratio() const;  // [k] explained_variance / total_variance
  Eigen::VectorXd spectrum_ratio() const;            // [min(N, D)] the same for the spectrum
  Eigen::VectorXd singular_values() const;           // [k] sqrt(explained_variance (N - 1))
  // x: [n, D] -> [n, k] = (x - mean) components^T, as sklearn's transform.
  RowMatrixXd transform(const Eigen::Ref<const RowMatrixXd>& x) const;
};

// k components (1 <= k <= min(n, D)) from the mean [D] and the centred scatter sum
// sum_i (x_i - mean)(x_i - mean)^T [D, D] (lower triangle read) of n >= 2 rows.
PcaFit pca_from_scatter(const Eigen::VectorXd& mean, const Eigen::MatrixXd& scatter, std::int64_t n,
                        Eigen::Index k);

// k components of x [N, D] through the Gram matrix of the centred rows: O(N^2 D), exact.
PcaFit pca_gram(const Eigen::Ref<const RowMatrixXd>& x, Eigen::Index k);

// k < min(N, D) leading components of x [N, D] (taken over, centred in place) by implicitly
// restarted Lanczos on x_c^T x_c: memory O(N D + D k), no D x D matrix. Throws
// std::runtime_error when the iterations do not converge.
PcaFit pca_topk(RowMatrixXd x, Eigen::Index k);

// The smallest number of components whose cumulative ratio reaches `fraction` (e.g. 0.9); 0 when
// the ratios never reach it.
Eigen::Index components_for_fraction(const Eigen::VectorXd& ratio, double fraction);

// The elbow of a decreasing variance-ratio curve r[0..n-1]: the 1-based count i+1 at the point
// (i, r[i]) farthest from the straight line through the first and last points (ties: the first).
// n < 3 returns n.
Eigen::Index elbow(const Eigen::VectorXd& ratio);

}  // namespace actlens::core
