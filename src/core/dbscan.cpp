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

}  // namespace

DbscanResult dbscan(const Eigen::Ref<const RowMatrixXd>& x, const DbscanOptions& opt) {
  validate(x, opt);
  const Eigen::Index n = x.rows();
  const int threads = opt.n_threads > 0 ? opt.n_threads : omp_get_max_threads();

  // Cosine: unit rows, where 1 - cos(u, v) <= eps  <=>  ||u - v||^2 <= 2 eps.
  RowMatrixXd unit;
  dd::Points pts{x.data(), x.outerStride(), n, x.cols(), opt.eps * opt.eps};
  if (opt.metric == DbscanMetric::Cosine) {
    unit = x;
    for (Eigen::Index i = 0; i < n; ++i) {
      const double norm = unit.row(i).norm();
      if (!(norm > 0))
        throw std::invalid_argument("DBSCAN: the cosine metric needs non-zero rows; row " +
                                    std::to_string(i) + " is all zeros");
      unit.row(i) /= norm;
    }
    pts = dd::Points{unit.data(), unit.cols(), n, unit.cols(), 2.0 * opt.eps};
  }

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
