#pragma once
// Private pieces of core/tsne.cpp: the repulsive-force engines of the Barnes-Hut and FIt-SNE
// gradients. Both compute, for an embedding y [n, dim] (row-major, flat),
//   neg[i] = sum_{j != i} w_ij^2 (y_i - y_j)        (unnormalised repulsion, [n, dim])
//   Z      = sum_{i != j} w_ij                      (returned)
// with w_ij = (1 + |y_i - y_j|^2 / dof)^(-(dof + 1) / 2), dof = max(dim - 1, 1) (sklearn's
// Barnes-Hut uses w^2 for the repulsion whatever dof is; so do we). Results are deterministic
// and independent of the thread count.
#include <cstdint>
#include <memory>
#include <vector>

namespace actlens::core::tsne_detail {

// Number of OpenMP threads for n_threads (0 = the OpenMP default).
int resolve_threads(int n_threads);

class BarnesHutRepulsion {
 public:
  // dim in [1, 3]; theta in [0, 1].
  BarnesHutRepulsion(std::int64_t n, int dim, double theta, int threads);
  ~BarnesHutRepulsion();
  BarnesHutRepulsion(const BarnesHutRepulsion&) = delete;
  BarnesHutRepulsion& operator=(const BarnesHutRepulsion&) = delete;
  double compute(const double* y, double* neg);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// FFT-interpolation grid limits. The grid of an embedding that spans `range` (max - min over all
// coordinates) has fft_grid_boxes() intervals per dimension: max(min_intervals,
// range / per_integer) (truncated, as FIt-SNE), rounded up to FIt-SNE's FFT-friendly counts up to
// 200 and to the next 2^a 3^b 5^c above, and capped so that the FFT, (2 p boxes)^dim points,
// has at most kFftMaxPoints (2-D: 2048^2 points, ~235 MB of buffers; 341 intervals at p = 3).
// Past the cap the intervals are wider than 1 / per_integer and the interpolation is coarser
// (its error grows as the interval width to the power p); the direct sum (below) takes over
// before that for n up to ~5800, and wider embeddings than 341 units at larger n are not seen
// in practice (the early-exaggeration spread of sklearn's settings shrinks as n grows).
inline constexpr double kFftMaxPoints = 4194304.0;  // 2^22
int fft_grid_boxes(double range, double per_integer, int min_intervals, int p, int dim);
// The repulsion is summed directly over all pairs (exact, O(n^2)) when n^2 is at most this many
// times the FFT's point count: measured on one core, a grid point (spreading, d + 1 forward and
// inverse transforms, interpolation) costs ~55 ns, an ordered pair ~7 ns. So n up to ~850 on the
// smallest default grid (50 intervals, 300^2 points), and any n up to ~5800 once the range asks
// for the largest grid, runs exactly; the interpolation's error (several % of Z while a tight
// cluster holds most pairs, as in the early exaggeration of small runs) never applies there.
inline constexpr double kFftDirectPairsPerGridPoint = 8.0;

class FftRepulsion {
 public:
  // dim in [1, 2]; n_interp in [1, 16] nodes per interval; min_intervals >= 1; per_integer > 0.
  // allow_direct = false always interpolates (tests of the interpolation itself).
  FftRepulsion(std::int64_t n, int dim, int n_interp, int min_intervals, double per_integer,
               int threads, bool allow_direct = true);
  ~FftRepulsion();
  FftRepulsion(const FftRepulsion&) = delete;
  FftRepulsion& operator=(const FftRepulsion&) = delete;
  double compute(const double* y, double* neg);
  // Intervals per dimension of the last compute(); 0 when it summed the pairs directly.
  int last_boxes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace actlens::core::tsne_detail
