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

class FftRepulsion {
 public:
  // dim in [1, 2]; n_interp >= 1 nodes per interval; min_intervals >= 1; per_integer > 0.
  FftRepulsion(std::int64_t n, int dim, int n_interp, int min_intervals, double per_integer,
               int threads);
  ~FftRepulsion();
  FftRepulsion(const FftRepulsion&) = delete;
  FftRepulsion& operator=(const FftRepulsion&) = delete;
  double compute(const double* y, double* neg);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace actlens::core::tsne_detail
