#pragma once
// DBSCAN internals shared by dbscan.cpp and its two neighbour searches (dbscan_kdtree.cpp,
// dbscan_brute.cpp). Both searches run the same three passes over points whose neighbourhood is
// the closed ball sum_k (x_ik - x_jk)^2 <= radius2 (the sum in coordinate order):
//  1. count every neighbourhood (itself included);
//  2. join every pair of core points within the radius in a union-find;
//  3. for every non-core point, the lowest root among its core neighbours (-1 when none).
// No pass keeps a neighbour list: memory is O(N) (brute force: plus O(threads x block^2)).
#include <atomic>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include "actlens/core/types.hpp"

namespace actlens::core::dbscan_detail {

// Rows i of a row-major [n, d] matrix at data + i * stride; not owned.
struct Points {
  const double* data = nullptr;
  Eigen::Index stride = 0;
  Eigen::Index n = 0;
  Eigen::Index d = 0;
  double radius2 = 0;  // closed ball: squared distance <= radius2

  const double* row(Eigen::Index i) const { return data + i * stride; }
};

// sum_k (a_k - b_k)^2 in coordinate order: the exact decision sklearn's kd_tree makes.
inline double squared_distance(const double* a, const double* b, Eigen::Index d) {
  double s = 0;
  for (Eigen::Index k = 0; k < d; ++k) {
    const double t = a[k] - b[k];
    s += t * t;
  }
  return s;
}

// Lock-free union-find over point indices. A root is always linked under the smaller root, so
// parent[i] <= i and every root is the lowest index of its set: the result depends only on which
// pairs were joined, not on the order or the thread that joined them.
class UnionFind {
 public:
  explicit UnionFind(Eigen::Index n) : parent_(static_cast<std::size_t>(n)) {
    for (Eigen::Index i = 0; i < n; ++i) parent_[static_cast<std::size_t>(i)] = i;
  }

  std::int64_t find(std::int64_t x) {
    for (;;) {
      std::int64_t p = ref(x).load(std::memory_order_relaxed);
      if (p == x) return x;
      const std::int64_t g = ref(p).load(std::memory_order_relaxed);
      if (g == p) return p;
      // Path halving: parent[x] <= parent[p] keeps the invariant whoever wins the race.
      ref(x).compare_exchange_weak(p, g, std::memory_order_relaxed);
      x = g;
    }
  }

  // The current parent of x (a hint: may change under other threads).
  std::int64_t parent_of(std::int64_t x) { return ref(x).load(std::memory_order_relaxed); }

  // Joins the sets of a and b; returns the root of the union.
  std::int64_t unite(std::int64_t a, std::int64_t b) {
    for (;;) {
      a = find(a);
      b = find(b);
      if (a == b) return a;
      if (a > b) std::swap(a, b);
      std::int64_t expected = b;
      if (ref(b).compare_exchange_strong(expected, a, std::memory_order_acq_rel)) return a;
    }
  }

 private:
  std::atomic_ref<std::int64_t> ref(std::int64_t i) {
    return std::atomic_ref<std::int64_t>(parent_[static_cast<std::size_t>(i)]);
  }
  std::vector<std::int64_t> parent_;
};

// Lowers `slot` to `v` when v is smaller (concurrent writers allowed).
inline void atomic_min(std::int64_t& slot, std::int64_t v) {
  std::atomic_ref<std::int64_t> r(slot);
  std::int64_t cur = r.load(std::memory_order_relaxed);
  while (v < cur && !r.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

// One neighbour search: the three passes above.
class Search {
 public:
  virtual ~Search() = default;
  // counts: [n] filled with the neighbourhood sizes.
  virtual void count(std::vector<std::int64_t>& counts) = 0;
  // Calls uf.unite(i, j) for (at least) every pair of core points within the radius.
  virtual void join_cores(const std::vector<char>& is_core, UnionFind& uf) = 0;
  // root: [n] the set root of each core point (unspecified elsewhere); best: [n] set to -1 by the
  // caller; for each non-core i, lowered to the smallest root[j] over its core neighbours j.
  virtual void border_roots(const std::vector<char>& is_core, const std::vector<std::int64_t>& root,
                            std::vector<std::int64_t>& best) = 0;
};

// Points must outlive the search. threads >= 1.
std::unique_ptr<Search> make_kdtree_search(const Points& p, int threads);
std::unique_ptr<Search> make_brute_search(const Points& p, int threads);

}  // namespace actlens::core::dbscan_detail
