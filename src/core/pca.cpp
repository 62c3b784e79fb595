#include "actlens/core/pca.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <Spectra/SymEigsSolver.h>

#include "actlens/core/signs.hpp"
#include "lapack.hpp"

namespace actlens::core {

namespace {

void check_k(Eigen::Index k, Eigen::Index limit, const char* what) {
  if (k < 1 || k > limit)
    throw std::invalid_argument(std::string("PCA: ") + std::to_string(k) +
                                " components requested; " + what + " allows 1.." +
                                std::to_string(limit));
}

// Eigenpairs of a symmetric matrix [m, m] (lower triangle), descending, negatives (round-off of
// zero) clamped to 0 as sklearn does.
void eigh_descending(Eigen::MatrixXd& a, Eigen::VectorXd& values) {
  const int m = lapack::to_int(a.rows());
  values.resize(m);
  if (const int info = lapack::syevd(a.data(), m, values.data()); info != 0)
    throw std::runtime_error("PCA: eigendecomposition failed (LAPACK dsyevd info " +
                             std::to_string(info) + ")");
  values.reverseInPlace();
  a.rowwise().reverseInPlace();
  values = values.cwiseMax(0.0);
}

// The Lanczos operator: y = x_c^T (x_c v), never forming x_c^T x_c.
class CovarianceOp {
 public:
  using Scalar = double;
  explicit CovarianceOp(const RowMatrixXd& xc) : xc_(xc), tmp_(xc.rows()) {}
  Eigen::Index rows() const { return xc_.cols(); }
  Eigen::Index cols() const { return xc_.cols(); }
  void perform_op(const double* in, double* out) const {
    Eigen::Map<const Eigen::VectorXd> v(in, xc_.cols());
    Eigen::Map<Eigen::VectorXd> y(out, xc_.cols());
    tmp_.noalias() = xc_ * v;
    y.noalias() = xc_.transpose() * tmp_;
  }

 private:
  const RowMatrixXd& xc_;
  mutable Eigen::VectorXd tmp_;
};

}  // namespace

Eigen::VectorXd PcaFit::explained_variance_ratio() const {
  return total_variance > 0 ? Eigen::VectorXd(explained_variance / total_variance)
                            : Eigen::VectorXd::Zero(explained_variance.size());
}

Eigen::VectorXd PcaFit::spectrum_ratio() const {
  return total_variance > 0 ? Eigen::VectorXd(spectrum / total_variance)
                            : Eigen::VectorXd::Zero(spectrum.size());
}

Eigen::VectorXd PcaFit::singular_values() const {
  return (explained_variance * static_cast<double>(n_samples - 1)).cwiseSqrt();
}

RowMatrixXd PcaFit::transform(const Eigen::Ref<const RowMatrixXd>& x) const {
  if (x.cols() != mean.size())
    throw std::invalid_argument("PCA transform: rows have " + std::to_string(x.cols()) +
                                " features, the fit has " + std::to_string(mean.size()));
  // x C^T - (mean . c_j): no centred copy of x.
  RowMatrixXd out = x * components.transpose();
  out.rowwise() -= (components * mean).transpose();
  return out;
}

PcaFit pca_from_scatter(const Eigen::VectorXd& mean, const Eigen::MatrixXd& scatter, std::int64_t n,
                        Eigen::Index k) {
  const Eigen::Index d = mean.size();
  if (n < 2) throw std::invalid_argument("PCA: needs at least 2 samples, got " + std::to_string(n));
  if (scatter.rows() != d || scatter.cols() != d)
    throw std::invalid_argument("PCA: scatter matrix does not match the mean's dimension");
  const Eigen::Index limit = std::min<Eigen::Index>(n, d);
  check_k(k, limit, "min(n_samples, n_features)");
  Eigen::MatrixXd cov = scatter / static_cast<double>(n - 1);
  PcaFit fit;
  fit.n_samples = n;
  fit.mean = mean;
  fit.total_variance = cov.diagonal().sum();
  Eigen::VectorXd values;
  eigh_descending(cov, values);
  fit.spectrum = values.head(limit);
  fit.explained_variance = values.head(k);
  fit.components = cov.leftCols(k).transpose();
  normalize_signs(fit.components);
  fit.solver = "covariance";
  return fit;
}

PcaFit pca_gram(const Eigen::Ref<const RowMatrixXd>& x, Eigen::Index k) {
  const Eigen::Index n = x.rows(), d = x.cols();
  if (n < 2) throw std::invalid_argument("PCA: needs at least 2 samples, got " + std::to_string(n));
  const Eigen::Index limit = std::min(n, d);
  check_k(k, limit, "min(n_samples, n_features)");
  PcaFit fit;
  fit.n_samples = n;
  fit.mean = x.colwise().mean().transpose();
  // Column-major [N, D] is row-major [D, N]: syrk of it gives xc xc^T.
  Eigen::MatrixXd xc = x.rowwise() - fit.mean.transpose();
  Eigen::MatrixXd gram = Eigen::MatrixXd::Zero(n, n);
  lapack::syrk_lower_add(xc.data(), lapack::to_int(n), lapack::to_int(d), gram.data());
  fit.total_variance = gram.diagonal().sum() / static_cast<double>(n - 1);
  Eigen::VectorXd values;  // singular values squared
  eigh_descending(gram, values);
  fit.spectrum = values.head(limit) / static_cast<double>(n - 1);
  fit.explained_variance = fit.spectrum.head(k);
  // v_i = xc^T u_i / s_i; normalised explicitly so that directions of (numerically) zero
  // variance still come out as unit vectors.
  fit.components = (xc.transpose() * gram.leftCols(k)).transpose();
  for (Eigen::Index i = 0; i < k; ++i) {
    const double norm = fit.components.row(i).norm();
    if (norm > 0) fit.components.row(i) /= norm;
  }
  normalize_signs(fit.components);
  fit.solver = "gram";
  return fit;
}

PcaFit pca_topk(RowMatrixXd x, Eigen::Index k) {
  const Eigen::Index n = x.rows(), d = x.cols();
  if (n < 2) throw std::invalid_argument("PCA: needs at least 2 samples, got " + std::to_string(n));
  check_k(k, std::min(n, d) - 1, "the Lanczos solver (k < min(n_samples, n_features))");
  PcaFit fit;
  fit.n_samples = n;
  fit.mean = x.colwise().mean().transpose();
  x.rowwise() -= fit.mean.transpose();
  fit.total_variance = x.squaredNorm() / static_cast<double>(n - 1);
  CovarianceOp op(x);
  const Eigen::Index ncv = std::min<Eigen::Index>(d, std::max<Eigen::Index>(2 * k + 1, 20));
  Spectra::SymEigsSolver<CovarianceOp> eigs(op, k, ncv);
  eigs.init();  // Spectra's fixed-seed start vector: the same result on every run
  eigs.compute(Spectra::SortRule::LargestAlge, 1000, 1e-12);
  if (eigs.info() != Spectra::CompInfo::Successful)
    throw std::runtime_error("PCA: the Lanczos iterations did not converge for " +
                             std::to_string(k) +
                             " components; use the exact solver (--solver covariance or gram)");
  fit.explained_variance = eigs.eigenvalues().cwiseMax(0.0) / static_cast<double>(n - 1);
  fit.components = eigs.eigenvectors().transpose();
  normalize_signs(fit.components);
  fit.solver = "lanczos";
  return fit;
}

Eigen::Index components_for_fraction(const Eigen::VectorXd& ratio, double fraction) {
  double cumulative = 0;
  for (Eigen::Index i = 0; i < ratio.size(); ++i) {
    cumulative += ratio[i];
    if (cumulative >= fraction) return i + 1;
  }
  return 0;
}

Eigen::Index elbow(const Eigen::VectorXd& ratio) {
  const Eigen::Index n = ratio.size();
  if (n < 3) return n;
  const double x1 = 0, y1 = ratio[0], x2 = static_cast<double>(n - 1), y2 = ratio[n - 1];
  const double len = std::hypot(x2 - x1, y2 - y1);
  Eigen::Index best = 0;
  double best_dist = -1;
  for (Eigen::Index i = 0; i < n; ++i) {
    const double dist =
        std::fabs((y2 - y1) * static_cast<double>(i) - (x2 - x1) * ratio[i] + x2 * y1 - y2 * x1) /
        len;
    if (dist > best_dist) {
      best_dist = dist;
      best = i;
    }
  }
  return best + 1;
}

}  // namespace actlens::core
