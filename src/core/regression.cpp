#include "actlens/core/regression.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>

#include "lapack.hpp"

namespace actlens::core {

namespace {

// Throws naming `name` and the first row holding a NaN or an infinity.
void require_finite(const RowMatrixXd& m, const char* name) {
  for (Eigen::Index r = 0; r < m.rows(); ++r)
    if (!m.row(r).allFinite())
      throw std::invalid_argument(
          std::string(name) + " has a non-finite value (NaN or Inf) in row " + std::to_string(r));
}

void require_nonempty(const RowMatrixXd& m, const char* name) {
  if (m.rows() == 0 || m.cols() == 0)
    throw std::invalid_argument(std::string(name) + " is empty (" + std::to_string(m.rows()) +
                                " x " + std::to_string(m.cols()) + ")");
}

// Column means of a row-major matrix, accumulated row by row (contiguous reads).
Eigen::VectorXd column_means(const RowMatrixXd& m) {
  Eigen::RowVectorXd sum = Eigen::RowVectorXd::Zero(m.cols());
  for (Eigen::Index r = 0; r < m.rows(); ++r) sum += m.row(r);
  return sum.transpose() / static_cast<double>(m.rows());
}

// The checks r2 and mse share: same shape, non-empty, finite.
void check_scored(const RowMatrixXd& y, const RowMatrixXd& pred, Eigen::Index min_rows) {
  require_nonempty(y, "y");
  if (pred.rows() != y.rows() || pred.cols() != y.cols())
    throw std::invalid_argument("pred is " + std::to_string(pred.rows()) + " x " +
                                std::to_string(pred.cols()) + " but y is " +
                                std::to_string(y.rows()) + " x " + std::to_string(y.cols()));
  if (y.rows() < min_rows)
    throw std::invalid_argument("y has " + std::to_string(y.rows()) + " rows; at least " +
                                std::to_string(min_rows) + " are needed");
  require_finite(y, "y");
  require_finite(pred, "pred");
}

// j uniform in [0, bound) from a 64-bit engine by rejection: unbiased and, unlike
// std::uniform_int_distribution, specified here, so identical on every standard library.
std::uint64_t uniform_below(std::mt19937_64& rng, std::uint64_t bound) {
  // 2^64 mod bound, computed in 64-bit arithmetic; values >= 2^64 - this are rejected.
  const std::uint64_t excess = (0 - bound) % bound;
  const std::uint64_t limit = 0 - excess;  // 2^64 - excess (0 when excess == 0: accept all)
  for (;;) {
    const std::uint64_t u = rng();
    if (excess == 0 || u < limit) return u % bound;
  }
}

}  // namespace

LinearFit fit_linear_regression(const RowMatrixXd& x, const RowMatrixXd& y, double rcond) {
  require_nonempty(x, "x");
  require_nonempty(y, "y");
  if (x.rows() < 2)
    throw std::invalid_argument("x has " + std::to_string(x.rows()) +
                                " rows; linear regression needs at least 2");
  if (y.rows() != x.rows())
    throw std::invalid_argument("y has " + std::to_string(y.rows()) + " rows but x has " +
                                std::to_string(x.rows()));
  if (!std::isfinite(rcond)) throw std::invalid_argument("rcond must be finite");
  require_finite(x, "x");
  require_finite(y, "y");

  const Eigen::Index n = x.rows(), p = x.cols(), k = y.cols();
  const int m_i = lapack::to_int(n), p_i = lapack::to_int(p), k_i = lapack::to_int(k);
  lapack::to_int(std::max(n, p));  // ldb

  LinearFit fit;
  const Eigen::VectorXd x_mean = column_means(x);
  const Eigen::VectorXd y_mean = column_means(y);
  // dgelsd wants column-major A and overwrites it: the one copy of x, centred while converting.
  Eigen::MatrixXd a = x.rowwise() - x_mean.transpose();
  // B holds the centred targets and receives the [p, k] solution; for p > n it needs p rows.
  Eigen::MatrixXd b = Eigen::MatrixXd::Zero(std::max(n, p), k);
  b.topRows(n) = y.rowwise() - y_mean.transpose();
  fit.singular.resize(std::min(n, p));
  const int info =
      lapack::gelsd(m_i, p_i, k_i, a.data(), b.data(), fit.singular.data(), rcond, fit.rank);
  if (info < 0) throw std::logic_error("dgelsd: illegal argument " + std::to_string(-info));
  if (info > 0)
    throw std::runtime_error("the SVD in linear least squares (dgelsd) did not converge");
  a.resize(0, 0);  // free the big copy before the small results are formed

  fit.coef = b.topRows(p).transpose();
  fit.intercept = y_mean - fit.coef * x_mean;
  return fit;
}

RowMatrixXd predict(const LinearFit& fit, const RowMatrixXd& x) {
  if (x.cols() != fit.coef.cols())
    throw std::invalid_argument("x has " + std::to_string(x.cols()) + " columns but the fit has " +
                                std::to_string(fit.coef.cols()) + " features");
  RowMatrixXd pred = x * fit.coef.transpose();
  pred.rowwise() += fit.intercept.transpose();
  return pred;
}

Eigen::VectorXd r2_per_target(const RowMatrixXd& y, const RowMatrixXd& pred) {
  // sklearn returns NaN (with a warning) below two samples; a probe asking that is a bug.
  check_scored(y, pred, 2);
  const Eigen::Index n = y.rows(), k = y.cols();
  const Eigen::RowVectorXd mean = column_means(y).transpose();
  Eigen::RowVectorXd num = Eigen::RowVectorXd::Zero(k), den = Eigen::RowVectorXd::Zero(k);
  for (Eigen::Index r = 0; r < n; ++r) {
    num += (y.row(r) - pred.row(r)).array().square().matrix();
    den += (y.row(r) - mean).array().square().matrix();
  }
  Eigen::VectorXd out(k);
  for (Eigen::Index j = 0; j < k; ++j) {
    // A constant column's computed mean may differ from its value by rounding; decide on the
    // values themselves so that its denominator is exactly 0 (see the header).
    const bool constant = (y.col(j).array() == y(0, j)).all();
    if (num[j] == 0)
      out[j] = 1.0;  // perfect predictions, even of a constant target
    else if (constant || den[j] == 0)
      out[j] = 0.0;  // sklearn's force_finite instead of -inf
    else
      out[j] = 1.0 - num[j] / den[j];
  }
  return out;
}

double r2_score(const RowMatrixXd& y, const RowMatrixXd& pred) {
  return r2_per_target(y, pred).mean();
}

double mean_squared_error(const RowMatrixXd& y, const RowMatrixXd& pred) {
  check_scored(y, pred, 1);
  // The per-target means averaged uniformly equal the mean over all n k entries.
  return (y - pred).squaredNorm() / static_cast<double>(y.size());
}

Split train_test_split(std::int64_t n, double test_fraction, std::uint64_t seed) {
  if (n < 1) throw std::invalid_argument("n must be at least 1, got " + std::to_string(n));
  if (!(test_fraction >= 0.0 && test_fraction < 1.0))
    throw std::invalid_argument("test_fraction must be in [0, 1), got " +
                                std::to_string(test_fraction));
  // sklearn: n_test = ceil(test_size * n_samples), n_train = n_samples - n_test.
  const auto n_test = static_cast<std::int64_t>(std::ceil(test_fraction * static_cast<double>(n)));
  if (n_test >= n)
    throw std::invalid_argument("test_fraction " + std::to_string(test_fraction) + " of " +
                                std::to_string(n) + " rows leaves no training rows");

  std::vector<std::int64_t> perm(static_cast<std::size_t>(n));
  std::iota(perm.begin(), perm.end(), std::int64_t{0});
  std::mt19937_64 rng(seed);
  for (std::int64_t i = n - 1; i >= 1; --i) {
    const auto j = static_cast<std::int64_t>(uniform_below(rng, static_cast<std::uint64_t>(i) + 1));
    std::swap(perm[static_cast<std::size_t>(i)], perm[static_cast<std::size_t>(j)]);
  }
  Split split;
  split.test.assign(perm.begin(), perm.begin() + n_test);
  split.train.assign(perm.begin() + n_test, perm.end());
  std::sort(split.test.begin(), split.test.end());
  std::sort(split.train.begin(), split.train.end());
  return split;
}

}  // namespace actlens::core
