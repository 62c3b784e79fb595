#include "actlens/core/lda.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include <Eigen/Eigenvalues>

#include "actlens/core/signs.hpp"
#include "lapack.hpp"

namespace actlens::core {

namespace {

// Y = pinv(S) * Bt for symmetric PSD S [m, m] and Bt [m, C]; returns the rank used.
Eigen::Index pinv_solve(const Eigen::MatrixXd& s, Eigen::MatrixXd& bt, double rcond,
                        std::string& solver) {
  const int m = lapack::to_int(s.rows());
  const int nrhs = lapack::to_int(bt.cols());
  if (m == 0) return 0;
  // Well-conditioned (the usual case, N >> d): Cholesky, O(m^3 / 3).
  Eigen::MatrixXd factor = s;
  if (lapack::potrf_lower(factor.data(), m) == 0) {
    const double max_diag = s.diagonal().maxCoeff();
    const double min_pivot2 = factor.diagonal().array().square().minCoeff();
    // Pivots bound the smallest eigenvalue from above; demand a wide margin over the pinv
    // cutoff before trusting the plain inverse.
    if (min_pivot2 > std::max(rcond, 1e-10) * max_diag) {
      lapack::potrs_lower(factor.data(), m, bt.data(), nrhs);
      solver = "cholesky";
      return s.rows();
    }
  }
  // Singular or nearly so: pseudo-inverse from the eigendecomposition, as numpy's pinv does.
  Eigen::MatrixXd v = s;
  Eigen::VectorXd w(s.rows());
  if (lapack::syevd(v.data(), m, w.data()) != 0)
    throw std::invalid_argument("eigendecomposition of the total scatter did not converge");
  const double cutoff = rcond * std::max(w.maxCoeff(), 0.0);
  Eigen::Index rank = 0;
  for (Eigen::Index i = 0; i < w.size(); ++i)
    if (w[i] > cutoff) ++rank;
  const Eigen::MatrixXd vr = v.rightCols(rank);  // eigenvalues ascend: kept ones are last
  Eigen::MatrixXd proj = vr.transpose() * bt;    // [rank, C]
  proj.array().colwise() /= w.tail(rank).array();
  bt = vr * proj;
  solver = "eigh-pinv";
  return rank;
}

}  // namespace

LdaResult solve_lda(const ScatterStats& stats, const LdaOptions& options) {
  const Eigen::Index d = stats.total_scatter.rows();
  const auto n_classes = static_cast<Eigen::Index>(stats.class_counts.size());
  if (options.k <= 0) throw std::invalid_argument("k must be at least 1");
  if (n_classes < 2) throw std::invalid_argument("LDA needs at least 2 classes");
  if (stats.class_means.rows() != n_classes || stats.class_means.cols() != d)
    throw std::invalid_argument("class means do not match the scatter matrix");
  const double rcond = options.rcond > 0 ? options.rcond
                                         : static_cast<double>(std::max<Eigen::Index>(stats.n, d)) *
                                               std::numeric_limits<double>::epsilon();

  // Features with zero total scatter are constant: exactly in the null space, drop them.
  std::vector<Eigen::Index> keep;
  for (Eigen::Index j = 0; j < d; ++j)
    if (stats.total_scatter(j, j) > 0) keep.push_back(j);
  const auto m = static_cast<Eigen::Index>(keep.size());
  if (m == 0) throw std::invalid_argument("all features are constant: nothing to analyse");

  Eigen::MatrixXd s(m, m);
  for (Eigen::Index a = 0; a < m; ++a)
    for (Eigen::Index b = 0; b < m; ++b) s(a, b) = stats.total_scatter(keep[a], keep[b]);
  // Bt [m, C]: columns sqrt(n_c) (m_c - m), so S_B = Bt Bt^T.
  Eigen::MatrixXd bt(m, n_classes);
  for (Eigen::Index c = 0; c < n_classes; ++c) {
    const double w =
        std::sqrt(static_cast<double>(stats.class_counts[static_cast<std::size_t>(c)]));
    for (Eigen::Index a = 0; a < m; ++a)
      bt(a, c) = w * (stats.class_means(c, keep[a]) - stats.mean[keep[a]]);
  }

  LdaResult r;
  Eigen::MatrixXd y = bt;  // becomes pinv(S) Bt
  r.total_scatter_rank = pinv_solve(s, y, rcond, r.solver);

  // G = B pinv(S) B^T: [C, C], its eigenvalues are the nonzero eigenvalues of pinv(S_T) S_B.
  Eigen::MatrixXd g = bt.transpose() * y;
  g = 0.5 * (g + g.transpose()).eval();
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(g);
  if (eig.info() != Eigen::Success) throw std::invalid_argument("eigensolver did not converge");
  const Eigen::VectorXd evals = eig.eigenvalues().reverse();
  const Eigen::MatrixXd evecs = eig.eigenvectors().rowwise().reverse();

  const Eigen::Index n_nonzero =
      std::min<Eigen::Index>({n_classes - 1, r.total_scatter_rank, evals.size()});
  const Eigen::Index k = std::min<Eigen::Index>(options.k, n_nonzero);
  r.all_eigenvalues = evals.head(n_nonzero).cwiseMax(0.0);
  r.eigenvalues = r.all_eigenvalues.head(k);

  const Eigen::MatrixXd w = y * evecs.leftCols(k);  // [m, k]
  r.components = RowMatrixXd::Zero(k, d);
  for (Eigen::Index i = 0; i < k; ++i) {
    const double norm = w.col(i).norm();
    for (Eigen::Index a = 0; a < m; ++a) r.components(i, keep[a]) = norm > 0 ? w(a, i) / norm : 0.0;
  }
  normalize_signs(r.components);
  return r;
}

}  // namespace actlens::core
