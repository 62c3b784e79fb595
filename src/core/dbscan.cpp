#include "actlens/core/dbscan.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include <omp.h>

#include "dbscan_detail.hpp"

namespace actlens::core {

namespace {

namespace dd = dbscan_detail;

std::string num(double v) {
  std::string s = std::to_string(v);
  // to_string prints 6 decimals; trim the zeros for messages like "(got 0)".
  if (s.find('.') != std::string::npos) {
    s.erase(s.find_last_not_of('0') + 1);
    if (s.back() == '.') s.pop_back();
  }
  return s;
}

void validate(const Eigen::Ref<const RowMatrixXd>& x, const DbscanOptions& opt) {
  if (!(opt.eps > 0) || !std::isfinite(opt.eps))
    throw std::invalid_argument("DBSCAN: eps must be a finite number > 0 (got " + num(opt.eps) +
                                ")");
  if (opt.min_samples < 1)
    throw std::invalid_argument("DBSCAN: min_samples must be >= 1 (got " +
                                std::to_string(opt.min_samples) + ")");
  if (opt.n_threads < 0)
    throw std::invalid_argument("DBSCAN: n_threads must be >= 0, 0 = all (got " +
                                std::to_string(opt.n_threads) + ")");
  if (x.rows() < 2)
    throw std::invalid_argument("DBSCAN needs at least 2 points (got " + std::to_string(x.rows()) +
                                ")");
  if (x.cols() < 1)
    throw std::invalid_argument("DBSCAN needs at least 1 feature per point (got 0)");
}

// DBSCAN of the points `pts` (any n >= 1).
DbscanResult dbscan_points(const dd::Points& pts, const DbscanOptions& opt, int threads) {
  const Eigen::Index n = pts.n;
  const bool brute = opt.algorithm == DbscanAlgorithm::Brute ||
                     (opt.algorithm == DbscanAlgorithm::Auto && pts.d > 16);
  const auto search =
      brute ? dd::make_brute_search(pts, threads) : dd::make_kdtree_search(pts, threads);

  DbscanResult res;
  // 1. neighbourhood sizes -> core points
  search->count(res.neighbour_counts);
  res.is_core.assign(static_cast<std::size_t>(n), 0);
  for (Eigen::Index i = 0; i < n; ++i)
    res.is_core[static_cast<std::size_t>(i)] =
        res.neighbour_counts[static_cast<std::size_t>(i)] >= opt.min_samples ? 1 : 0;

  // 2. clusters = connected components of core points; each root is its lowest index.
  dd::UnionFind uf(n);
  search->join_cores(res.is_core, uf);
  std::vector<std::int64_t> root(static_cast<std::size_t>(n), -1);
#pragma omp parallel for schedule(static) num_threads(threads)
  for (Eigen::Index i = 0; i < n; ++i)
    if (res.is_core[static_cast<std::size_t>(i)] != 0)
      root[static_cast<std::size_t>(i)] = uf.find(i);

  // Clusters are numbered by their lowest core index: the order in which sklearn's dbscan_inner
  // starts them. A root precedes its members, so its label is known when they ask for it.
  res.labels.assign(static_cast<std::size_t>(n), -1);
  for (Eigen::Index i = 0; i < n; ++i) {
    const auto k = static_cast<std::size_t>(i);
    if (res.is_core[k] == 0) continue;
    res.labels[k] = root[k] == i ? res.n_clusters++ : res.labels[static_cast<std::size_t>(root[k])];
  }

  // 3. border points: the lowest-numbered cluster among their core neighbours.
  std::vector<std::int64_t> best(static_cast<std::size_t>(n), -1);
  search->border_roots(res.is_core, root, best);
  for (Eigen::Index i = 0; i < n; ++i) {
    const auto k = static_cast<std::size_t>(i);
    if (res.is_core[k] == 0 && best[k] >= 0)
      res.labels[k] = res.labels[static_cast<std::size_t>(best[k])];
  }
  return res;
}

// Cosine DBSCAN when some rows are zero. sklearn's cosine_distances leaves a zero row zero when
// it normalises, so its distance is 1 - 0 = 1 to every other point (another zero row included)
// and 0 to itself (the diagonal of X against X). The other rows are clustered on their own
// (`sub`, indices `keep`); the zero rows then join as the distances above say:
//  - eps < 1: a zero row's neighbourhood is itself: a singleton cluster when min_samples is 1,
//    else noise; nothing else changes;
//  - eps >= 1: a zero row is a neighbour of every point, so every count grows by the number of
//    zero rows and a zero row's count is N; when any point is core so are the zero rows, which
//    join every core point into one cluster and make every other point its border: all 0.
DbscanResult with_zero_rows(Eigen::Index n, const std::vector<Eigen::Index>& keep,
                            const DbscanResult& sub, const DbscanOptions& opt) {
  const auto zero = static_cast<std::int64_t>(n - static_cast<Eigen::Index>(keep.size()));
  DbscanResult r;
  r.neighbour_counts.assign(static_cast<std::size_t>(n), opt.eps >= 1 ? n : 1);
  std::vector<int> sub_label(static_cast<std::size_t>(n), -2);  // -2: a zero row
  for (std::size_t k = 0; k < keep.size(); ++k) {
    const auto i = static_cast<std::size_t>(keep[k]);
    r.neighbour_counts[i] = sub.neighbour_counts[k] + (opt.eps >= 1 ? zero : 0);
    sub_label[i] = sub.labels[k];
  }
  r.is_core.assign(static_cast<std::size_t>(n), 0);
  bool any_core = false;
  for (std::size_t i = 0; i < r.is_core.size(); ++i) {
    r.is_core[i] = r.neighbour_counts[i] >= opt.min_samples ? 1 : 0;
    any_core = any_core || r.is_core[i] != 0;
  }
  if (opt.eps >= 1) {
    r.labels.assign(static_cast<std::size_t>(n), any_core ? 0 : -1);
    r.n_clusters = any_core ? 1 : 0;
    return r;
  }
  // Renumber by the lowest core index, as sklearn numbers clusters: the clusters of `sub` keep
  // their order, zero-row singletons slot in between.
  std::vector<int> renumber(static_cast<std::size_t>(sub.n_clusters), -1);
  r.labels.assign(static_cast<std::size_t>(n), -1);
  for (std::size_t i = 0; i < r.labels.size(); ++i) {
    if (r.is_core[i] == 0) continue;
    if (sub_label[i] == -2) {
      r.labels[i] = r.n_clusters++;
    } else {
      int& to = renumber[static_cast<std::size_t>(sub_label[i])];
      if (to < 0) to = r.n_clusters++;
      r.labels[i] = to;
    }
  }
  for (std::size_t i = 0; i < r.labels.size(); ++i)  // border points of `sub`'s clusters
    if (r.is_core[i] == 0 && sub_label[i] >= 0)
      r.labels[i] = renumber[static_cast<std::size_t>(sub_label[i])];
  return r;
}

}  // namespace

DbscanResult dbscan(const Eigen::Ref<const RowMatrixXd>& x, const DbscanOptions& opt) {
  validate(x, opt);
  const Eigen::Index n = x.rows();
  const int threads = opt.n_threads > 0 ? opt.n_threads : omp_get_max_threads();
  if (opt.metric == DbscanMetric::Euclidean)
    return dbscan_points(dd::Points{x.data(), x.outerStride(), n, x.cols(), opt.eps * opt.eps}, opt,
                         threads);

  // Cosine: unit rows, where 1 - cos(u, v) <= eps  <=>  ||u - v||^2 <= 2 eps.
  std::vector<Eigen::Index> keep;
  for (Eigen::Index i = 0; i < n; ++i)
    if (x.row(i).squaredNorm() > 0) keep.push_back(i);
  const auto m = static_cast<Eigen::Index>(keep.size());
  RowMatrixXd unit(m, x.cols());
  for (Eigen::Index k = 0; k < m; ++k)
    unit.row(k) = x.row(keep[static_cast<std::size_t>(k)]).normalized();
  DbscanResult sub;
  if (m > 0)
    sub = dbscan_points(dd::Points{unit.data(), unit.cols(), m, unit.cols(), 2.0 * opt.eps}, opt,
                        threads);
  return m == n ? sub : with_zero_rows(n, keep, sub, opt);
}

ClusterSummary summarize_clusters(const Eigen::Ref<const RowMatrixXd>& x,
                                  const std::vector<int>& labels) {
  if (static_cast<Eigen::Index>(labels.size()) != x.rows())
    throw std::invalid_argument("summarize_clusters: " + std::to_string(labels.size()) +
                                " labels for " + std::to_string(x.rows()) + " points");
  int k = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < -1)
      throw std::invalid_argument("summarize_clusters: labels must be -1 (noise) or >= 0 (got " +
                                  std::to_string(labels[i]) + " at point " + std::to_string(i) +
                                  ")");
    k = std::max(k, labels[i] + 1);
  }
  ClusterSummary s;
  s.members.assign(static_cast<std::size_t>(k), 0);
  s.centroids = RowMatrixXd::Zero(k, x.cols());
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0) {
      ++s.n_noise;
      continue;
    }
    ++s.members[static_cast<std::size_t>(labels[i])];
    s.centroids.row(labels[i]) += x.row(static_cast<Eigen::Index>(i));
  }
  for (int c = 0; c < k; ++c) {
    const auto m = s.members[static_cast<std::size_t>(c)];
    if (m > 0)
      s.centroids.row(c) /= static_cast<double>(m);
    else
      s.centroids.row(c).setConstant(std::numeric_limits<double>::quiet_NaN());
  }
  return s;
}

}  // namespace actlens::core
