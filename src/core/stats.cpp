#include "actlens/core/stats.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <boost/math/distributions/students_t.hpp>
#include <boost/math/special_functions/beta.hpp>

namespace actlens::core {

namespace {
// Sum of squared deviations from the mean, two-pass for accuracy.
double centered_ss(const Eigen::Ref<const Eigen::VectorXd>& x, double mean) {
  return (x.array() - mean).square().sum();
}
}  // namespace

double t_two_sided_p(double t, double df) {
  if (std::isnan(t)) return std::nan("");
  if (std::isinf(t)) return 0.0;
  const boost::math::students_t dist(df);
  return 2.0 * boost::math::cdf(boost::math::complement(dist, std::fabs(t)));
}

TTest ttest_ind(const Eigen::Ref<const Eigen::VectorXd>& a,
                const Eigen::Ref<const Eigen::VectorXd>& b) {
  const auto na = static_cast<double>(a.size()), nb = static_cast<double>(b.size());
  if (a.size() < 1 || b.size() < 1 || a.size() + b.size() < 3)
    throw std::invalid_argument(
        "t-test: needs at least one value per group and three in all (got " +
        std::to_string(a.size()) + " and " + std::to_string(b.size()) + ")");
  const double ma = a.mean(), mb = b.mean();
  TTest r;
  r.df = na + nb - 2;
  const double pooled = (centered_ss(a, ma) + centered_ss(b, mb)) / r.df;
  const double se = std::sqrt(pooled * (1.0 / na + 1.0 / nb));
  if (!(se > 0)) throw std::invalid_argument("t-test: both groups are constant (zero variance)");
  r.t = (ma - mb) / se;
  r.p = t_two_sided_p(r.t, r.df);
  return r;
}

Correlation pearsonr(const Eigen::Ref<const Eigen::VectorXd>& x,
                     const Eigen::Ref<const Eigen::VectorXd>& y) {
  if (x.size() != y.size())
    throw std::invalid_argument("pearsonr: x has " + std::to_string(x.size()) + " values, y " +
                                std::to_string(y.size()));
  if (x.size() < 2) throw std::invalid_argument("pearsonr: needs at least two values");
  const Eigen::VectorXd xm = x.array() - x.mean();
  const Eigen::VectorXd ym = y.array() - y.mean();
  const double nx = xm.norm(), ny = ym.norm();
  if (!(nx > 0) || !(ny > 0)) throw std::invalid_argument("pearsonr: an input is constant");
  Correlation c;
  c.n = x.size();
  // As scipy: normalise first, then the dot product (better than dividing the covariance).
  c.r = std::clamp((xm / nx).dot(ym / ny), -1.0, 1.0);
  if (c.n == 2) {
    c.p = 1.0;  // scipy: r is +-1 and p is 1 for two points
    return c;
  }
  // Under independence r follows Beta(n/2 - 1, n/2 - 1) on [-1, 1]; two-sided p = 2 P(R > |r|)
  // = 2 I_{(1 - |r|)/2}(a, a) by the symmetry of the regularized incomplete beta function.
  const double ab = static_cast<double>(c.n) / 2.0 - 1.0;
  const double tail = (1.0 - std::fabs(c.r)) / 2.0;
  c.p = tail <= 0 ? 0.0 : std::min(1.0, 2.0 * boost::math::ibeta(ab, ab, tail));
  return c;
}

}  // namespace actlens::core
