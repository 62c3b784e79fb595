#pragma once
// Between-class LDA as the role-activation seed computes it: the eigenpairs of pinv(S_T) S_B,
// solved as the symmetric-definite problem S_B w = lambda S_T w. With S_B = B^T B
// (B: [C, d], rows sqrt(n_c) (m_c - m)), the nonzero eigenvalues are those of the small matrix
// G = B pinv(S_T) B^T, and w = pinv(S_T) B^T u. pinv(S_T) B^T comes from a Cholesky solve when
// S_T is well conditioned, else from its eigendecomposition with small eigenvalues cut exactly
// as a pseudo-inverse does. Eigenvalues lie in [0, 1].
#include <functional>
#include <string>

#include <Eigen/Core>

#include "actlens/core/scatter.hpp"

namespace actlens::core {

struct LdaOptions {
  int k = 10;  // components to keep (capped at the number of nonzero eigenvalues)
  // Relative cutoff for eigenvalues of S_T treated as zero; <= 0 means max(n, d) * machine eps.
  double rcond = -1.0;
};

struct LdaResult {
  Eigen::VectorXd eigenvalues;      // [k] descending
  RowMatrixXd components;           // [k, d] unit norm; largest-|.| coordinate positive
  Eigen::VectorXd all_eigenvalues;  // [min(C, rank)] every eigenvalue of G, descending
  Eigen::Index total_scatter_rank = 0;
  std::string solver;  // "cholesky" or "eigh-pinv"
};

// stats: scatter statistics of the (already scaled) data.
LdaResult solve_lda(const ScatterStats& stats, const LdaOptions& options);

}  // namespace actlens::core
