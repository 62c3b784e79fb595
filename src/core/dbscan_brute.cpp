// DBSCAN's neighbour search in high dimensions: blocked brute force. Squared distances of a tile
// of B x B pairs come from float32 dot products of centred rows, ||a||^2 + ||b||^2 - 2 a.b (our own
// register-blocked kernel, AVX2+FMA when the CPU has it: B x B x D products are too small for a
// BLAS call per tile, and OpenBLAS would start its own threads inside ours); a pair is
// decided from it when it lies clearly inside or outside the ball, and by the exact float64 sum
// in coordinate order (what sklearn's kd_tree computes) when it falls within a rigorous bound of
// the float32 error around radius2. Only tiles with J >= I are computed (the distance is
// symmetric), and rows are first put in a ball-tree order (tiles of nearby points, outliers
// apart) so that tile pairs whose bounding balls lie farther apart than eps are skipped, as are
// join tiles whose core points already share one cluster. Memory: a float32 copy of the rows,
// O(N) indices and per-thread counts, and O(threads x B x (B + D)) of tile scratch.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>

#include <omp.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define ACTLENS_DBSCAN_X86 1
#endif

#include "actlens/core/cpu_isa.hpp"
#include "dbscan_detail.hpp"

namespace actlens::core::dbscan_detail {

namespace {

using Idx = Eigen::Index;

constexpr Idx kBlock = 256;

// Tile dot products: g[i * kBlock + j] = a_i . b_j for i < bi, j < bj, where a_i / b_j are rows of
// length d (contiguous, stride d). bt: scratch of d * kBlock floats (b transposed, zero-padded).
void tile_dots_generic(const float* a, Idx bi, const float* b, Idx bj, Idx d, float* bt, float* g) {
  for (Idx k = 0; k < d; ++k)
    for (Idx j = 0; j < bj; ++j) bt[k * kBlock + j] = b[j * d + k];
  for (Idx i = 0; i < bi; ++i) {
    float* gi = g + i * kBlock;
    for (Idx j = 0; j < bj; ++j) gi[j] = 0;
    for (Idx k = 0; k < d; ++k) {
      const float aik = a[i * d + k];
      const float* bk = bt + k * kBlock;
      for (Idx j = 0; j < bj; ++j) gi[j] += aik * bk[j];
    }
  }
}

#ifdef ACTLENS_DBSCAN_X86
// 4 rows x 16 columns of accumulators per step, 8 floats per register.
__attribute__((target("avx2,fma"))) void tile_dots_avx2(const float* a, Idx bi, const float* b,
                                                        Idx bj, Idx d, float* bt, float* g) {
  const Idx bjp = (bj + 15) / 16 * 16;
  for (Idx k = 0; k < d; ++k) {
    float* btk = bt + k * kBlock;
    for (Idx j = 0; j < bj; ++j) btk[j] = b[j * d + k];
    for (Idx j = bj; j < bjp; ++j) btk[j] = 0;
  }
  for (Idx i = 0; i < bi; i += 4) {
    // Rows past bi repeat the last row; their results are not stored.
    const float* r0 = a + i * d;
    const float* r1 = a + std::min(i + 1, bi - 1) * d;
    const float* r2 = a + std::min(i + 2, bi - 1) * d;
    const float* r3 = a + std::min(i + 3, bi - 1) * d;
    for (Idx j = 0; j < bjp; j += 16) {
      __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
      __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
      __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
      __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
      for (Idx k = 0; k < d; ++k) {
        const float* btk = bt + k * kBlock + j;
        const __m256 b0 = _mm256_loadu_ps(btk);
        const __m256 b1 = _mm256_loadu_ps(btk + 8);
        __m256 x = _mm256_broadcast_ss(r0 + k);
        c00 = _mm256_fmadd_ps(x, b0, c00);
        c01 = _mm256_fmadd_ps(x, b1, c01);
        x = _mm256_broadcast_ss(r1 + k);
        c10 = _mm256_fmadd_ps(x, b0, c10);
        c11 = _mm256_fmadd_ps(x, b1, c11);
        x = _mm256_broadcast_ss(r2 + k);
        c20 = _mm256_fmadd_ps(x, b0, c20);
        c21 = _mm256_fmadd_ps(x, b1, c21);
        x = _mm256_broadcast_ss(r3 + k);
        c30 = _mm256_fmadd_ps(x, b0, c30);
        c31 = _mm256_fmadd_ps(x, b1, c31);
      }
      float* gi = g + i * kBlock + j;
      _mm256_storeu_ps(gi, c00);
      _mm256_storeu_ps(gi + 8, c01);
      if (i + 1 < bi) {
        _mm256_storeu_ps(gi + kBlock, c10);
        _mm256_storeu_ps(gi + kBlock + 8, c11);
      }
      if (i + 2 < bi) {
        _mm256_storeu_ps(gi + 2 * kBlock, c20);
        _mm256_storeu_ps(gi + 2 * kBlock + 8, c21);
      }
      if (i + 3 < bi) {
        _mm256_storeu_ps(gi + 3 * kBlock, c30);
        _mm256_storeu_ps(gi + 3 * kBlock + 8, c31);
      }
    }
  }
}
#endif

using TileDots = void (*)(const float*, Idx, const float*, Idx, Idx, float*, float*);

TileDots pick_tile_dots() {
#ifdef ACTLENS_DBSCAN_X86
  if (cpu_isa() != CpuIsa::Scalar) return tile_dots_avx2;  // AVX2+FMA or wider ($ACTLENS_CPU_ISA)
#endif
  return tile_dots_generic;
}

// flag[j] for tile row entries j < bj: 1 = clearly within the ball, 2 = within the error bound of
// its edge (decide exactly), 0 = clearly outside. Returns the OR of the flags.
inline __attribute__((always_inline)) unsigned classify_body(const float* g, Idx bj, double sa,
                                                             double ma, const double* sq,
                                                             const double* sc, double r2,
                                                             std::uint8_t* flag) {
  unsigned any = 0;
  for (Idx j = 0; j < bj; ++j) {
    const double c = sa + sq[j] - 2.0 * static_cast<double>(g[j]);
    const double m = (ma + sc[j]) * (ma + sc[j]);
    const unsigned f = (c <= r2 + m ? 1u : 0u) + (c >= r2 - m ? 1u : 0u) * (c <= r2 + m ? 1u : 0u);
    flag[j] = static_cast<std::uint8_t>(f);
    any |= f;
  }
  return any;
}

unsigned classify_generic(const float* g, Idx bj, double sa, double ma, const double* sq,
                          const double* sc, double r2, std::uint8_t* flag) {
  return classify_body(g, bj, sa, ma, sq, sc, r2, flag);
}

#ifdef ACTLENS_DBSCAN_X86
__attribute__((target("avx2,fma"))) unsigned classify_avx2(const float* g, Idx bj, double sa,
                                                           double ma, const double* sq,
                                                           const double* sc, double r2,
                                                           std::uint8_t* flag) {
  return classify_body(g, bj, sa, ma, sq, sc, r2, flag);
}
#endif

using Classify = unsigned (*)(const float*, Idx, double, double, const double*, const double*,
                              double, std::uint8_t*);

Classify pick_classify() {
#ifdef ACTLENS_DBSCAN_X86
  if (cpu_isa() != CpuIsa::Scalar) return classify_avx2;  // AVX2+FMA or wider ($ACTLENS_CPU_ISA)
#endif
  return classify_generic;
}

// Per-thread scratch of one tile.
struct Tile {
  std::vector<float> g = std::vector<float>(static_cast<std::size_t>(kBlock * kBlock));
  std::vector<float> bt;
  std::vector<std::uint8_t> flag = std::vector<std::uint8_t>(static_cast<std::size_t>(kBlock));
  explicit Tile(Idx d) : bt(static_cast<std::size_t>(d * kBlock)) {}
};

// Rows of the data in some order, centred and rounded to float32, with what the error bound of
// each row needs.
struct Layout {
  std::vector<Idx> perm;   // [n] position -> original row
  RowMatrixXf xf;          // [n, d] float32(x[perm[k]] - mean)
  std::vector<double> sq;  // [n] ||xf_k||^2 in float64
  std::vector<double>
      scaled;  // [n] sqrt(coef) ||xf_k||: margin of a pair = (scaled_a + scaled_b)^2
};

class BruteSearch final : public Search {
 public:
  BruteSearch(const Points& p, int threads) : p_(p), threads_(threads) {
    mean_ = Eigen::VectorXd::Zero(p.d);
    for (Idx i = 0; i < p.n; ++i) mean_ += Eigen::Map<const Eigen::VectorXd>(p.row(i), p.d);
    mean_ /= static_cast<double>(p.n);
    // |computed - exact| <= coef (|a| + |b|)^2 for centred rows a, b (see margin_coef()).
    const double u32 = std::ldexp(1.0, -24);
    const double u64 = std::ldexp(1.0, -53);
    const double dd = static_cast<double>(p.d);
    // float32 dot products: 2 gamma_D |a||b| <= (D + 1) u32 (|a| + |b|)^2 / 2; rounding the centred
    // rows to float32: 2.01 u32 (|a| + |b|)^2; float64 sums and centring: (D + 5) u64 (|a| +
    // |b|)^2. Doubled for safety.
    coef_ = 2.0 * (((dd + 1.0) / 2.0 + 2.01) * u32 + (dd + 5.0) * u64);
  }

  void count(std::vector<std::int64_t>& counts) override {
    std::vector<Idx> all(static_cast<std::size_t>(p_.n));
    std::iota(all.begin(), all.end(), Idx{0});
    compact_ = compact_order(std::move(all));
    build_layout(compact_);
    const Idx n = p_.n;
    const int nt = threads_;
    std::vector<std::vector<std::int32_t>> local(static_cast<std::size_t>(nt));
    const auto tiles = tile_pairs(0, n, 0, n, true);
#pragma omp parallel num_threads(nt)
    {
      auto& cnt = local[static_cast<std::size_t>(omp_get_thread_num())];
      cnt.assign(static_cast<std::size_t>(n), 0);
      Tile tile(p_.d);
      std::vector<std::int32_t> col(kBlock);
#pragma omp for schedule(dynamic, 1)
      for (std::size_t t = 0; t < tiles.size(); ++t) {
        const auto [i0, j0] = tiles[t];
        const Idx bi = std::min(kBlock, n - i0), bj = std::min(kBlock, n - j0);
        dots(tile, i0, bi, j0, bj);
        std::fill(col.begin(), col.end(), 0);
        for (Idx i = 0; i < bi; ++i) {
          const Idx a = i0 + i;
          const Idx js = i0 == j0 ? i + 1 : 0;  // diagonal tile: pairs j > i; self added below
          std::int32_t row_in = 0;
          scan_row(tile, i, a, j0, js, bj, [&](Idx j) {
            ++row_in;
            ++col[static_cast<std::size_t>(j)];
          });
          cnt[static_cast<std::size_t>(a)] += row_in + (i0 == j0 ? 1 : 0);
        }
        for (Idx j = 0; j < bj; ++j)
          cnt[static_cast<std::size_t>(j0 + j)] += col[static_cast<std::size_t>(j)];
      }
    }
    counts.assign(static_cast<std::size_t>(n), 0);
#pragma omp parallel for schedule(static) num_threads(nt)
    for (Idx i = 0; i < n; ++i) {
      std::int64_t s = 0;
      for (const auto& c : local) s += c[static_cast<std::size_t>(i)];
      counts[static_cast<std::size_t>(lay_.perm[static_cast<std::size_t>(i)])] =
          s;  // i: layout row
    }
  }

  void join_cores(const std::vector<char>& is_core, UnionFind& uf) override {
    // Core rows first, then the others: passes 2 and 3 then work on contiguous ranges.
    std::vector<Idx> order;
    order.reserve(static_cast<std::size_t>(p_.n));
    std::vector<Idx> others;
    for (const Idx i : compact_)
      (is_core[static_cast<std::size_t>(i)] != 0 ? order : others).push_back(i);
    n_core_ = static_cast<Idx>(order.size());
    order.insert(order.end(), others.begin(), others.end());
    build_layout(order);
    const auto tiles = tile_pairs(0, n_core_, 0, n_core_, true);
    const auto& perm = lay_.perm;
#pragma omp parallel num_threads(threads_)
    {
      Tile tile(p_.d);
      std::vector<std::int64_t> ri(kBlock), rj(kBlock);
#pragma omp for schedule(dynamic, 1)
      for (std::size_t t = 0; t < tiles.size(); ++t) {
        const auto [i0, j0] = tiles[t];
        const Idx bi = std::min(kBlock, n_core_ - i0), bj = std::min(kBlock, n_core_ - j0);
        // Cached roots (possibly stale: an equal pair is joined already, an unequal one is checked
        // by unite). A tile whose rows all share one root has nothing left to join.
        bool one_root = true;
        for (Idx i = 0; i < bi; ++i) {
          ri[static_cast<std::size_t>(i)] = uf.find(perm[static_cast<std::size_t>(i0 + i)]);
          one_root = one_root && ri[static_cast<std::size_t>(i)] == ri[0];
        }
        for (Idx j = 0; j < bj; ++j) {
          rj[static_cast<std::size_t>(j)] = uf.find(perm[static_cast<std::size_t>(j0 + j)]);
          one_root = one_root && rj[static_cast<std::size_t>(j)] == ri[0];
        }
        if (one_root) continue;
        dots(tile, i0, bi, j0, bj);
        for (Idx i = 0; i < bi; ++i) {
          const Idx js = i0 == j0 ? i + 1 : 0;
          auto& root_i = ri[static_cast<std::size_t>(i)];
          scan_row(tile, i, i0 + i, j0, js, bj, [&](Idx j) {
            auto& root_j = rj[static_cast<std::size_t>(j)];
            if (root_i != root_j) root_i = root_j = uf.unite(root_i, root_j);
          });
        }
      }
    }
  }

  void border_roots(const std::vector<char>& /*is_core*/, const std::vector<std::int64_t>& root,
                    std::vector<std::int64_t>& best) override {
    const Idx n = p_.n;
    if (n_core_ == 0 || n_core_ == n) return;
    const auto tiles = tile_pairs(n_core_, n, 0, n_core_, false);
    const auto& perm = lay_.perm;
#pragma omp parallel num_threads(threads_)
    {
      Tile tile(p_.d);
#pragma omp for schedule(dynamic, 1)
      for (std::size_t t = 0; t < tiles.size(); ++t) {
        const auto [i0, j0] = tiles[t];
        const Idx bi = std::min(kBlock, n - i0), bj = std::min(kBlock, n_core_ - j0);
        dots(tile, i0, bi, j0, bj);
        for (Idx i = 0; i < bi; ++i) {
          std::int64_t b = -1;
          scan_row(tile, i, i0 + i, j0, 0, bj, [&](Idx j) {
            const std::int64_t r =
                root[static_cast<std::size_t>(perm[static_cast<std::size_t>(j0 + j)])];
            if (b < 0 || r < b) b = r;
          });
          if (b >= 0)
            atomic_min_or_set(
                best[static_cast<std::size_t>(perm[static_cast<std::size_t>(i0 + i)])], b);
        }
      }
    }
  }

 private:
  // Lowers slot (-1 = unset) to v.
  static void atomic_min_or_set(std::int64_t& slot, std::int64_t v) {
    std::atomic_ref<std::int64_t> r(slot);
    std::int64_t cur = r.load(std::memory_order_relaxed);
    while ((cur < 0 || v < cur) && !r.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
    }
  }

  // Rows in an order where consecutive blocks of kBlock are compact: split recursively at a
  // block boundary near the median of the projection on the line through two far-apart points
  // (a ball tree whose leaves are the tiles), so that far-apart tiles can be skipped
  // (tile_pairs). Deterministic: no random choice, no threads.
  std::vector<Idx> spatial_order(std::vector<Idx> order) const {
    std::vector<double> proj(static_cast<std::size_t>(p_.n));
    split(order, proj, 0, static_cast<Idx>(order.size()));
    return order;
  }

  // spatial_order, with the points farther from their tile's centre than twice the tile's median
  // distance (outliers, which would make every tile's ball large) moved to the end, both groups in
  // their spatial order.
  std::vector<Idx> compact_order(std::vector<Idx> rows) const {
    rows = spatial_order(std::move(rows));
    const auto n = static_cast<Idx>(rows.size());
    std::vector<Idx> inliers, outliers;
    std::vector<double> dist;
    for (Idx t = 0; t < n; t += kBlock) {
      const Idx e = std::min(t + kBlock, n);
      Eigen::VectorXd centre = Eigen::VectorXd::Zero(p_.d);
      for (Idx k = t; k < e; ++k)
        centre +=
            Eigen::Map<const Eigen::VectorXd>(p_.row(rows[static_cast<std::size_t>(k)]), p_.d);
      centre /= static_cast<double>(e - t);
      dist.clear();
      for (Idx k = t; k < e; ++k)
        dist.push_back(
            squared_distance(p_.row(rows[static_cast<std::size_t>(k)]), centre.data(), p_.d));
      std::vector<double> sorted = dist;
      std::nth_element(sorted.begin(),
                       sorted.begin() + static_cast<std::ptrdiff_t>(sorted.size() / 2),
                       sorted.end());
      const double limit = 4.0 * sorted[sorted.size() / 2];  // (2 x median distance)^2
      for (Idx k = t; k < e; ++k)
        (dist[static_cast<std::size_t>(k - t)] <= limit ? inliers : outliers)
            .push_back(rows[static_cast<std::size_t>(k)]);
    }
    inliers.insert(inliers.end(), outliers.begin(), outliers.end());
    return inliers;
  }

  void split(std::vector<Idx>& order, std::vector<double>& proj, Idx lo, Idx hi) const {
    const Idx size = hi - lo;
    if (size <= kBlock) return;
    const auto at = [&](Idx k) { return p_.row(order[static_cast<std::size_t>(k)]); };
    // The leading principal direction of the segment: power iterations on its covariance,
    // started from the direction between two far-apart points.
    const auto farthest = [&](const double* from) {
      Idx best = lo;
      double best_d = -1;
      for (Idx k = lo; k < hi; ++k)
        if (const double dk = squared_distance(from, at(k), p_.d); dk > best_d) {
          best_d = dk;
          best = k;
        }
      return best;
    };
    Eigen::VectorXd mean = Eigen::VectorXd::Zero(p_.d);
    for (Idx k = lo; k < hi; ++k) mean += Eigen::Map<const Eigen::VectorXd>(at(k), p_.d);
    mean /= static_cast<double>(size);
    const Idx a = farthest(mean.data());
    const Idx b = farthest(at(a));
    Eigen::VectorXd dir = Eigen::Map<const Eigen::VectorXd>(at(b), p_.d) -
                          Eigen::Map<const Eigen::VectorXd>(at(a), p_.d);
    Eigen::VectorXd next(p_.d);
    for (int it = 0; it < 3 && dir.norm() > 0; ++it) {
      // next = sum_k ((x_k - mean) . dir) (x_k - mean)
      dir.normalize();
      const double md = mean.dot(dir);
      next.setZero();
      double total = 0;
      for (Idx k = lo; k < hi; ++k) {
        const double* x = at(k);
        double s = -md;
        for (Idx c = 0; c < p_.d; ++c) s += x[c] * dir[c];
        for (Idx c = 0; c < p_.d; ++c) next[c] += s * x[c];
        total += s;
      }
      dir = next - total * mean;
    }
    for (Idx k = lo; k < hi; ++k)
      proj[static_cast<std::size_t>(order[static_cast<std::size_t>(k)])] =
          Eigen::Map<const Eigen::VectorXd>(at(k), p_.d).dot(dir);
    const Idx blocks = (size + kBlock - 1) / kBlock;
    const Idx mid = lo + (blocks + 1) / 2 * kBlock;
    std::nth_element(order.begin() + lo, order.begin() + mid, order.begin() + hi,
                     [&](Idx u, Idx v) {
                       const double pu = proj[static_cast<std::size_t>(u)];
                       const double pv = proj[static_cast<std::size_t>(v)];
                       return pu < pv || (pu == pv && u < v);
                     });
    split(order, proj, lo, mid);
    split(order, proj, mid, hi);
  }

  // Centre and radius (max distance to the centre) of layout rows [r, r + kBlock) within end.
  struct Ball {
    Eigen::VectorXd centre;
    double radius = 0;
  };
  Ball ball_of(Idx r, Idx end) const {
    const Idx e = std::min(r + kBlock, end);
    Ball b;
    b.centre = Eigen::VectorXd::Zero(p_.d);
    for (Idx k = r; k < e; ++k)
      b.centre +=
          Eigen::Map<const Eigen::VectorXd>(p_.row(lay_.perm[static_cast<std::size_t>(k)]), p_.d);
    b.centre /= static_cast<double>(e - r);
    for (Idx k = r; k < e; ++k)
      b.radius = std::max(b.radius, (Eigen::Map<const Eigen::VectorXd>(
                                         p_.row(lay_.perm[static_cast<std::size_t>(k)]), p_.d) -
                                     b.centre)
                                        .norm());
    return b;
  }

  // Tile origins (i0, j0) covering layout rows [r0, r1) x columns [c0, c1) (upper: only
  // j0 >= i0), less the tiles whose bounding balls are farther apart than the radius (with a
  // relative slack far above the rounding of the centres and radii): no pair of those is within
  // it.
  std::vector<std::pair<Idx, Idx>> tile_pairs(Idx r0, Idx r1, Idx c0, Idx c1, bool upper) const {
    std::vector<Ball> rows, cols;
    for (Idx i = r0; i < r1; i += kBlock) rows.push_back(ball_of(i, r1));
    for (Idx j = c0; j < c1; j += kBlock) cols.push_back(ball_of(j, c1));
    const double eps = std::sqrt(p_.radius2);
    std::vector<std::pair<Idx, Idx>> t;
    for (Idx i = r0, bi = 0; i < r1; i += kBlock, ++bi) {
      const Ball& a = rows[static_cast<std::size_t>(bi)];
      for (Idx j = upper ? i : c0; j < c1; j += kBlock) {
        const Ball& b = cols[static_cast<std::size_t>((j - c0) / kBlock)];
        const double gap = (a.centre - b.centre).norm() - a.radius - b.radius;
        const double slack = 1e-9 * (a.centre.norm() + b.centre.norm() + a.radius + b.radius + eps);
        if (gap > eps + slack) continue;
        t.emplace_back(i, j);
      }
    }
    return t;
  }

  void build_layout(const std::vector<Idx>& order) {
    const Idx n = p_.n, d = p_.d;
    lay_.xf = RowMatrixXf();  // drop the previous copy before making the next
    lay_.perm = order;
    lay_.xf.resize(n, d);
    lay_.sq.assign(static_cast<std::size_t>(n), 0);
    lay_.scaled.assign(static_cast<std::size_t>(n), 0);
    const double sc = std::sqrt(coef_);
#pragma omp parallel for schedule(static) num_threads(threads_)
    for (Idx k = 0; k < n; ++k) {
      const double* src = p_.row(order[static_cast<std::size_t>(k)]);
      float* dst = lay_.xf.row(k).data();
      double s = 0;
      for (Idx c = 0; c < d; ++c) {
        dst[c] = static_cast<float>(src[c] - mean_[c]);
        s += static_cast<double>(dst[c]) * static_cast<double>(dst[c]);
      }
      lay_.sq[static_cast<std::size_t>(k)] = s;
      lay_.scaled[static_cast<std::size_t>(k)] = sc * std::sqrt(s);
    }
  }

  // tile.g [bi, bj] (row stride kBlock) = xf rows [i0, i0 + bi) . xf rows [j0, j0 + bj).
  void dots(Tile& t, Idx i0, Idx bi, Idx j0, Idx bj) const {
    tile_dots_(lay_.xf.row(i0).data(), bi, lay_.xf.row(j0).data(), bj, p_.d, t.bt.data(),
               t.g.data());
  }

  // Calls in(j) for each column j in [js, bj) of tile row i (layout row a) whose pair is within
  // the ball: decided from the float32 distance where it is clear by the error bound, else by
  // the exact sum.
  template <class In>
  void scan_row(Tile& t, Idx i, Idx a, Idx j0, Idx js, Idx bj, In&& in) const {
    const auto ua = static_cast<std::size_t>(a);
    const auto uj = static_cast<std::size_t>(j0 + js);
    if (classify_(t.g.data() + i * kBlock + js, bj - js, lay_.sq[ua], lay_.scaled[ua],
                  lay_.sq.data() + uj, lay_.scaled.data() + uj, p_.radius2, t.flag.data()) == 0)
      return;
    const double* xa = p_.row(lay_.perm[ua]);
    for (Idx j = js; j < bj; ++j) {
      const std::uint8_t f = t.flag[static_cast<std::size_t>(j - js)];
      if (f == 0) continue;
      if (f == 1 || squared_distance(xa, p_.row(lay_.perm[static_cast<std::size_t>(j0 + j)]),
                                     p_.d) <= p_.radius2)
        in(j);
    }
  }

  Points p_;
  int threads_;
  Eigen::VectorXd mean_;
  double coef_ = 0;
  std::vector<Idx> compact_;  // [n] rows in compact_order()
  Layout lay_;
  Idx n_core_ = 0;
  TileDots tile_dots_ = pick_tile_dots();
  Classify classify_ = pick_classify();
};

}  // namespace

std::unique_ptr<Search> make_brute_search(const Points& p, int threads) {
  return std::make_unique<BruteSearch>(p, threads);
}

}  // namespace actlens::core::dbscan_detail
