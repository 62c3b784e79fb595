// DBSCAN's neighbour search in low dimensions: a nanoflann KD-tree over the caller's row-major
// rows (no copy), searched by our own traversal of its nodes with visitors that count, join or
// take a minimum as points arrive, so that no neighbour list is ever stored. As sklearn's
// kd_tree, a node wholly inside the ball is taken without a distance per point, and one wholly
// outside is skipped; both tests use the node's box with the same coordinate-order sum as the
// point distance, and rounding is monotone, so they agree exactly with the per-point decision
// sum_k (q_k - x_k)^2 <= radius2 (ties at exactly eps included). Queries run in the tree's leaf
// order (neighbouring queries touch the same leaves) on OpenMP threads.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <stdexcept>

#include <nanoflann.hpp>

#include "dbscan_detail.hpp"

namespace actlens::core::dbscan_detail {

namespace {

using Index32 = std::uint32_t;

struct RowAdaptor {
  const Points* p;
  std::size_t kdtree_get_point_count() const { return static_cast<std::size_t>(p->n); }
  double kdtree_get_pt(Index32 i, std::size_t k) const {
    return p->row(static_cast<Eigen::Index>(i))[k];
  }
  template <class Box>
  bool kdtree_get_bbox(Box& /*box*/) const {
    return false;
  }
};

// The squared distance summed in coordinate order (nanoflann's L2_Adaptor sums in groups of
// four, which can round differently at exactly eps).
template <int Dim>
struct SequentialL2 {
  using ElementType = double;
  using DistanceType = double;
  const RowAdaptor& src;
  explicit SequentialL2(const RowAdaptor& s) : src(s) {}
  double evalMetric(const double* a, Index32 b, std::size_t size) const {
    return squared_distance(a, src.p->row(static_cast<Eigen::Index>(b)),
                            static_cast<Eigen::Index>(Dim > 0 ? Dim : size));
  }
  template <class U, class V>
  double accum_dist(U a, V b, std::size_t /*dim*/) const {
    return (a - b) * (a - b);
  }
};

// Visitors see tree positions k (the point is vAcc[k]): the points of a node are a contiguous
// range of positions, so per-point state kept in position order is read sequentially.
struct CountVisitor {
  std::int64_t n = 0;
  static std::size_t start(std::size_t begin) { return begin; }
  void point(std::size_t /*k*/) { ++n; }
  void whole(std::size_t /*first*/, std::size_t count) { n += static_cast<std::int64_t>(count); }
};

// Joins core position `self` with its core neighbours at higher positions (the lower ones join
// it) in a union-find over positions. Visitors name the first position they want (start), so
// that the search skips nodes and leaf points before it.
struct JoinVisitor {
  const char* core;  // [n] by position
  UnionFind* uf;     // over positions
  std::int64_t self;
  std::int64_t root;
  // Positions <= self are skipped: those pairs are joined from the other end.
  std::size_t start(std::size_t begin) const {
    return std::max(begin, static_cast<std::size_t>(self) + 1);
  }
  void point(std::size_t k) {
    const auto j = static_cast<std::int64_t>(k);
    // Most pairs are joined already: j's parent is the root this query has seen last.
    if (core[k] != 0 && uf->parent_of(j) != root) root = uf->unite(root, j);
  }
  void whole(std::size_t first, std::size_t count) {
    for (std::size_t k = first; k < first + count; ++k) point(k);
  }
};

struct BorderVisitor {
  const std::int64_t* root;  // [n] by position: the cluster root (an original index), -1 if
                             // not core
  std::int64_t best = -1;
  static std::size_t start(std::size_t begin) { return begin; }
  void point(std::size_t k) {
    const std::int64_t r = root[k];
    if (r >= 0 && (best < 0 || r < best)) best = r;
  }
  void whole(std::size_t first, std::size_t count) {
    for (std::size_t k = first; k < first + count; ++k) point(k);
  }
};

template <int Dim>
class KdTreeSearch final : public Search {
  using Tree = nanoflann::KDTreeSingleIndexAdaptor<SequentialL2<Dim>, RowAdaptor, Dim, Index32>;

 public:
  KdTreeSearch(const Points& p, int threads)
      : p_(p),
        adaptor_{&p_},
        tree_(static_cast<int>(p.d), adaptor_, nanoflann::KDTreeSingleIndexAdaptorParams(16)),
        threads_(threads) {}

  void count(std::vector<std::int64_t>& counts) override {
    counts.assign(static_cast<std::size_t>(p_.n), 0);
    for_each_point([&](std::size_t /*k*/, Index32 i) {
      CountVisitor v;
      query(v, i);
      counts[i] = v.n;
    });
  }

  void join_cores(const std::vector<char>& is_core, UnionFind& uf) override {
    const std::vector<Index32>& order = tree_.vAcc;
    const std::size_t n = order.size();
    std::vector<char> core(n);
    for (std::size_t k = 0; k < n; ++k) core[k] = is_core[order[k]];
    UnionFind by_position(static_cast<Eigen::Index>(n));
    for_each_point([&](std::size_t k, Index32 i) {
      if (core[k] == 0) return;
      JoinVisitor v{core.data(), &by_position, static_cast<std::int64_t>(k),
                    static_cast<std::int64_t>(k)};
      query(v, i);
    });
    // The same sets over original indices.
    const auto sn = static_cast<std::int64_t>(n);
#pragma omp parallel for schedule(static) num_threads(threads_)
    for (std::int64_t k = 0; k < sn; ++k) {
      if (core[static_cast<std::size_t>(k)] == 0) continue;
      const std::int64_t r = by_position.find(k);
      if (r != k) uf.unite(order[static_cast<std::size_t>(k)], order[static_cast<std::size_t>(r)]);
    }
  }

  void border_roots(const std::vector<char>& is_core, const std::vector<std::int64_t>& root,
                    std::vector<std::int64_t>& best) override {
    const std::vector<Index32>& order = tree_.vAcc;
    std::vector<std::int64_t> root_at(order.size());
    for (std::size_t k = 0; k < order.size(); ++k)
      root_at[k] = is_core[order[k]] != 0 ? root[order[k]] : -1;
    for_each_point([&](std::size_t /*k*/, Index32 i) {
      if (is_core[i] != 0) return;
      BorderVisitor v{root_at.data()};
      query(v, i);
      best[i] = v.best;
    });
  }

 private:
  using Node = typename Tree::Node;

  // Visits every point x of the closed ball sum_k (q_k - x_k)^2 <= radius2 around row i.
  template <class Visitor>
  void query(Visitor& v, Index32 i) const {
    thread_local std::vector<double> lo, hi;
    const auto d = static_cast<std::size_t>(p_.d);
    lo.resize(d);
    hi.resize(d);
    for (std::size_t k = 0; k < d; ++k) {
      lo[k] = tree_.root_bbox[k].low;
      hi[k] = tree_.root_bbox[k].high;
    }
    visit(tree_.root_node, 0, tree_.vAcc.size(), p_.row(static_cast<Eigen::Index>(i)), lo.data(),
          hi.data(), v);
  }

  // node's points are the positions [begin, end) and lie in the box [lo, hi] (exact coordinate
  // bounds: nanoflann's divlow / divhigh are the children's extreme coordinates).
  template <class Visitor>
  void visit(const Node* node, std::size_t begin, std::size_t end, const double* q, double* lo,
             double* hi, Visitor& v) const {
    begin = v.start(begin);
    if (begin >= end) return;
    const auto d = static_cast<std::size_t>(Dim > 0 ? Dim : p_.d);
    double near = 0, far = 0;  // sums of squared gaps to the box's nearest / farthest faces
    for (std::size_t k = 0; k < d; ++k) {
      const double below = q[k] - lo[k];  // >= 0 when q is above the low face
      const double above = q[k] - hi[k];  // <= 0 when q is below the high face
      const double g = below < 0 ? below : (above > 0 ? above : 0.0);
      near += g * g;
      far += std::max(below * below, above * above);
    }
    const double r2 = p_.radius2;
    if (near > r2) return;
    if (far <= r2) {
      v.whole(begin, end - begin);
      return;
    }
    if (node->child1 == nullptr && node->child2 == nullptr) {
      const Index32* acc = tree_.vAcc.data();
      for (std::size_t k = begin; k < end; ++k)
        if (squared_distance(q, p_.row(static_cast<Eigen::Index>(acc[k])),
                             static_cast<Eigen::Index>(d)) <= r2)
          v.point(k);
      return;
    }
    const Node* first2 = node->child2;  // the first position of child2: its leftmost leaf's
    while (first2->child1 != nullptr) first2 = first2->child1;
    const std::size_t mid = first2->node_type.lr.left;
    const auto f = static_cast<std::size_t>(node->node_type.sub.divfeat);
    const double saved_hi = hi[f];
    hi[f] = node->node_type.sub.divlow;
    visit(node->child1, begin, std::max(begin, mid), q, lo, hi, v);
    hi[f] = saved_hi;
    const double saved_lo = lo[f];
    lo[f] = node->node_type.sub.divhigh;
    visit(node->child2, std::max(begin, mid), end, q, lo, hi, v);
    lo[f] = saved_lo;
  }

  // f(k, i) for every point i = vAcc[k], in the tree's leaf order, on the OpenMP threads.
  template <class F>
  void for_each_point(F&& f) const {
    const std::vector<Index32>& order = tree_.vAcc;
    const auto n = static_cast<std::int64_t>(order.size());
#pragma omp parallel for schedule(dynamic, 256) num_threads(threads_)
    for (std::int64_t k = 0; k < n; ++k)
      f(static_cast<std::size_t>(k), order[static_cast<std::size_t>(k)]);
  }

  Points p_;
  RowAdaptor adaptor_;
  Tree tree_;
  int threads_;
};

}  // namespace

std::unique_ptr<Search> make_kdtree_search(const Points& p, int threads) {
  if (p.n > static_cast<Eigen::Index>(std::numeric_limits<Index32>::max()))
    throw std::invalid_argument("DBSCAN: the KD-tree handles at most 2^32 - 1 points (got " +
                                std::to_string(p.n) + ")");
  switch (p.d) {
    case 2:
      return std::make_unique<KdTreeSearch<2>>(p, threads);
    case 3:
      return std::make_unique<KdTreeSearch<3>>(p, threads);
    default:
      return std::make_unique<KdTreeSearch<-1>>(p, threads);
  }
}

}  // namespace actlens::core::dbscan_detail
