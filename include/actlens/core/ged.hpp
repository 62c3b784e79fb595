#pragma once
// Regularized generalized eigendecomposition (GED) between two classes, the per-layer analysis of
// the GED seed (ged-gpt2-him-her), with its exact semantics:
//  1. PCA of all training rows (sklearn PCA); keep m components: the seed's rule
//     m = np.where(cumulative% > 99)[0][0], an index used as a count, i.e. one fewer than the
//     first count whose cumulative variance exceeds 99%; or, with `variance_percent`, the plain
//     rule: the smallest m whose cumulative variance reaches that percentage.
//  2. Rows projected onto those components WITHOUT centring (lowD = X V_m, as the seed).
//  3. Per-class covariance (ddof = 1) S_a, S_b [m, m]; shrinkage
//     R~ = (1 - g) R + g * mean(eig(R)) * I (mean of the eigenvalues = trace / m).
//  4. eigh(S_a, R~_b) ("a > b") and eigh(S_b, R~_a) ("b > a"), descending; top eigenvectors w,
//     normalised as scipy's eigh (w^T R~ w = 1).
//  5. Projections lowD w; Student's t-tests class a vs class b on them (train and test); the
//     patterns V_m S w back in activation space and Pearson's r between the two patterns.
// Sign convention (the seed's sign is LAPACK's, arbitrary): each direction is flipped so that
// the largest-|.| coordinate of its filter V_m w is positive. |t| and |r| do not depend on it.
#include <optional>
#include <span>

#include <Eigen/Core>

#include "actlens/core/pca.hpp"
#include "actlens/core/stats.hpp"

namespace actlens::core {

struct GedOptions {
  double shrinkage = 0.01;       // g, in [0, 1]
  double variance_percent = -1;  // > 0: the plain rule; otherwise the seed's rule at 99%
};

// One direction: S = covariance of the "numerator" class, R = shrunk covariance of the other.
struct GedDirection {
  Eigen::VectorXd eigenvalues;       // [m] descending
  Eigen::VectorXd vector;            // [m] top eigenvector in the PCA basis (w^T R~ w = 1)
  Eigen::VectorXd filter;            // [D] V_m w: the direction in activation space
  Eigen::VectorXd pattern;           // [D] V_m S w: the seed's "pattern"
  Eigen::VectorXd train_projection;  // [N] lowD w of every training row
  TTest train;                       // class a vs class b on train_projection
  Eigen::VectorXd test_projection;   // [M] when a test set was given
  std::optional<TTest> test;
};

struct GedResult {
  Eigen::Index n_components = 0;    // m
  double variance_kept = 0;         // cumulative % of the m components
  Eigen::VectorXd pca_spectrum;     // [min(N, D)] PCA variances of the training rows
  GedDirection a_gt_b, b_gt_a;      // eigh(S_a, R~_b) and eigh(S_b, R~_a)
  Correlation pattern_correlation;  // pearsonr(pattern a>b, pattern b>a)
};

// x: [N, D] training rows; is_b[i]: false = class a, true = class b (each class >= 2 rows).
// test: optional [M, D] rows with test_is_b. Throws std::invalid_argument naming the problem
// (too few rows, zero variance, no component kept, a singular R~).
GedResult ged_two_class(const Eigen::Ref<const RowMatrixXd>& x, std::span<const bool> is_b,
                        const RowMatrixXd* test, std::span<const bool> test_is_b,
                        const GedOptions& options);

// scipy.linalg.eigh(a, b): a symmetric [m, m], b symmetric positive definite. Eigenvalues
// ascending; eigenvector columns normalised so that v^T b v = 1 (signs as LAPACK returns them).
// Throws std::invalid_argument when b is not positive definite.
struct GeneralizedEigen {
  Eigen::VectorXd values;   // [m] ascending
  Eigen::MatrixXd vectors;  // [m, m] columns
};
GeneralizedEigen eigh_generalized(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b);

// The seed's component count from cumulative percentages (or the plain rule, see GedOptions).
Eigen::Index ged_component_count(const Eigen::VectorXd& spectrum_ratio, const GedOptions& options);

}  // namespace actlens::core
