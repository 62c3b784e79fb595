#include "actlens/core/stats.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/math/distributions/normal.hpp>
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

Eigen::VectorXd rankdata(const Eigen::Ref<const Eigen::VectorXd>& x) {
  const Eigen::Index n = x.size();
  std::vector<Eigen::Index> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), Eigen::Index{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](Eigen::Index a, Eigen::Index b) { return x[a] < x[b]; });
  Eigen::VectorXd ranks(n);
  for (Eigen::Index i = 0; i < n;) {
    Eigen::Index j = i + 1;
    while (j < n && x[order[static_cast<std::size_t>(j)]] == x[order[static_cast<std::size_t>(i)]])
      ++j;
    // positions i..j-1 share the average of the ranks i+1..j
    const double avg = 0.5 * static_cast<double>(i + 1 + j);
    for (Eigen::Index k = i; k < j; ++k) ranks[order[static_cast<std::size_t>(k)]] = avg;
    i = j;
  }
  return ranks;
}

Correlation spearmanr(const Eigen::Ref<const Eigen::VectorXd>& x,
                      const Eigen::Ref<const Eigen::VectorXd>& y) {
  if (x.size() != y.size())
    throw std::invalid_argument("spearmanr: x has " + std::to_string(x.size()) + " values, y " +
                                std::to_string(y.size()));
  if (x.size() < 2) throw std::invalid_argument("spearmanr: needs at least two values");
  Correlation c = pearsonr(rankdata(x), rankdata(y));
  // scipy's p: Student's t with n - 2 degrees of freedom (equal to pearsonr's beta form in
  // exact arithmetic; computed the same way as scipy for the last digits).
  const double n = static_cast<double>(c.n);
  if (c.n <= 2) {
    c.p = std::nan("");
    return c;
  }
  const double dof = n - 2;
  const double denom = (c.r + 1.0) * (1.0 - c.r);
  if (denom <= 0) {
    c.p = 0.0;
    return c;
  }
  c.p = t_two_sided_p(c.r * std::sqrt(dof / denom), dof);
  return c;
}

namespace {

// Discordant pairs of the sequence y (already ordered by x, ties in x by y): the number of
// i < j with y[i] > y[j], counted by a bottom-up merge sort.
std::int64_t count_inversions(std::vector<double> y) {
  const std::size_t n = y.size();
  std::vector<double> buf(n);
  std::int64_t inv = 0;
  for (std::size_t width = 1; width < n; width *= 2) {
    for (std::size_t lo = 0; lo < n; lo += 2 * width) {
      const std::size_t mid = std::min(lo + width, n), hi = std::min(lo + 2 * width, n);
      std::size_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi) {
        if (y[j] < y[i]) {
          inv += static_cast<std::int64_t>(mid - i);
          buf[k++] = y[j++];
        } else {
          buf[k++] = y[i++];
        }
      }
      while (i < mid) buf[k++] = y[i++];
      while (j < hi) buf[k++] = y[j++];
    }
    y.swap(buf);
  }
  return inv;
}

struct TieStats {
  std::int64_t pairs = 0;  // sum t (t - 1) / 2 over tie groups of size t
  double v0 = 0;           // sum t (t - 1) (t - 2)
  double v1 = 0;           // sum t (t - 1) (2 t + 5)
};

TieStats tie_stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  TieStats s;
  for (std::size_t i = 0; i < v.size();) {
    std::size_t j = i + 1;
    while (j < v.size() && v[j] == v[i]) ++j;
    const auto t = static_cast<std::int64_t>(j - i);
    if (t > 1) {
      const auto td = static_cast<double>(t);
      s.pairs += t * (t - 1) / 2;
      s.v0 += td * (td - 1) * (td - 2);
      s.v1 += td * (td - 1) * (2 * td + 5);
    }
    i = j;
  }
  return s;
}

// Two-sided exact p of Kendall's statistic without ties: scipy's _kendall_p_exact(n, c), the
// same float64 recurrence (counts of permutations of n with at most c inversions).
double kendall_p_exact(std::int64_t n, std::int64_t c) {
  const std::int64_t tot = n * (n - 1) / 2;
  c = std::min(c, tot - c);
  if (n <= 2) return 1.0;
  double factorial = 1, factorial_below = 1;  // n!, (n - 1)! (inf past 170!, as math.factorial
                                              // would overflow float division in scipy)
  for (std::int64_t k = 2; k <= n; ++k) {
    factorial *= static_cast<double>(k);
    if (k < n) factorial_below *= static_cast<double>(k);
  }
  if (c == 0) return n < 171 ? 2.0 / factorial : 0.0;
  if (c == 1) return n < 172 ? 2.0 / factorial_below : 0.0;
  if (4 * c == n * (n - 1)) return 1.0;
  std::vector<double> cur(static_cast<std::size_t>(c + 1), 0.0);
  cur[0] = cur[1] = 1.0;
  for (std::int64_t j = 3; j <= n; ++j) {
    for (std::size_t k = 1; k < cur.size(); ++k) cur[k] += cur[k - 1];  // cumsum
    if (n >= 171) {
      for (double& v : cur) v /= static_cast<double>(j);
    }
    if (j <= c) {
      // new[j:] -= new[:c+1-j] (numpy evaluates the right side first: use the old values)
      const std::vector<double> head(cur.begin(), cur.begin() + (c + 1 - j));
      for (std::int64_t k = j; k <= c; ++k)
        cur[static_cast<std::size_t>(k)] -= head[static_cast<std::size_t>(k - j)];
    }
  }
  double sum = 0;
  for (const double v : cur) sum += v;
  const double prob = n < 171 ? 2.0 * sum / factorial : sum;
  return std::clamp(prob, 0.0, 1.0);
}

}  // namespace

Correlation kendalltau(const Eigen::Ref<const Eigen::VectorXd>& x,
                       const Eigen::Ref<const Eigen::VectorXd>& y) {
  if (x.size() != y.size())
    throw std::invalid_argument("kendalltau: x has " + std::to_string(x.size()) + " values, y " +
                                std::to_string(y.size()));
  if (x.size() < 2) throw std::invalid_argument("kendalltau: needs at least two values");
  const auto n = static_cast<std::int64_t>(x.size());
  std::vector<std::size_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const auto ia = static_cast<Eigen::Index>(a), ib = static_cast<Eigen::Index>(b);
    return x[ia] < x[ib] || (x[ia] == x[ib] && y[ia] < y[ib]);
  });
  std::vector<double> ys(order.size()), xs(order.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    xs[i] = x[static_cast<Eigen::Index>(order[i])];
    ys[i] = y[static_cast<Eigen::Index>(order[i])];
  }
  // joint ties: runs equal in both x and y (adjacent after the lexicographic sort)
  std::int64_t ntie = 0;
  for (std::size_t i = 0; i < xs.size();) {
    std::size_t j = i + 1;
    while (j < xs.size() && xs[j] == xs[i] && ys[j] == ys[i]) ++j;
    const auto t = static_cast<std::int64_t>(j - i);
    ntie += t * (t - 1) / 2;
    i = j;
  }
  const TieStats tx = tie_stats(xs), ty = tie_stats(ys);
  const std::int64_t dis = count_inversions(ys);
  const std::int64_t tot = n * (n - 1) / 2;
  if (tx.pairs == tot || ty.pairs == tot)
    throw std::invalid_argument("kendalltau: an input is constant");
  const std::int64_t con_minus_dis = tot - tx.pairs - ty.pairs + ntie - 2 * dis;
  Correlation c;
  c.n = n;
  c.r = static_cast<double>(con_minus_dis) / std::sqrt(static_cast<double>(tot - tx.pairs)) /
        std::sqrt(static_cast<double>(tot - ty.pairs));
  c.r = std::clamp(c.r, -1.0, 1.0);
  if (tx.pairs == 0 && ty.pairs == 0 && (n <= 33 || std::min(dis, tot - dis) <= 1)) {
    c.p = kendall_p_exact(n, tot - dis);
  } else {
    const double nd = static_cast<double>(n);
    const double m = nd * (nd - 1.0);
    const double var = (m * (2 * nd + 5) - tx.v1 - ty.v1) / 18 +
                       (2.0 * static_cast<double>(tx.pairs) * static_cast<double>(ty.pairs)) / m +
                       tx.v0 * ty.v0 / (9 * m * (nd - 2));
    const double z = static_cast<double>(con_minus_dis) / std::sqrt(var);
    const boost::math::normal norm;
    c.p = 2.0 * boost::math::cdf(boost::math::complement(norm, std::fabs(z)));
  }
  return c;
}

}  // namespace actlens::core
