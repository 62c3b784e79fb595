// Interpolation-based t-SNE repulsion (FIt-SNE: Linderman, Rachh, Hoskins, Steinerberger and
// Kluger 2019, "Fast interpolation-based t-SNE for improved visualization of single-cell
// RNA-seq data"). Our own implementation of the scheme of FIt-SNE's nbodyfft.cpp / openTSNE:
//  - the square [min, max]^dim around the embedding (min and max over all coordinates) is cut
//    into n_boxes intervals per dimension (fft_grid_boxes: max(min_intervals, range /
//    per_integer), rounded up to an FFT-friendly size, capped at kFftMaxPoints FFT points);
//  - every interval holds p equispaced nodes ((k + 1/2) / p of its width), so the grid of
//    n_boxes * p nodes per dimension is equispaced;
//  - the charges q_j = [1, y_j - c] (dim + 1 terms; c the centre of the span) are spread onto the
//    p^dim nodes of the point's box with Lagrange weights, the squared Cauchy kernel
//    K = (1 + r^2)^-2 between all node pairs is applied as a circulant convolution (zero padding
//    to 2 n per dimension, FFTW real-to-complex transforms), and the potentials are interpolated
//    back to the points:  phi_t(i) ~ sum_j K~(y_i, y_j) q_t(j)  (j = i included).
//  - Then neg_i = y_i phi_0(i) - phi_y(i) (the j = i terms cancel exactly), and since
//    w = K (1 + |y_i - y_j|^2),
//      Z = sum_i [(1 + 2 |y_i|^2) phi_0(i) - 2 y_i . phi_y(i) - K~(y_i, y_i)]
//    because K~ is symmetric (spreading and interpolation use the same weights): FIt-SNE's fourth
//    term |y_j|^2 is not needed. FIt-SNE and openTSNE subtract N for the j = i terms; the
//    interpolated K~(y_i, y_i) is not 1 (several % off when the interval is ~1 unit wide), so we
//    subtract what phi_0 actually holds.
//  - When n^2 costs less than the grid (kFftDirectPairsPerGridPoint: small n, or an embedding
//    whose range, during early exaggeration, asks for a large grid), the pairs are summed
//    directly instead: exact, and cheaper there.
// Why the grid is bounded: sklearn's learning rate floor (50) with early exaggeration 12 makes
// small runs (N = 200: range ~500 with the exact gradient too) fling points far out for a while;
// the grid followed the range without a limit and every size's buffers were kept, > 11 GB.
// FFTW plans use FFTW_ESTIMATE (deterministic) and are made when the FFT size changes (only the
// current size is kept); plan creation and destruction are serialised by a global mutex (FFTW's
// planner is not thread-safe). The terms are transformed in parallel, each by the same
// single-threaded plan, and the direct sums go row by row in a fixed order, so the result does
// not depend on the thread count.
#include <fftw3.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <vector>

#include "tsne_internal.hpp"

namespace actlens::core::tsne_detail {

namespace {

std::mutex& fftw_planner_mutex() {
  static std::mutex m;
  return m;
}

// Smallest / largest 2^a 3^b 5^c at least / at most n (n >= 1): sizes FFTW transforms fastest.
bool smooth(int n) {
  for (const int f : {2, 3, 5})
    while (n % f == 0) n /= f;
  return n == 1;
}
int smooth_up(int n) {
  while (!smooth(n)) ++n;
  return n;
}
int smooth_down(int n) {
  while (n > 1 && !smooth(n)) --n;
  return std::max(n, 1);
}

}  // namespace

int fft_grid_boxes(double range, double per_integer, int min_intervals, int p, int dim) {
  // FIt-SNE's FFT-friendly counts below 200 (the same grids as FIt-SNE and openTSNE there).
  static const int kAllowed[] = {25, 36, 50,  55,  60,  65,  70,  75,  80,  85,
                                 90, 96, 100, 110, 120, 130, 140, 150, 175, 200};
  const double wanted = std::max(static_cast<double>(min_intervals), range / per_integer);
  // Nodes per dimension allowed by kFftMaxPoints (the FFT has (2 * nodes)^dim points).
  const double side = std::floor(std::pow(static_cast<double>(kFftMaxPoints), 1.0 / dim) + 1e-9);
  const int max_boxes = smooth_down(std::max(1, static_cast<int>(side) / (2 * p)));
  if (!(wanted < max_boxes)) return max_boxes;          // also catches a NaN range
  const int n = std::max(1, static_cast<int>(wanted));  // FIt-SNE truncates
  if (n <= 200) {
    for (const int a : kAllowed)
      if (a >= n) return std::min(a, max_boxes);
  }
  return std::min(smooth_up(n), max_boxes);
}

namespace {

// Buffers and plans for one FFT size (nf per dimension). In 2-D the charges fill only the first
// ng = nf / 2 rows and columns and only those potentials are needed, so the transforms are split
// by dimension and the row passes skip the zero rows (forward) and the unused rows (inverse).
struct FftSize {
  int nf = 0;
  int dim = 0;
  int ng = 0;
  int nh = 0;                 // nf / 2 + 1
  std::size_t n_real = 0;     // 1-D: nf; 2-D: ng rows of nf
  std::size_t n_complex = 0;  // 1-D: nh; 2-D: nf rows of nh
  double* kernel = nullptr;   // nf^dim
  fftw_complex* kernel_hat = nullptr;
  std::vector<double> kernel_real;  // real part of kernel_hat (the kernel is even: real spectrum)
  std::vector<double*> in;
  std::vector<fftw_complex*> out;
  fftw_plan kernel_plan = nullptr, forward = nullptr, backward = nullptr;
  fftw_plan col_forward = nullptr, col_backward = nullptr;

  FftSize(int nf_, int dim_, int n_terms) : nf(nf_), dim(dim_), ng(nf_ / 2), nh(nf_ / 2 + 1) {
    const std::size_t full_real =
        dim == 1 ? static_cast<std::size_t>(nf) : static_cast<std::size_t>(nf) * nf;
    n_real = dim == 1 ? static_cast<std::size_t>(nf) : static_cast<std::size_t>(ng) * nf;
    n_complex = (dim == 1 ? 1 : static_cast<std::size_t>(nf)) * static_cast<std::size_t>(nh);
    kernel_real.resize(n_complex);
    std::lock_guard<std::mutex> lock(fftw_planner_mutex());
    kernel = fftw_alloc_real(full_real);
    kernel_hat = fftw_alloc_complex(n_complex);
    for (int t = 0; t < n_terms; ++t) {
      in.push_back(fftw_alloc_real(n_real));
      out.push_back(fftw_alloc_complex(n_complex));
    }
    if (dim == 1) {
      kernel_plan = fftw_plan_dft_r2c_1d(nf, kernel, kernel_hat, FFTW_ESTIMATE);
      forward = fftw_plan_dft_r2c_1d(nf, in[0], out[0], FFTW_ESTIMATE);
      backward = fftw_plan_dft_c2r_1d(nf, out[0], in[0], FFTW_ESTIMATE);
    } else {
      kernel_plan = fftw_plan_dft_r2c_2d(nf, nf, kernel, kernel_hat, FFTW_ESTIMATE);
      // Rows 0..ng-1: real -> half spectrum along the last dimension.
      forward = fftw_plan_many_dft_r2c(1, &nf, ng, in[0], nullptr, 1, nf, out[0], nullptr, 1, nh,
                                       FFTW_ESTIMATE);
      // Every one of the nh columns, length nf, in place.
      col_forward = fftw_plan_many_dft(1, &nf, nh, out[0], nullptr, nh, 1, out[0], nullptr, nh, 1,
                                       FFTW_FORWARD, FFTW_ESTIMATE);
      col_backward = fftw_plan_many_dft(1, &nf, nh, out[0], nullptr, nh, 1, out[0], nullptr, nh, 1,
                                        FFTW_BACKWARD, FFTW_ESTIMATE);
      // Rows 0..ng-1 back to real.
      backward = fftw_plan_many_dft_c2r(1, &nf, ng, out[0], nullptr, 1, nh, in[0], nullptr, 1, nf,
                                        FFTW_ESTIMATE);
    }
  }
  ~FftSize() {
    std::lock_guard<std::mutex> lock(fftw_planner_mutex());
    for (fftw_plan pl : {kernel_plan, forward, backward, col_forward, col_backward})
      if (pl) fftw_destroy_plan(pl);
    fftw_free(kernel);
    fftw_free(kernel_hat);
    for (double* p : in) fftw_free(p);
    for (fftw_complex* p : out) fftw_free(p);
  }
  FftSize(const FftSize&) = delete;
  FftSize& operator=(const FftSize&) = delete;

  // Circular convolution of term t's grid (in[t]) with the kernel; the result replaces in[t].
  void convolve(int t) {
    double* grid = in[static_cast<std::size_t>(t)];
    fftw_complex* spec = out[static_cast<std::size_t>(t)];
    const double scale = 1.0 / (dim == 1 ? static_cast<double>(nf)
                                         : static_cast<double>(nf) * static_cast<double>(nf));
    fftw_execute_dft_r2c(forward, grid, spec);
    if (dim == 2) {
      double* flat = reinterpret_cast<double*>(spec);
      std::fill(flat + 2 * static_cast<std::size_t>(ng) * nh, flat + 2 * n_complex, 0.0);
      fftw_execute_dft(col_forward, spec, spec);
    }
    for (std::size_t c = 0; c < n_complex; ++c) {
      const double k = kernel_real[c] * scale;
      spec[c][0] *= k;
      spec[c][1] *= k;
    }
    if (dim == 2) fftw_execute_dft(col_backward, spec, spec);
    fftw_execute_dft_c2r(backward, spec, grid);
  }
};

}  // namespace

struct FftRepulsion::Impl {
  std::int64_t n;
  int dim;
  int p;
  int min_intervals;
  double per_integer;
  int threads;
  int n_terms;
  bool allow_direct;
  int last_boxes = -1;
  // Only the current size is kept: sizes change with the embedding's range, and keeping every
  // size seen made memory grow without bound while the range wandered.
  std::unique_ptr<FftSize> fs;
  std::vector<std::int32_t> box;     // [n, dim] box index per dimension
  std::vector<double> weights;       // [n, dim, p] Lagrange weights
  std::vector<double> charges;       // [n, n_terms]: 1, y - centre
  std::vector<double> denominators;  // [p]
  std::vector<double> nodes;         // [p] relative node positions in an interval
  std::vector<double> local_kernel;  // [(2p - 1)^dim] kernel at node offsets -(p-1)..p-1
  std::vector<double> zrow;          // [n]

  FftSize& plan(int nf) {
    if (!fs || fs->nf != nf) {
      fs.reset();
      fs = std::make_unique<FftSize>(nf, dim, n_terms);
    }
    return *fs;
  }

  double compute(const double* y, double* neg);
  double direct(const double* y, double* neg);
  void set_kernel(FftSize& f, double h);
  void spread_and_convolve(FftSize& f, const double* y, double lo, double box_w, int n_boxes,
                           const double* centre);
  double interpolate(const FftSize& f, const double* y, const double* centre, double* neg);
  double self_interaction(std::int64_t i) const;
};

FftRepulsion::FftRepulsion(std::int64_t n, int dim, int n_interp, int min_intervals,
                           double per_integer, int threads, bool allow_direct)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.n = n;
  m.dim = dim;
  m.p = n_interp;
  m.min_intervals = min_intervals;
  m.per_integer = per_integer;
  m.threads = threads;
  m.n_terms = dim + 1;
  m.allow_direct = allow_direct;
  m.box.resize(static_cast<std::size_t>(n * dim));
  m.weights.resize(static_cast<std::size_t>(n * dim * n_interp));
  m.charges.resize(static_cast<std::size_t>(n * m.n_terms));
  m.zrow.resize(static_cast<std::size_t>(n));
  m.nodes.resize(static_cast<std::size_t>(n_interp));
  m.denominators.resize(static_cast<std::size_t>(n_interp));
  for (int k = 0; k < n_interp; ++k) m.nodes[static_cast<std::size_t>(k)] = (k + 0.5) / n_interp;
  for (int k = 0; k < n_interp; ++k) {
    double d = 1;
    for (int l = 0; l < n_interp; ++l)
      if (l != k) d *= m.nodes[static_cast<std::size_t>(k)] - m.nodes[static_cast<std::size_t>(l)];
    m.denominators[static_cast<std::size_t>(k)] = d;
  }
}

FftRepulsion::~FftRepulsion() = default;

double FftRepulsion::compute(const double* y, double* neg) {
  return impl_->compute(y, neg);
}

int FftRepulsion::last_boxes() const {
  return impl_->last_boxes;
}

double FftRepulsion::Impl::compute(const double* y, double* neg) {
  const int d = dim;
  const std::int64_t total = n * d;
  double lo = std::numeric_limits<double>::infinity();
  double hi = -lo;
  for (std::int64_t i = 0; i < total; ++i) {
    lo = std::min(lo, y[i]);
    hi = std::max(hi, y[i]);
  }
  double range = hi - lo;
  if (!(range > 0)) range = 1e-12;
  const int n_boxes = fft_grid_boxes(range, per_integer, min_intervals, p, d);
  const int nf = 2 * n_boxes * p;  // FFT length per dimension
  // The grid's transforms cost more than n^2 kernel evaluations: sum the pairs directly (exact).
  // This is the case for small n, and for an embedding whose range (an outlier flung out in the
  // early-exaggeration phase, say) asks for a large grid.
  const double grid_points = d == 1 ? nf : static_cast<double>(nf) * nf;
  if (allow_direct && static_cast<double>(n) * static_cast<double>(n) <=
                          kFftDirectPairsPerGridPoint * grid_points) {
    last_boxes = 0;
    return direct(y, neg);
  }
  last_boxes = n_boxes;
  // Charges and forces are taken relative to the centre of each dimension's span: the formulas
  // below subtract terms that grow as |y|^2, and centring keeps |y| at most range / 2.
  double centre[2] = {0, 0};
  for (int k = 0; k < d; ++k) {
    double a = std::numeric_limits<double>::infinity(), b = -a;
    for (std::int64_t i = 0; i < n; ++i) {
      a = std::min(a, y[i * d + k]);
      b = std::max(b, y[i * d + k]);
    }
    centre[k] = 0.5 * (a + b);
  }
  const double box_w = range / n_boxes;
  FftSize& f = plan(nf);
  set_kernel(f, box_w / p);
  spread_and_convolve(f, y, lo, box_w, n_boxes, centre);
  return interpolate(f, y, centre, neg);
}

double FftRepulsion::Impl::direct(const double* y, double* neg) {
  const int d = dim;
  const std::int64_t nn = n;
#pragma omp parallel for schedule(static) num_threads(threads)
  for (std::int64_t i = 0; i < nn; ++i) {
    double f[2] = {0, 0};
    double s = 0;
    const double* yi = y + i * d;
    for (std::int64_t j = 0; j < nn; ++j) {
      if (j == i) continue;
      const double* yj = y + j * d;
      double diff[2] = {0, 0};
      double d2 = 0;
      for (int k = 0; k < d; ++k) {
        diff[k] = yi[k] - yj[k];
        d2 += diff[k] * diff[k];
      }
      const double w = 1.0 / (1.0 + d2);
      s += w;
      for (int k = 0; k < d; ++k) f[k] += w * w * diff[k];
    }
    for (int k = 0; k < d; ++k) neg[i * d + k] = f[k];
    zrow[static_cast<std::size_t>(i)] = s;
  }
  double z = 0;
  for (std::int64_t i = 0; i < nn; ++i) z += zrow[static_cast<std::size_t>(i)];
  return z;
}

// Kernel on node offsets, embedded in a circulant of length nf per dimension, and its spectrum;
// also the kernel between the nodes of one interval (local_kernel), for the self-interactions.
void FftRepulsion::Impl::set_kernel(FftSize& f, double h) {
  const int nf = f.nf;
  const int ng = f.ng;
  auto kern = [&](double oa, double ob) {
    const double k = 1.0 / (1.0 + (oa * oa + ob * ob) * h * h);
    return k * k;
  };
  auto offset = [&](int idx) { return idx < ng ? idx : (idx > ng ? nf - idx : -1); };
  if (dim == 1) {
    for (int a = 0; a < nf; ++a) {
      const int oa = offset(a);
      f.kernel[a] = oa < 0 ? 0.0 : kern(oa, 0);
    }
  } else {
    for (int a = 0; a < nf; ++a) {
      const int oa = offset(a);
      for (int b = 0; b < nf; ++b) {
        const int ob = offset(b);
        f.kernel[static_cast<std::size_t>(a) * nf + b] = (oa < 0 || ob < 0) ? 0.0 : kern(oa, ob);
      }
    }
  }
  fftw_execute(f.kernel_plan);
  for (std::size_t c = 0; c < f.n_complex; ++c) f.kernel_real[c] = f.kernel_hat[c][0];
  const int w = 2 * p - 1;
  local_kernel.assign(static_cast<std::size_t>(dim == 1 ? w : w * w), 0.0);
  for (int a = 0; a < w; ++a) {
    if (dim == 1) {
      local_kernel[static_cast<std::size_t>(a)] = kern(a - (p - 1), 0);
      continue;
    }
    for (int b = 0; b < w; ++b)
      local_kernel[static_cast<std::size_t>(a * w + b)] = kern(a - (p - 1), b - (p - 1));
  }
}

// Boxes, Lagrange weights and charges per point, then per term: spread (sequential over points:
// a fixed order), FFT, multiply, inverse FFT.
void FftRepulsion::Impl::spread_and_convolve(FftSize& f, const double* y, double lo, double box_w,
                                             int n_boxes, const double* centre) {
  const int d = dim;
  const std::int64_t nn = n;
  const int pp = p;
  const int nt = n_terms;
  const int nf = f.nf;
#pragma omp parallel for schedule(static) num_threads(threads)
  for (std::int64_t i = 0; i < nn; ++i) {
    for (int k = 0; k < d; ++k) {
      const double v = y[i * d + k];
      const double u = (v - lo) / box_w;
      int b = static_cast<int>(u);
      b = std::clamp(b, 0, n_boxes - 1);
      box[static_cast<std::size_t>(i * d + k)] = b;
      const double rel = u - b;
      double* w = &weights[static_cast<std::size_t>((i * d + k) * pp)];
      for (int a = 0; a < pp; ++a) {
        double num = 1;
        for (int l = 0; l < pp; ++l)
          if (l != a) num *= rel - nodes[static_cast<std::size_t>(l)];
        w[a] = num / denominators[static_cast<std::size_t>(a)];
      }
    }
    double* q = &charges[static_cast<std::size_t>(i * nt)];
    q[0] = 1;
    for (int k = 0; k < d; ++k) q[1 + k] = y[i * d + k] - centre[k];
  }
#pragma omp parallel for schedule(static, 1) num_threads(threads)
  for (int t = 0; t < nt; ++t) {
    double* grid = f.in[static_cast<std::size_t>(t)];
    std::fill(grid, grid + f.n_real, 0.0);
    for (std::int64_t i = 0; i < nn; ++i) {
      const double q = charges[static_cast<std::size_t>(i * nt + t)];
      if (d == 1) {
        const int g0 = box[static_cast<std::size_t>(i)] * pp;
        const double* w = &weights[static_cast<std::size_t>(i * pp)];
        for (int a = 0; a < pp; ++a) grid[g0 + a] += w[a] * q;
      } else {
        const int gx = box[static_cast<std::size_t>(i * 2)] * pp;
        const int gy = box[static_cast<std::size_t>(i * 2 + 1)] * pp;
        const double* wx = &weights[static_cast<std::size_t>((i * 2) * pp)];
        const double* wy = &weights[static_cast<std::size_t>((i * 2 + 1) * pp)];
        for (int a = 0; a < pp; ++a) {
          const double qa = wx[a] * q;
          double* row = grid + static_cast<std::size_t>(gx + a) * nf + gy;
          for (int b = 0; b < pp; ++b) row[b] += qa * wy[b];
        }
      }
    }
    f.convolve(t);
  }
}

// The interpolated kernel between point i and itself, sum_{a,b} W_ia K(node_a - node_b) W_ib:
// the j = i term that phi_0(i) holds instead of the exact K(0) = 1. The weights' products are
// gathered by node offset first (autocorrelations), so the cost is (2p - 1)^dim, not p^(2 dim).
double FftRepulsion::Impl::self_interaction(std::int64_t i) const {
  const int w = 2 * p - 1;
  double u[2][31];  // p <= 16
  for (int k = 0; k < dim; ++k) {
    const double* wt = &weights[static_cast<std::size_t>((i * dim + k) * p)];
    for (int o = 0; o < w; ++o) u[k][o] = 0;
    for (int a = 0; a < p; ++a)
      for (int b = 0; b < p; ++b) u[k][a - b + p - 1] += wt[a] * wt[b];
  }
  double s = 0;
  for (int a = 0; a < w; ++a) {
    if (dim == 1) {
      s += u[0][a] * local_kernel[static_cast<std::size_t>(a)];
      continue;
    }
    double sa = 0;
    for (int b = 0; b < w; ++b) sa += u[1][b] * local_kernel[static_cast<std::size_t>(a * w + b)];
    s += u[0][a] * sa;
  }
  return s;
}

// Interpolates the potentials back to the points and forms the forces and Z (see the top).
double FftRepulsion::Impl::interpolate(const FftSize& f, const double* y, const double* centre,
                                       double* neg) {
  const int d = dim;
  const std::int64_t nn = n;
  const int pp = p;
  const int nt = n_terms;
  const int nf = f.nf;
#pragma omp parallel for schedule(static) num_threads(threads)
  for (std::int64_t i = 0; i < nn; ++i) {
    double phi[3] = {0, 0, 0};
    if (d == 1) {
      const int g0 = box[static_cast<std::size_t>(i)] * pp;
      const double* w = &weights[static_cast<std::size_t>(i * pp)];
      for (int t = 0; t < nt; ++t) {
        const double* grid = f.in[static_cast<std::size_t>(t)];
        double s = 0;
        for (int a = 0; a < pp; ++a) s += w[a] * grid[g0 + a];
        phi[t] = s;
      }
    } else {
      const int gx = box[static_cast<std::size_t>(i * 2)] * pp;
      const int gy = box[static_cast<std::size_t>(i * 2 + 1)] * pp;
      const double* wx = &weights[static_cast<std::size_t>((i * 2) * pp)];
      const double* wy = &weights[static_cast<std::size_t>((i * 2 + 1) * pp)];
      for (int t = 0; t < nt; ++t) {
        const double* grid = f.in[static_cast<std::size_t>(t)];
        double s = 0;
        for (int a = 0; a < pp; ++a) {
          const double* row = grid + static_cast<std::size_t>(gx + a) * nf + gy;
          double sa = 0;
          for (int b = 0; b < pp; ++b) sa += wy[b] * row[b];
          s += wx[a] * sa;
        }
        phi[t] = s;
      }
    }
    double r2 = 0, dot = 0;
    for (int k = 0; k < d; ++k) {
      const double v = y[i * d + k] - centre[k];
      r2 += v * v;
      dot += v * phi[1 + k];
      neg[i * d + k] = v * phi[0] - phi[1 + k];
    }
    zrow[static_cast<std::size_t>(i)] = (1 + 2 * r2) * phi[0] - 2 * dot - self_interaction(i);
  }
  double z = 0;
  for (std::int64_t i = 0; i < nn; ++i) z += zrow[static_cast<std::size_t>(i)];
  return z;
}

}  // namespace actlens::core::tsne_detail
