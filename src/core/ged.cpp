#include "actlens/core/ged.hpp"

#include <stdexcept>
#include <string>
#include <vector>

#include "lapack.hpp"

namespace actlens::core {

namespace {

// Rows of `x` of one class, as an index list.
std::vector<Eigen::Index> rows_of(std::span<const bool> is_b, bool b) {
  std::vector<Eigen::Index> out;
  for (std::size_t i = 0; i < is_b.size(); ++i)
    if (is_b[i] == b) out.push_back(static_cast<Eigen::Index>(i));
  return out;
}

// np.cov(rows.T): [m, m], ddof = 1.
Eigen::MatrixXd covariance(const RowMatrixXd& low, const std::vector<Eigen::Index>& rows) {
  RowMatrixXd sub(static_cast<Eigen::Index>(rows.size()), low.cols());
  for (std::size_t i = 0; i < rows.size(); ++i)
    sub.row(static_cast<Eigen::Index>(i)) = low.row(rows[i]);
  sub.rowwise() -= sub.colwise().mean();
  return (sub.transpose() * sub) / static_cast<double>(sub.rows() - 1);
}

Eigen::VectorXd gather(const Eigen::VectorXd& v, const std::vector<Eigen::Index>& rows) {
  Eigen::VectorXd out(static_cast<Eigen::Index>(rows.size()));
  for (std::size_t i = 0; i < rows.size(); ++i) out[static_cast<Eigen::Index>(i)] = v[rows[i]];
  return out;
}

TTest class_ttest(const Eigen::VectorXd& proj, std::span<const bool> is_b, const char* what) {
  try {
    return ttest_ind(gather(proj, rows_of(is_b, false)), gather(proj, rows_of(is_b, true)));
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string(what) + ": " + e.what());
  }
}

// eigh(S, R~), sorted descending; fills eigenvalues and the top vector.
void solve_direction(const Eigen::MatrixXd& s, const Eigen::MatrixXd& r_shrunk, GedDirection& out,
                     const char* name) {
  GeneralizedEigen ge;
  try {
    ge = eigh_generalized(s, r_shrunk);
  } catch (const std::invalid_argument&) {
    throw std::invalid_argument(std::string("GED ") + name +
                                ": the regularized covariance is not positive definite (a class "
                                "has no variance in the kept components); raise --shrinkage");
  }
  out.eigenvalues = ge.values.reverse();
  out.vector = ge.vectors.col(ge.vectors.cols() - 1);
}

}  // namespace

GeneralizedEigen eigh_generalized(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) {
  if (a.rows() != a.cols() || b.rows() != b.cols() || a.rows() != b.rows())
    throw std::invalid_argument("eigh_generalized: a and b must be square and of the same size");
  const int m = lapack::to_int(a.rows());
  GeneralizedEigen ge;
  ge.vectors = a;
  Eigen::MatrixXd factor = b;
  ge.values.resize(m);
  const int info = lapack::sygvd(ge.vectors.data(), factor.data(), m, ge.values.data());
  if (info > m) throw std::invalid_argument("eigh_generalized: b is not positive definite");
  if (info != 0)
    throw std::runtime_error("eigh_generalized: LAPACK dsygvd failed (info " +
                             std::to_string(info) + ")");
  return ge;
}

Eigen::Index ged_component_count(const Eigen::VectorXd& spectrum_ratio, const GedOptions& options) {
  // cumVarExplained = np.cumsum(100 * ratio), accumulated in the same order as numpy.
  double cumulative = 0;
  const bool seed = !(options.variance_percent > 0);
  const double threshold = seed ? 99.0 : options.variance_percent;
  for (Eigen::Index i = 0; i < spectrum_ratio.size(); ++i) {
    cumulative += 100.0 * spectrum_ratio[i];
    if (seed ? cumulative > threshold : cumulative >= threshold) return seed ? i : i + 1;
  }
  return seed ? 0 : spectrum_ratio.size();
}

GedResult ged_two_class(const Eigen::Ref<const RowMatrixXd>& x, std::span<const bool> is_b,
                        const RowMatrixXd* test, std::span<const bool> test_is_b,
                        const GedOptions& options) {
  if (static_cast<std::size_t>(x.rows()) != is_b.size())
    throw std::invalid_argument("GED: " + std::to_string(is_b.size()) + " class flags for " +
                                std::to_string(x.rows()) + " rows");
  if (!(options.shrinkage >= 0 && options.shrinkage <= 1))
    throw std::invalid_argument("GED: shrinkage must be in [0, 1]");
  const auto rows_a = rows_of(is_b, false), rows_b = rows_of(is_b, true);
  if (rows_a.size() < 2 || rows_b.size() < 2)
    throw std::invalid_argument("GED: each class needs at least 2 training rows (got " +
                                std::to_string(rows_a.size()) + " and " +
                                std::to_string(rows_b.size()) + ")");
  const Eigen::Index n = x.rows(), d = x.cols();
  // 1. PCA of all training rows, every component.
  const PcaFit pca = n < d ? pca_gram(x, std::min(n, d)) : [&] {
    const Eigen::VectorXd mean = x.colwise().mean().transpose();
    const RowMatrixXd xc = x.rowwise() - mean.transpose();
    return pca_from_scatter(mean, xc.transpose() * xc, n, std::min(n, d));
  }();
  if (!(pca.total_variance > 0))
    throw std::invalid_argument("GED: the training activations are constant (zero variance)");
  GedResult res;
  res.pca_spectrum = pca.spectrum;
  const Eigen::VectorXd ratio = pca.spectrum_ratio();
  const Eigen::Index m = ged_component_count(ratio, options);
  if (m < 1)
    throw std::invalid_argument(
        "GED: the first principal component alone explains more than 99% of the variance, so "
        "the seed's rule keeps 0 components; pass --pca-variance 99 to keep the components that "
        "reach 99%");
  res.n_components = m;
  res.variance_kept = 100.0 * ratio.head(m).sum();
  const Eigen::MatrixXd v = pca.components.topRows(m).transpose();  // [D, m]
  // 2. lowD = X V_m, uncentred as in the seed (covariances and t-tests do not see the offset).
  const RowMatrixXd low = x * v;
  // 3. Covariances and shrinkage.
  const Eigen::MatrixXd s_a = covariance(low, rows_a), s_b = covariance(low, rows_b);
  const double g = options.shrinkage;
  const auto shrink = [&](const Eigen::MatrixXd& c) {
    Eigen::MatrixXd r = (1 - g) * c;
    r.diagonal().array() += g * c.trace() / static_cast<double>(m);
    return r;
  };
  // 4-5. Both directions.
  const auto finish = [&](GedDirection& dir, const Eigen::MatrixXd& s, const char* name) {
    dir.filter = v * dir.vector;
    Eigen::Index j = 0;
    dir.filter.cwiseAbs().maxCoeff(&j);
    if (dir.filter[j] < 0) {
      dir.filter = -dir.filter;
      dir.vector = -dir.vector;
    }
    dir.pattern = v * (s * dir.vector);
    dir.train_projection = low * dir.vector;
    dir.train = class_ttest(dir.train_projection, is_b, name);
    if (test) {
      dir.test_projection = (*test) * dir.filter;
      dir.test = class_ttest(dir.test_projection, test_is_b, "test set");
    }
  };
  solve_direction(s_a, shrink(s_b), res.a_gt_b, "a > b");
  solve_direction(s_b, shrink(s_a), res.b_gt_a, "b > a");
  if (test) {
    if (test->cols() != d)
      throw std::invalid_argument("GED: test rows have " + std::to_string(test->cols()) +
                                  " features, training rows " + std::to_string(d));
    if (static_cast<std::size_t>(test->rows()) != test_is_b.size())
      throw std::invalid_argument("GED: test class flags do not match the test rows");
  }
  finish(res.a_gt_b, s_a, "training set");
  finish(res.b_gt_a, s_b, "training set");
  try {
    res.pattern_correlation = pearsonr(res.a_gt_b.pattern, res.b_gt_a.pattern);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("GED patterns: ") + e.what());
  }
  return res;
}

}  // namespace actlens::core
