// Barnes-Hut repulsion for t-SNE: a 2^dim-ary space-partitioning tree (binary tree, quadtree,
// octree) over the embedding, rebuilt every iteration in flat arrays, and one independent
// traversal per point (parallel, results written per point, summed in index order).
//
// As sklearn's _QuadTree: cells split at their centre; a cell is used as a summary of its points
// (its centre of mass and count) when max_width^2 / dist^2 < theta^2, dist measured from the
// query point to the centre of mass. Differences that only make it more accurate: a leaf holds up
// to kLeafSize points, treated one by one when the leaf cannot be summarised; the query point is
// never counted against itself (a cell whose box contains it is always opened), and exact
// duplicates interact with weight 1 instead of being dropped.
#include <omp.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "tsne_internal.hpp"

namespace actlens::core::tsne_detail {

int resolve_threads(int n_threads) {
  return n_threads > 0 ? n_threads : std::max(1, omp_get_max_threads());
}

namespace {

constexpr int kLeafSize = 16;
constexpr int kMaxDepth = 48;

// What the traversal reads, kept small for the cache.
template <int D>
struct Node {
  std::array<double, D> com;  // centre of mass
  double count = 0;
  double width2 = 0;  // squared largest box width
  // Inner node: a = first child (children are contiguous), b = -(number of children).
  // Leaf: its points are [a, b) of the sorted order.
  std::int32_t a = 0;
  std::int32_t b = 0;
};

template <int D>
struct Box {
  std::array<double, D> center;
  std::array<double, D> half;  // half-widths
};

// w (the Student-t kernel) for a squared distance, dof = max(D - 1, 1).
template <int D>
inline double kernel(double d2) {
  if constexpr (D <= 2) {
    return 1.0 / (1.0 + d2);
  } else {
    const double q = 2.0 / (2.0 + d2);
    return q * std::sqrt(q);  // q^1.5
  }
}

template <int D>
class Tree {
 public:
  Tree(std::int64_t n, double theta, int threads)
      : n_(n), theta2_(theta * theta), threads_(threads) {
    perm_.resize(static_cast<std::size_t>(n));
    tmp_.resize(static_cast<std::size_t>(n));
    sorted_.resize(static_cast<std::size_t>(n) * D);
    sq_.resize(static_cast<std::size_t>(n));
  }

  double compute(const double* y, double* neg) {
    build(y);
    const std::int64_t n = n_;
    // A point inside a box is at most sqrt(D) max_width from its centre of mass, so boxes that
    // contain the query point can only pass the criterion when theta^2 D > 1.
    const bool check_inside = theta2_ * D > 1.0;
#pragma omp parallel for schedule(dynamic, 64) num_threads(threads_)
    for (std::int64_t s = 0; s < n; ++s) {
      const std::int32_t i = perm_[static_cast<std::size_t>(s)];
      std::array<double, D> f{};
      const double sq = check_inside ? traverse<true>(s, f) : traverse<false>(s, f);
      for (int k = 0; k < D; ++k) neg[static_cast<std::size_t>(i) * D + k] = f[k];
      sq_[static_cast<std::size_t>(i)] = sq;
    }
    double z = 0;
    for (std::int64_t i = 0; i < n; ++i) z += sq_[static_cast<std::size_t>(i)];
    return z;
  }

 private:
  void build(const double* y) {
    nodes_.clear();
    boxes_.clear();
    std::array<double, D> lo, hi;
    for (int k = 0; k < D; ++k) {
      lo[k] = std::numeric_limits<double>::infinity();
      hi[k] = -std::numeric_limits<double>::infinity();
    }
    for (std::int64_t i = 0; i < n_; ++i) {
      perm_[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(i);
      for (int k = 0; k < D; ++k) {
        const double v = y[i * D + k];
        lo[k] = std::min(lo[k], v);
        hi[k] = std::max(hi[k], v);
      }
    }
    y_ = y;
    Box<D> root;
    for (int k = 0; k < D; ++k) {
      root.center[k] = 0.5 * (lo[k] + hi[k]);
      // A little margin so that every point is strictly inside the root box.
      root.half[k] = 0.5 * (hi[k] - lo[k]) * (1 + 1e-9) + 1e-300;
    }
    nodes_.emplace_back();
    boxes_.push_back(root);
    fill(0, 0, static_cast<std::int32_t>(n_), 0);
    for (std::int64_t s = 0; s < n_; ++s) {
      const std::int64_t i = perm_[static_cast<std::size_t>(s)];
      for (int k = 0; k < D; ++k) sorted_[static_cast<std::size_t>(s) * D + k] = y[i * D + k];
    }
  }

  // Sets node `id` (centre/half already set) to hold perm_[begin, end) and builds its subtree.
  void fill(std::int32_t id, std::int32_t begin, std::int32_t end, int depth) {
    std::array<double, D> sum{};
    for (std::int32_t s = begin; s < end; ++s) {
      const double* p = y_ + static_cast<std::int64_t>(perm_[static_cast<std::size_t>(s)]) * D;
      for (int k = 0; k < D; ++k) sum[k] += p[k];
    }
    {
      Node<D>& nd = nodes_[static_cast<std::size_t>(id)];
      const Box<D>& bx = boxes_[static_cast<std::size_t>(id)];
      nd.count = end - begin;
      double w2 = 0;
      for (int k = 0; k < D; ++k) {
        nd.com[k] = sum[k] / nd.count;
        w2 = std::max(w2, 4 * bx.half[k] * bx.half[k]);
      }
      nd.width2 = w2;
      nd.a = begin;
      nd.b = end;
    }
    if (end - begin <= kLeafSize || depth >= kMaxDepth) return;

    // Counting sort of the points into the 2^D children (stable: keeps the order of perm_).
    constexpr int kChildren = 1 << D;
    std::array<std::int32_t, kChildren + 1> start{};
    const std::array<double, D> center = boxes_[static_cast<std::size_t>(id)].center;
    const std::array<double, D> half = boxes_[static_cast<std::size_t>(id)].half;
    auto code_of = [&](std::int32_t idx) {
      const double* p = y_ + static_cast<std::int64_t>(idx) * D;
      int c = 0;
      for (int k = 0; k < D; ++k) c = 2 * c + (p[k] >= center[k] ? 1 : 0);
      return c;
    };
    for (std::int32_t s = begin; s < end; ++s)
      ++start[code_of(perm_[static_cast<std::size_t>(s)]) + 1];
    for (int c = 0; c < kChildren; ++c) start[c + 1] += start[c];
    std::array<std::int32_t, kChildren> pos{};
    for (int c = 0; c < kChildren; ++c) pos[c] = begin + start[c];
    for (std::int32_t s = begin; s < end; ++s) {
      const std::int32_t idx = perm_[static_cast<std::size_t>(s)];
      tmp_[static_cast<std::size_t>(pos[code_of(idx)]++)] = idx;
    }
    std::copy(tmp_.begin() + begin, tmp_.begin() + end, perm_.begin() + begin);

    int n_children = 0;
    for (int c = 0; c < kChildren; ++c) n_children += start[c + 1] > start[c] ? 1 : 0;
    const auto first = static_cast<std::int32_t>(nodes_.size());
    nodes_.resize(nodes_.size() + static_cast<std::size_t>(n_children));
    boxes_.resize(nodes_.size());
    {
      Node<D>& nd = nodes_[static_cast<std::size_t>(id)];
      nd.a = first;
      nd.b = -n_children;
    }
    std::int32_t child = first;
    for (int c = 0; c < kChildren; ++c) {
      if (start[c + 1] == start[c]) continue;
      Box<D>& ch = boxes_[static_cast<std::size_t>(child)];
      for (int k = 0; k < D; ++k) {
        const int bit = (c >> (D - 1 - k)) & 1;
        ch.half[k] = 0.5 * half[k];
        ch.center[k] = center[k] + (bit ? 0.5 : -0.5) * half[k];
      }
      fill(child, begin + start[c], begin + start[c + 1], depth + 1);
      ++child;
    }
  }

  // Repulsion on the point at sorted position s; returns its sum_j w_ij.
  template <bool CheckInside>
  double traverse(std::int64_t s, std::array<double, D>& f) const {
    std::array<double, D> p;
    for (int k = 0; k < D; ++k) p[k] = sorted_[static_cast<std::size_t>(s) * D + k];
    double sq = 0;
    std::int32_t stack[kMaxDepth * (1 << D) + 8];
    int top = 0;
    stack[top++] = 0;
    while (top > 0) {
      const std::int32_t id = stack[--top];
      const Node<D>& nd = nodes_[static_cast<std::size_t>(id)];
      std::array<double, D> diff;
      double d2 = 0;
      for (int k = 0; k < D; ++k) {
        diff[k] = p[k] - nd.com[k];
        d2 += diff[k] * diff[k];
      }
      bool far = nd.width2 < theta2_ * d2;
      if constexpr (CheckInside) {
        if (far) {
          const Box<D>& bx = boxes_[static_cast<std::size_t>(id)];
          bool inside = true;
          for (int k = 0; k < D; ++k)
            inside = inside && std::fabs(p[k] - bx.center[k]) <= bx.half[k];
          far = !inside;
        }
      }
      if (far) {
        const double w = kernel<D>(d2);
        sq += nd.count * w;
        const double m = nd.count * w * w;
        for (int k = 0; k < D; ++k) f[k] += m * diff[k];
      } else if (nd.b >= 0) {
        for (std::int32_t t = nd.a; t < nd.b; ++t) {
          if (t == s) continue;
          double e2 = 0;
          std::array<double, D> e;
          for (int k = 0; k < D; ++k) {
            e[k] = p[k] - sorted_[static_cast<std::size_t>(t) * D + k];
            e2 += e[k] * e[k];
          }
          const double w = kernel<D>(e2);
          sq += w;
          const double m = w * w;
          for (int k = 0; k < D; ++k) f[k] += m * e[k];
        }
      } else {
        // Push in reverse so that children are visited in order.
        for (std::int32_t c = -nd.b - 1; c >= 0; --c) stack[top++] = nd.a + c;
      }
    }
    return sq;
  }

  std::int64_t n_;
  double theta2_;
  int threads_;
  const double* y_ = nullptr;
  std::vector<Node<D>> nodes_;
  std::vector<Box<D>> boxes_;  // [nodes] box of every node (building; the inside test)
  std::vector<std::int32_t> perm_, tmp_;
  std::vector<double> sorted_;  // [n, D] positions in tree order
  std::vector<double> sq_;      // [n] per-point sum_j w_ij
};

}  // namespace

struct BarnesHutRepulsion::Impl {
  int dim;
  std::unique_ptr<Tree<1>> t1;
  std::unique_ptr<Tree<2>> t2;
  std::unique_ptr<Tree<3>> t3;
};

BarnesHutRepulsion::BarnesHutRepulsion(std::int64_t n, int dim, double theta, int threads)
    : impl_(std::make_unique<Impl>()) {
  impl_->dim = dim;
  if (dim == 1) impl_->t1 = std::make_unique<Tree<1>>(n, theta, threads);
  if (dim == 2) impl_->t2 = std::make_unique<Tree<2>>(n, theta, threads);
  if (dim == 3) impl_->t3 = std::make_unique<Tree<3>>(n, theta, threads);
}

BarnesHutRepulsion::~BarnesHutRepulsion() = default;

double BarnesHutRepulsion::compute(const double* y, double* neg) {
  switch (impl_->dim) {
    case 1:
      return impl_->t1->compute(y, neg);
    case 2:
      return impl_->t2->compute(y, neg);
    default:
      return impl_->t3->compute(y, neg);
  }
}

}  // namespace actlens::core::tsne_detail
