#pragma once
// DBSCAN with scikit-learn's semantics (sklearn.cluster.DBSCAN, algorithm="auto"):
//  - the neighbourhood of a point is its closed eps-ball, the point itself included:
//    euclidean: sum_k (x_ik - x_jk)^2 <= eps^2 (the sum in coordinate order, as sklearn's
//    kd_tree computes it, so ties at exactly eps count as neighbours);
//    cosine:    1 - cos(x_i, x_j) <= eps, i.e. ||u_i - u_j||^2 <= 2 eps for the unit rows u;
//    a zero row is at distance 1 from every other point and 0 from itself (sklearn's
//    cosine_distances, which leaves zero rows zero when it normalises);
//  - a point is core when its neighbourhood holds >= min_samples points;
//  - clusters are the connected components of core points (joined when within eps), numbered
//    0, 1, ... in the order of their lowest-index core point, as sklearn's dbscan_inner visits
//    them; a non-core point within eps of a core point is a border point and takes the lowest
//    cluster number among its core neighbours (the first cluster whose depth-first search reaches
//    it in sklearn); every other point is noise (-1).
// Memory is O(N) besides the input: neighbourhoods are counted, then re-queried and dropped, never
// stored. Low dimensions (D <= 16) search a KD-tree (nanoflann's tree, our traversal, exact
// at the boundary); higher dimensions a blocked float32 brute force whose pairs near the boundary
// are re-decided with the exact sum above. The result does not depend on the thread count or the
// route.
#include <cstdint>
#include <vector>

#include <Eigen/Core>

#include "actlens/core/types.hpp"

namespace actlens::core {

enum class DbscanMetric { Euclidean, Cosine };

// Auto: KD-tree for D <= 16, brute force above (where KD-trees degrade). KdTree / Brute force a
// route (tests, benchmarks); both give the same result.
enum class DbscanAlgorithm { Auto, KdTree, Brute };

struct DbscanOptions {
  double eps = 0.5;     // > 0: neighbourhood radius (cosine: distance 1 - cos, in (0, 2] useful)
  int min_samples = 5;  // >= 1: neighbourhood size (point itself included) that makes a core point
  DbscanMetric metric = DbscanMetric::Euclidean;
  int n_threads = 0;  // >= 0: OpenMP threads; 0 = the OpenMP default
  DbscanAlgorithm algorithm = DbscanAlgorithm::Auto;
};

struct DbscanResult {
  std::vector<int> labels;                     // [N] -1 = noise, clusters 0.. in sklearn's order
  std::vector<char> is_core;                   // [N] 1 for core points (sklearn's
                                               // core_sample_indices_), else 0
  int n_clusters = 0;                          // number of clusters (max label + 1)
  std::vector<std::int64_t> neighbour_counts;  // [N] size of each closed eps-ball (itself included)
};

// x: [N, D] row-major, N >= 2, D >= 1, finite (not checked: NaN is the caller's job).
// Throws std::invalid_argument for eps <= 0 (or not finite), min_samples < 1, n_threads < 0,
// N < 2 and D < 1.
DbscanResult dbscan(const Eigen::Ref<const RowMatrixXd>& x, const DbscanOptions& opt);

struct ClusterSummary {
  std::vector<std::int64_t> members;  // [n_clusters] points per cluster (border points included)
  RowMatrixXd centroids;              // [n_clusters, D] mean of each cluster's members (NaN for a
                                      // cluster number with no members)
  std::int64_t n_noise = 0;           // points labelled -1
};

// x: [N, D] row-major; labels: [N], -1 (noise) or a cluster number >= 0; n_clusters = max + 1.
// Throws std::invalid_argument when labels.size() != N or a label is < -1.
ClusterSummary summarize_clusters(const Eigen::Ref<const RowMatrixXd>& x,
                                  const std::vector<int>& labels);

}  // namespace actlens::core
