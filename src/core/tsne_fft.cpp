// Interpolation-based t-SNE repulsion (FIt-SNE: Linderman, Rachh, Hoskins, Steinerberger and
// Kluger 2019, "Fast interpolation-based t-SNE for improved visualization of single-cell
// RNA-seq data"). Our own implementation of the scheme of FIt-SNE's nbodyfft.cpp / openTSNE:
//  - the square [min, max]^dim around the embedding (min and max over all coordinates) is cut
//    into n_boxes intervals per dimension, n_boxes = max(min_intervals, range * per_integer)
//    rounded up to an FFT-friendly size (FIt-SNE's list, below 200);
//  - every interval holds p equispaced nodes ((k + 1/2) / p of its width), so the grid of
//    n_boxes * p nodes per dimension is equispaced;
//  - the charges q_j = [1, y_j] (dim + 1 terms) are spread onto the p^dim nodes of the
//    point's box with Lagrange weights, the squared Cauchy kernel K = (1 + r^2)^-2 between all
//    node pairs is applied as a circulant convolution (zero padding to 2 n per dimension, FFTW
//    real-to-complex transforms), and the potentials are interpolated back to the points:
//      phi_t(i) ~ sum_j K(y_i, y_j) q_t(j)  (j = i included, K = 1).
//  - Then neg_i = y_i phi_0(i) - phi_y(i), and since w = K (1 + |y_i - y_j|^2),
//      Z = sum_i [(1 + |y_i|^2) phi_0(i) - 2 y_i . phi_y(i) + sum_j K_ij |y_j|^2] - N
//        = sum_i [(1 + 2 |y_i|^2) phi_0(i) - 2 y_i . phi_y(i)] - N
//    because K is symmetric (so is its interpolated approximation: spreading and interpolation
//    use the same weights): FIt-SNE's fourth term |y_j|^2 is not needed.
// FFTW plans use FFTW_ESTIMATE (deterministic) and are made once per FFT size; plan creation
// and destruction are serialised by a global mutex (FFTW's planner is not thread-safe). The
// terms are transformed in parallel, each by the same single-threaded plan, so the result does
// not depend on the thread count.
#include <fftw3.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <limits>
#include <map>
#include <mutex>
#include <vector>

#include "tsne_internal.hpp"

namespace actlens::core::tsne_detail {

namespace {

std::mutex& fftw_planner_mutex() {
  static std::mutex m;
  return m;
}

int round_boxes(int n_boxes) {
  static const int kAllowed[] = {25, 36, 50,  55,  60,  65,  70,  75,  80,  85,
                                 90, 96, 100, 110, 120, 130, 140, 150, 175, 200};
  if (n_boxes >= 200) return n_boxes;
  for (const int a : kAllowed)
    if (a >= n_boxes) return a;
  return n_boxes;
}

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
  std::map<int, std::unique_ptr<FftSize>> sizes;
  std::vector<std::int32_t> box;     // [n, dim] box index per dimension
  std::vector<double> weights;       // [n, dim, p] Lagrange weights
  std::vector<double> charges;       // [n, n_terms]: 1, y
  std::vector<double> potentials;    // [n, n_terms]
  std::vector<double> denominators;  // [p]
  std::vector<double> nodes;         // [p] relative node positions in an interval
  std::vector<double> zrow;          // [n]

  FftSize& plan(int nf) {
    auto it = sizes.find(nf);
    if (it == sizes.end())
      it = sizes.emplace(nf, std::make_unique<FftSize>(nf, dim, n_terms)).first;
    return *it->second;
  }

  double compute(const double* y, double* neg);
};

FftRepulsion::FftRepulsion(std::int64_t n, int dim, int n_interp, int min_intervals,
                           double per_integer, int threads)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.n = n;
  m.dim = dim;
  m.p = n_interp;
  m.min_intervals = min_intervals;
  m.per_integer = per_integer;
  m.threads = threads;
  m.n_terms = dim + 1;
  m.box.resize(static_cast<std::size_t>(n * dim));
  m.weights.resize(static_cast<std::size_t>(n * dim * n_interp));
  m.charges.resize(static_cast<std::size_t>(n * m.n_terms));
  m.potentials.resize(static_cast<std::size_t>(n * m.n_terms));
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
  const double by_range = range / per_integer;
  const int n_boxes = round_boxes(
      static_cast<int>(std::max(static_cast<double>(min_intervals), std::min(by_range, 1e6))));
  const double box_w = range / n_boxes;
  const int ng = n_boxes * p;  // nodes per dimension
  const int nf = 2 * ng;       // FFT length per dimension
  const double h = box_w / p;  // node spacing
  FftSize& fs = plan(nf);

  // Kernel on node offsets, embedded in a circulant of length nf per dimension.
  auto offset = [&](int idx) { return idx < ng ? idx : (idx > ng ? nf - idx : -1); };
  if (d == 1) {
    for (int a = 0; a < nf; ++a) {
      const int oa = offset(a);
      const double r2 = static_cast<double>(oa) * oa * h * h;
      const double k = 1.0 / (1.0 + r2);
      fs.kernel[a] = oa < 0 ? 0.0 : k * k;
    }
  } else {
    for (int a = 0; a < nf; ++a) {
      const int oa = offset(a);
      for (int b = 0; b < nf; ++b) {
        const int ob = offset(b);
        const double r2 = (static_cast<double>(oa) * oa + static_cast<double>(ob) * ob) * h * h;
        const double k = 1.0 / (1.0 + r2);
        fs.kernel[static_cast<std::size_t>(a) * nf + b] = (oa < 0 || ob < 0) ? 0.0 : k * k;
      }
    }
  }
  fftw_execute(fs.kernel_plan);
  for (std::size_t c = 0; c < fs.n_complex; ++c) fs.kernel_real[c] = fs.kernel_hat[c][0];

  // Boxes, Lagrange weights and charges per point.
  const std::int64_t nn = n;
  const int pp = p;
  const int nt = n_terms;
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
    for (int k = 0; k < d; ++k) q[1 + k] = y[i * d + k];
  }

  // Per term: spread (sequential over points: a fixed order), FFT, multiply, inverse FFT.
#pragma omp parallel for schedule(static, 1) num_threads(threads)
  for (int t = 0; t < nt; ++t) {
    double* grid = fs.in[static_cast<std::size_t>(t)];
    std::fill(grid, grid + fs.n_real, 0.0);
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
    fs.convolve(t);
  }

  // Interpolate the potentials back to the points and form the forces.
#pragma omp parallel for schedule(static) num_threads(threads)
  for (std::int64_t i = 0; i < nn; ++i) {
    double phi[4] = {0, 0, 0, 0};
    if (d == 1) {
      const int g0 = box[static_cast<std::size_t>(i)] * pp;
      const double* w = &weights[static_cast<std::size_t>(i * pp)];
      for (int t = 0; t < nt; ++t) {
        const double* grid = fs.in[static_cast<std::size_t>(t)];
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
        const double* grid = fs.in[static_cast<std::size_t>(t)];
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
      const double v = y[i * d + k];
      r2 += v * v;
      dot += v * phi[1 + k];
      neg[i * d + k] = v * phi[0] - phi[1 + k];
    }
    zrow[static_cast<std::size_t>(i)] = (1 + 2 * r2) * phi[0] - 2 * dot;
  }
  double z = 0;
  for (std::int64_t i = 0; i < nn; ++i) z += zrow[static_cast<std::size_t>(i)];
  return z - static_cast<double>(nn);
}

}  // namespace actlens::core::tsne_detail
