// t-SNE (see tsne.hpp): input similarities, initialisation, sklearn's optimiser, the exact
// gradient and KL divergence, and trustworthiness. The tree and FFT repulsions live in
// tsne_bh.cpp and tsne_fft.cpp.
#include "actlens/core/tsne.hpp"

#include <omp.h>

#include <algorithm>
#include <array>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <numbers>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "actlens/core/pca.hpp"
#include "tsne_internal.hpp"

namespace actlens::core {

namespace {

using tsne_detail::resolve_threads;

constexpr double kMachineEps = std::numeric_limits<double>::epsilon();
constexpr int kCheckEvery = 50;  // sklearn's _N_ITER_CHECK

std::string num(double v) {
  std::string s = std::to_string(v);
  // Trim trailing zeros of std::to_string's fixed notation ("30.000000" -> "30").
  if (s.find('.') != std::string::npos) {
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
  }
  return s;
}

[[noreturn]] void bad(const std::string& what) {
  throw std::invalid_argument("t-SNE: " + what);
}

// sklearn's _binary_search_perplexity for one row: `d` holds m float32 squared distances; `self`
// is the index to leave out (the exact method's diagonal) or -1. Writes the conditional
// probabilities to `out` (out[self] = 0).
void binary_search_row(const float* d, std::int64_t m, std::int64_t self, double desired_entropy,
                       double* out) {
  constexpr int kSteps = 100;
  const double tol = static_cast<double>(1e-5f);      // sklearn: cdef float PERPLEXITY_TOLERANCE
  const double eps_dbl = static_cast<double>(1e-8f);  // sklearn: cdef float EPSILON_DBL
  double beta = 1.0;
  double beta_min = -std::numeric_limits<double>::infinity();
  double beta_max = std::numeric_limits<double>::infinity();
  for (std::int64_t j = 0; j < m; ++j) out[j] = 0;
  for (int step = 0; step < kSteps; ++step) {
    double sum_p = 0;
    for (std::int64_t j = 0; j < m; ++j) {
      if (j == self) continue;
      out[j] = std::exp(static_cast<double>(-d[j]) * beta);
      sum_p += out[j];
    }
    if (sum_p == 0.0) sum_p = eps_dbl;
    double sum_dp = 0;
    for (std::int64_t j = 0; j < m; ++j) {
      out[j] /= sum_p;
      sum_dp += static_cast<double>(d[j]) * out[j];
    }
    const double entropy = std::log(sum_p) + beta * sum_dp;
    const double diff = entropy - desired_entropy;
    if (std::fabs(diff) <= tol) break;
    if (diff > 0.0) {
      beta_min = beta;
      beta = beta_max == std::numeric_limits<double>::infinity() ? beta * 2.0
                                                                 : (beta + beta_max) / 2.0;
    } else {
      beta_max = beta;
      beta = beta_min == -std::numeric_limits<double>::infinity() ? beta / 2.0
                                                                  : (beta + beta_min) / 2.0;
    }
  }
}

double desired_entropy(double perplexity) {
  // sklearn passes the perplexity as a C float.
  return std::log(static_cast<double>(static_cast<float>(perplexity)));
}

double sq_dist(const double* a, const double* b, Eigen::Index d) {
  double s = 0;
  for (Eigen::Index k = 0; k < d; ++k) {
    const double t = a[k] - b[k];
    s += t * t;
  }
  return s;
}

// Row i of a row-major Ref (its outer stride may exceed the number of columns).
const double* row_ptr(const Eigen::Ref<const RowMatrixXd>& m, Eigen::Index i) {
  return m.data() + i * m.outerStride();
}

void check_perplexity(double perplexity, Eigen::Index n) {
  if (n < 2) bad("needs at least 2 samples, got " + std::to_string(n));
  if (!(perplexity > 0) || !std::isfinite(perplexity))
    bad("perplexity " + num(perplexity) + " must be > 0");
  if (perplexity >= static_cast<double>(n))
    bad("perplexity " + num(perplexity) + " must be < the number of samples " + std::to_string(n));
}

// ---------------------------------------------------------------------------------------------
// Objectives: error (KL with the current, possibly exaggerated, P; NaN when not asked) and the
// gradient [N * dim].

struct DenseObjective {
  const RowMatrixXd& p;  // [N, N]
  int dim;
  int threads;
  std::vector<double> zrow;

  double operator()(const std::vector<double>& y, std::vector<double>& grad, double exag,
                    bool want_error) {
    const Eigen::Index n = p.rows();
    const int d = dim;
    const double dof = std::max(d - 1, 1);
    const double expo = (dof + 1.0) / -2.0;
    const double c = 2.0 * (dof + 1.0) / dof;
    auto w_of = [&](double d2) {
      return dof == 1.0 ? 1.0 / (1.0 + d2) : std::pow(1.0 + d2 / dof, expo);
    };
    zrow.assign(static_cast<std::size_t>(n), 0.0);
#pragma omp parallel for schedule(static) num_threads(threads)
    for (Eigen::Index i = 0; i < n; ++i) {
      double s = 0;
      for (Eigen::Index j = 0; j < n; ++j) {
        if (j == i) continue;
        s += w_of(
            sq_dist(&y[static_cast<std::size_t>(i * d)], &y[static_cast<std::size_t>(j * d)], d));
      }
      zrow[static_cast<std::size_t>(i)] = s;
    }
    double z = 0;
    for (Eigen::Index i = 0; i < n; ++i) z += zrow[static_cast<std::size_t>(i)];
    z = std::max(z, kMachineEps);
    std::vector<double>& err = zrow;  // reused per row
#pragma omp parallel for schedule(static) num_threads(threads)
    for (Eigen::Index i = 0; i < n; ++i) {
      double g[3] = {0, 0, 0};
      std::vector<double> gl;
      double* gp = g;
      if (d > 3) {
        gl.assign(static_cast<std::size_t>(d), 0.0);
        gp = gl.data();
      }
      double e = 0;
      const double* yi = &y[static_cast<std::size_t>(i * d)];
      for (Eigen::Index j = 0; j < n; ++j) {
        if (j == i) continue;
        const double* yj = &y[static_cast<std::size_t>(j * d)];
        const double w = w_of(sq_dist(yi, yj, d));
        const double q = w / z;
        const double pij = exag * p(i, j);
        const double m = (pij - q) * w;
        for (int k = 0; k < d; ++k) gp[k] += m * (yi[k] - yj[k]);
        if (want_error) e += pij * std::log(std::max(pij, kMachineEps) / std::max(q, kMachineEps));
      }
      for (int k = 0; k < d; ++k) grad[static_cast<std::size_t>(i * d + k)] = c * gp[k];
      err[static_cast<std::size_t>(i)] = e;
    }
    if (!want_error) return std::numeric_limits<double>::quiet_NaN();
    double kl = 0;
    for (Eigen::Index i = 0; i < n; ++i) kl += err[static_cast<std::size_t>(i)];
    return kl;
  }
};

// Attractive forces from the sparse P and (optionally) the KL estimate with the approximate Z,
// as sklearn's compute_gradient_positive; grad = c (attraction - neg / Z).
template <int D, bool Error>
double sparse_forces(const SparseJointP& p, const double* y, const double* neg, double z,
                     double exag, double* grad, double* err, int threads) {
  const Eigen::Index n = p.n;
  constexpr double dof = D > 1 ? D - 1 : 1;
  constexpr double c = 2.0 * (dof + 1.0) / dof;
  const double tiny = static_cast<double>(std::numeric_limits<float>::min());
  const std::int64_t* indptr = p.indptr.data();
  const std::int32_t* indices = p.indices.data();
  const double* values = p.values.data();
#pragma omp parallel for schedule(static) num_threads(threads)
  for (Eigen::Index i = 0; i < n; ++i) {
    std::array<double, D> f{};
    double e = 0;
    const double* yi = y + i * D;
    for (std::int64_t k = indptr[i]; k < indptr[i + 1]; ++k) {
      const double* yj = y + static_cast<std::int64_t>(indices[k]) * D;
      std::array<double, D> diff;
      double d2 = 0;
      for (int a = 0; a < D; ++a) {
        diff[a] = yi[a] - yj[a];
        d2 += diff[a] * diff[a];
      }
      double w;
      if constexpr (dof == 1) {
        w = 1.0 / (1.0 + d2);
      } else {
        const double q = dof / (dof + d2);
        w = std::pow(q, (dof + 1.0) / 2.0);
      }
      const double pij = exag * values[k];
      const double m = pij * w;
      for (int a = 0; a < D; ++a) f[a] += m * diff[a];
      if constexpr (Error) e += pij * std::log(std::max(pij, tiny) / std::max(w / z, tiny));
    }
    for (int a = 0; a < D; ++a) grad[i * D + a] = c * (f[a] - neg[i * D + a] / z);
    if constexpr (Error) err[i] = e;
  }
  if constexpr (!Error) {
    return std::numeric_limits<double>::quiet_NaN();
  } else {
    double kl = 0;
    for (Eigen::Index i = 0; i < n; ++i) kl += err[i];
    return kl;
  }
}

struct SparseObjective {
  const SparseJointP& p;
  int dim;
  int threads;
  tsne_detail::BarnesHutRepulsion* bh = nullptr;
  tsne_detail::FftRepulsion* fft = nullptr;
  std::vector<double> neg, err;

  double operator()(const std::vector<double>& y, std::vector<double>& grad, double exag,
                    bool want_error) {
    const Eigen::Index n = p.n;
    neg.resize(static_cast<std::size_t>(n * dim));
    err.resize(static_cast<std::size_t>(n));
    double z = bh ? bh->compute(y.data(), neg.data()) : fft->compute(y.data(), neg.data());
    z = std::max(z, kMachineEps);  // as sklearn
    auto run = [&]<int D>() {
      return want_error ? sparse_forces<D, true>(p, y.data(), neg.data(), z, exag, grad.data(),
                                                 err.data(), threads)
                        : sparse_forces<D, false>(p, y.data(), neg.data(), z, exag, grad.data(),
                                                  err.data(), threads);
    };
    switch (dim) {
      case 1:
        return run.template operator()<1>();
      case 2:
        return run.template operator()<2>();
      default:
        return run.template operator()<3>();
    }
  }
};

// sklearn's _gradient_descent over iterations [it, max_iter); returns the last iteration index.
// As sklearn, every call starts with zero updates and unit gains.
template <class Objective>
int gradient_descent(Objective& objective, std::vector<double>& y, int it, int max_iter,
                     double momentum, double learning_rate, int n_iter_without_progress,
                     double min_grad_norm, double exag, const TsneOptions& opt) {
  std::vector<double> grad(y.size());
  std::vector<double> update(y.size(), 0.0);
  std::vector<double> gains(y.size(), 1.0);
  double best_error = std::numeric_limits<double>::max();
  int best_iter = it;
  int last = it;  // as Python's loop variable: the last index run, or `it` when none ran
  for (int i = it; i < max_iter; ++i) {
    last = i;
    const bool check = (i + 1) % kCheckEvery == 0;
    const double error = objective(y, grad, exag, check || i == max_iter - 1);
    double norm2 = 0;
    for (std::size_t k = 0; k < y.size(); ++k) {
      if (update[k] * grad[k] < 0.0) {
        gains[k] += 0.2;
      } else {
        gains[k] *= 0.8;
      }
      gains[k] = std::max(gains[k], 0.01);
      grad[k] *= gains[k];
      update[k] = momentum * update[k] - learning_rate * grad[k];
      y[k] += update[k];
      norm2 += grad[k] * grad[k];
    }
    if (check) {
      const double grad_norm = std::sqrt(norm2);
      if (opt.on_check) opt.on_check(i + 1, error, grad_norm);
      if (error < best_error) {
        best_error = error;
        best_iter = i;
      } else if (i - best_iter > n_iter_without_progress) {
        break;
      }
      if (grad_norm <= min_grad_norm) break;
    }
  }
  return last;
}

// ---------------------------------------------------------------------------------------------
// Initialisation.

// Runs its scope on one OpenMP thread. OpenBLAS's OpenMP build follows omp_get_max_threads() at
// every call, and its threaded reductions (dsymv inside dsyevd, gemm partitions) round
// differently for different thread counts; the PCA init is cheap next to the iterations, so it
// runs serially and the embedding is the same bytes for any --threads.
class SerialScope {
 public:
  SerialScope() : saved_(omp_get_max_threads()) { omp_set_num_threads(1); }
  ~SerialScope() { omp_set_num_threads(saved_); }
  SerialScope(const SerialScope&) = delete;
  SerialScope& operator=(const SerialScope&) = delete;

 private:
  int saved_;
};

std::vector<double> pca_init(const Eigen::Ref<const RowMatrixXd>& x, int k) {
  const SerialScope serial;
  const Eigen::Index n = x.rows();
  const Eigen::Index dd = x.cols();
  if (k > std::min(n, dd))
    bad("init 'pca' needs n_components " + std::to_string(k) +
        " <= min(number of samples, number of features) = " + std::to_string(std::min(n, dd)) +
        "; use init 'random'");
  PcaFit fit;
  if (n >= dd) {
    const Eigen::VectorXd mean = x.colwise().mean().transpose();
    const RowMatrixXd xc = x.rowwise() - mean.transpose();
    const Eigen::MatrixXd scatter = xc.transpose() * xc;
    fit = pca_from_scatter(mean, scatter, n, k);
  } else {
    fit = pca_gram(x, k);
  }
  const RowMatrixXd proj = fit.transform(x);
  const double mean0 = proj.col(0).mean();
  const double std0 = std::sqrt((proj.col(0).array() - mean0).square().mean());
  if (!(std0 > 0))
    bad("init 'pca': the first principal component has zero variance; use init 'random'");
  std::vector<double> y(static_cast<std::size_t>(n * k));
  for (Eigen::Index i = 0; i < n; ++i)
    for (int a = 0; a < k; ++a) y[static_cast<std::size_t>(i * k + a)] = proj(i, a) / std0 * 1e-4;
  return y;
}

std::vector<double> random_init(Eigen::Index n, int k, std::uint64_t seed) {
  // Box-Muller on a 64-bit Mersenne Twister: the same numbers on every platform.
  std::mt19937_64 gen(seed);
  auto uniform = [&]() { return (static_cast<double>(gen() >> 11) + 0.5) * 0x1.0p-53; };
  std::vector<double> y(static_cast<std::size_t>(n * k));
  for (std::size_t i = 0; i < y.size(); i += 2) {
    const double r = std::sqrt(-2.0 * std::log(uniform()));
    const double t = 2.0 * std::numbers::pi * uniform();
    y[i] = 1e-4 * r * std::cos(t);
    if (i + 1 < y.size()) y[i + 1] = 1e-4 * r * std::sin(t);
  }
  return y;
}

// ---------------------------------------------------------------------------------------------
// Exact KL of a final embedding.

// sum_{i != j} w_ij over all pairs, in a fixed order.
double exact_z(const std::vector<double>& y, Eigen::Index n, int d, int threads,
               std::vector<double>& wrow) {
  const double dof = std::max(d - 1, 1);
  const double expo = (dof + 1.0) / -2.0;
  wrow.assign(static_cast<std::size_t>(n), 0.0);
#pragma omp parallel for schedule(dynamic, 16) num_threads(threads)
  for (Eigen::Index i = 0; i < n; ++i) {
    double s = 0;
    const double* yi = &y[static_cast<std::size_t>(i * d)];
    for (Eigen::Index j = i + 1; j < n; ++j) {
      const double d2 = sq_dist(yi, &y[static_cast<std::size_t>(j * d)], d);
      s += dof == 1.0 ? 1.0 / (1.0 + d2) : std::pow(1.0 + d2 / dof, expo);
    }
    wrow[static_cast<std::size_t>(i)] = s;
  }
  double z = 0;
  for (Eigen::Index i = 0; i < n; ++i) z += wrow[static_cast<std::size_t>(i)];
  return 2 * z;
}

double kl_dense(const RowMatrixXd& p, const std::vector<double>& y, int d, int threads) {
  const Eigen::Index n = p.rows();
  std::vector<double> row;
  const double z = std::max(exact_z(y, n, d, threads, row), kMachineEps);
  const double dof = std::max(d - 1, 1);
  const double expo = (dof + 1.0) / -2.0;
#pragma omp parallel for schedule(static) num_threads(threads)
  for (Eigen::Index i = 0; i < n; ++i) {
    double e = 0;
    const double* yi = &y[static_cast<std::size_t>(i * d)];
    for (Eigen::Index j = 0; j < n; ++j) {
      if (j == i) continue;
      const double d2 = sq_dist(yi, &y[static_cast<std::size_t>(j * d)], d);
      const double w = dof == 1.0 ? 1.0 / (1.0 + d2) : std::pow(1.0 + d2 / dof, expo);
      const double q = std::max(w / z, kMachineEps);
      const double pij = p(i, j);
      e += pij * std::log(std::max(pij, kMachineEps) / q);
    }
    row[static_cast<std::size_t>(i)] = e;
  }
  double kl = 0;
  for (Eigen::Index i = 0; i < n; ++i) kl += row[static_cast<std::size_t>(i)];
  return kl;
}

double kl_sparse(const SparseJointP& p, const std::vector<double>& y, int d, int threads) {
  const Eigen::Index n = p.n;
  std::vector<double> row;
  const double z = std::max(exact_z(y, n, d, threads, row), kMachineEps);
  const double dof = std::max(d - 1, 1);
  const double expo = (dof + 1.0) / -2.0;
#pragma omp parallel for schedule(static) num_threads(threads)
  for (Eigen::Index i = 0; i < n; ++i) {
    double e = 0;
    const double* yi = &y[static_cast<std::size_t>(i * d)];
    for (std::int64_t k = p.indptr[static_cast<std::size_t>(i)];
         k < p.indptr[static_cast<std::size_t>(i) + 1]; ++k) {
      const std::int64_t j = p.indices[static_cast<std::size_t>(k)];
      const double d2 = sq_dist(yi, &y[static_cast<std::size_t>(j * d)], d);
      const double w = dof == 1.0 ? 1.0 / (1.0 + d2) : std::pow(1.0 + d2 / dof, expo);
      const double q = std::max(w / z, kMachineEps);
      const double pij = p.values[static_cast<std::size_t>(k)];
      e += pij * std::log(std::max(pij, kMachineEps) / q);
    }
    row[static_cast<std::size_t>(i)] = e;
  }
  double kl = 0;
  for (Eigen::Index i = 0; i < n; ++i) kl += row[static_cast<std::size_t>(i)];
  return kl;
}

void validate(const Eigen::Ref<const RowMatrixXd>& x, const TsneOptions& opt) {
  const Eigen::Index n = x.rows();
  if (n < 2) bad("needs at least 2 samples, got " + std::to_string(n));
  if (x.cols() < 1) bad("needs at least 1 feature, got 0");
  if (opt.method != "exact" && opt.method != "barnes_hut" && opt.method != "fft")
    bad("method '" + opt.method + "' must be one of auto, exact, barnes_hut, fft");
  if (opt.n_components < 1)
    bad("n_components " + std::to_string(opt.n_components) + " must be >= 1");
  if (opt.method == "barnes_hut" && opt.n_components > 3)
    bad("n_components " + std::to_string(opt.n_components) +
        " must be <= 3 with method barnes_hut (quadtree/octree)");
  if (opt.method == "fft" && opt.n_components > 2)
    bad("n_components " + std::to_string(opt.n_components) + " must be <= 2 with method fft");
  check_perplexity(opt.perplexity, n);
  if (!(opt.early_exaggeration >= 1) || !std::isfinite(opt.early_exaggeration))
    bad("early_exaggeration " + num(opt.early_exaggeration) + " must be >= 1");
  if (!std::isfinite(opt.learning_rate)) bad("learning_rate must be finite (<= 0 selects 'auto')");
  if (opt.max_iter < 1) bad("max_iter " + std::to_string(opt.max_iter) + " must be >= 1");
  if (opt.exaggeration_iter < 0 || opt.exaggeration_iter > opt.max_iter)
    bad("exaggeration_iter " + std::to_string(opt.exaggeration_iter) + " must be in [0, max_iter " +
        std::to_string(opt.max_iter) + "]");
  if (opt.n_iter_without_progress < -1)
    bad("n_iter_without_progress " + std::to_string(opt.n_iter_without_progress) +
        " must be >= -1");
  if (!(opt.min_grad_norm >= 0)) bad("min_grad_norm " + num(opt.min_grad_norm) + " must be >= 0");
  if (!(opt.angle >= 0 && opt.angle <= 1)) bad("angle " + num(opt.angle) + " must be in [0, 1]");
  if (opt.init != "pca" && opt.init != "random")
    bad("init '" + opt.init + "' must be pca or random");
  if (opt.n_threads < 0) bad("n_threads " + std::to_string(opt.n_threads) + " must be >= 0");
  if (opt.fft_interpolation_points < 1 || opt.fft_interpolation_points > 16)
    bad("fft_interpolation_points " + std::to_string(opt.fft_interpolation_points) +
        " must be in [1, 16]");
  if (opt.fft_min_intervals < 1 || opt.fft_min_intervals > 4096)
    bad("fft_min_intervals " + std::to_string(opt.fft_min_intervals) + " must be in [1, 4096]");
  if (!(opt.fft_intervals_per_integer > 0) || !std::isfinite(opt.fft_intervals_per_integer))
    bad("fft_intervals_per_integer " + num(opt.fft_intervals_per_integer) + " must be > 0");
}

}  // namespace

// ---------------------------------------------------------------------------------------------

KnnResult nearest_neighbors(const Eigen::Ref<const RowMatrixXd>& x, int k, int n_threads) {
  const Eigen::Index n = x.rows();
  const Eigen::Index dd = x.cols();
  if (k < 1 || k > n - 1)
    bad("nearest neighbours: k " + std::to_string(k) +
        " must be in [1, number of samples - 1 = " + std::to_string(n - 1) + "]");
  const int threads = resolve_threads(n_threads);
  KnnResult r;
  r.indices.resize(n, k);
  r.sq_distances.resize(n, k);
  const Eigen::VectorXd norms = x.rowwise().squaredNorm();
  // Candidates by the Gram-matrix formula (BLAS), then the kept ones recomputed exactly as sums
  // of squared differences; a margin of extra candidates absorbs the formula's rounding.
  const Eigen::Index kk = std::min<Eigen::Index>(n - 1, k + std::max(8, k / 4));
  const Eigen::Index block =
      std::clamp<Eigen::Index>((Eigen::Index{1} << 22) / std::max<Eigen::Index>(n, 1), 16, 1024);
  RowMatrixXd g;
  for (Eigen::Index b0 = 0; b0 < n; b0 += block) {
    const Eigen::Index nb = std::min(block, n - b0);
    g.noalias() = x.middleRows(b0, nb) * x.transpose();
#pragma omp parallel num_threads(threads)
    {
      std::vector<double> approx(static_cast<std::size_t>(n));
      std::vector<std::int32_t> idx(static_cast<std::size_t>(n));
      std::vector<std::pair<double, std::int32_t>> cand(static_cast<std::size_t>(kk));
#pragma omp for schedule(static)
      for (Eigen::Index r0 = 0; r0 < nb; ++r0) {
        const Eigen::Index i = b0 + r0;
        for (Eigen::Index j = 0; j < n; ++j)
          approx[static_cast<std::size_t>(j)] = norms[i] + norms[j] - 2 * g(r0, j);
        approx[static_cast<std::size_t>(i)] = std::numeric_limits<double>::infinity();
        std::iota(idx.begin(), idx.end(), 0);
        auto less = [&](std::int32_t a, std::int32_t b) {
          const double da = approx[static_cast<std::size_t>(a)];
          const double db = approx[static_cast<std::size_t>(b)];
          return da < db || (da == db && a < b);
        };
        if (kk < n) std::nth_element(idx.begin(), idx.begin() + kk, idx.end(), less);
        for (Eigen::Index c = 0; c < kk; ++c) {
          const std::int32_t j = idx[static_cast<std::size_t>(c)];
          cand[static_cast<std::size_t>(c)] = {sq_dist(row_ptr(x, i), row_ptr(x, j), dd), j};
        }
        std::partial_sort(cand.begin(), cand.begin() + k, cand.end());
        for (int c = 0; c < k; ++c) {
          r.sq_distances(i, c) = cand[static_cast<std::size_t>(c)].first;
          r.indices(i, c) = cand[static_cast<std::size_t>(c)].second;
        }
      }
    }
  }
  return r;
}

RowMatrixXd joint_probabilities(const Eigen::Ref<const RowMatrixXd>& x, double perplexity,
                                int n_threads) {
  const Eigen::Index n = x.rows();
  check_perplexity(perplexity, n);
  const int threads = resolve_threads(n_threads);
  const double target = desired_entropy(perplexity);
  RowMatrixXd c(n, n);
#pragma omp parallel num_threads(threads)
  {
    std::vector<float> d(static_cast<std::size_t>(n));
#pragma omp for schedule(static)
    for (Eigen::Index i = 0; i < n; ++i) {
      for (Eigen::Index j = 0; j < n; ++j)
        d[static_cast<std::size_t>(j)] =
            j == i ? 0.0f : static_cast<float>(sq_dist(row_ptr(x, i), row_ptr(x, j), x.cols()));
      binary_search_row(d.data(), n, i, target, &c(i, 0));
    }
  }
  RowMatrixXd p = c + c.transpose();
  double total = 0;
  for (Eigen::Index i = 0; i < n; ++i) total += p.row(i).sum();
  total = std::max(total, kMachineEps);
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index j = 0; j < n; ++j)
      p(i, j) = i == j ? 0.0 : std::max(p(i, j) / total, kMachineEps);
  return p;
}

SparseJointP joint_probabilities_nn(const Eigen::Ref<const RowMatrixXd>& x, double perplexity,
                                    int n_threads) {
  const Eigen::Index n = x.rows();
  check_perplexity(perplexity, n);
  const int threads = resolve_threads(n_threads);
  const int k = static_cast<int>(
      std::min<double>(static_cast<double>(n - 1), std::floor(3.0 * perplexity + 1.0)));
  KnnResult knn = nearest_neighbors(x, k, n_threads);
  const double target = desired_entropy(perplexity);
  // Conditional P over each row's neighbours in ascending column order (sklearn sorts the kNN
  // graph's indices before its binary search).
  std::vector<std::int32_t> cols(static_cast<std::size_t>(n * k));
  std::vector<double> cond(static_cast<std::size_t>(n * k));
#pragma omp parallel num_threads(threads)
  {
    std::vector<std::pair<std::int32_t, float>> row(static_cast<std::size_t>(k));
    std::vector<float> d(static_cast<std::size_t>(k));
#pragma omp for schedule(static)
    for (Eigen::Index i = 0; i < n; ++i) {
      for (int c = 0; c < k; ++c) {
        // sklearn squares the euclidean distance its neighbour search returns.
        const double e = std::sqrt(knn.sq_distances(i, c));
        row[static_cast<std::size_t>(c)] = {knn.indices(i, c), static_cast<float>(e * e)};
      }
      std::sort(row.begin(), row.end());
      for (int c = 0; c < k; ++c) {
        cols[static_cast<std::size_t>(i * k + c)] = row[static_cast<std::size_t>(c)].first;
        d[static_cast<std::size_t>(c)] = row[static_cast<std::size_t>(c)].second;
      }
      binary_search_row(d.data(), k, -1, target, &cond[static_cast<std::size_t>(i * k)]);
    }
  }
  // P = C + C^T: row i merges its own neighbours with the rows that list i (in increasing row
  // order, hence ascending columns).
  std::vector<std::int64_t> tcount(static_cast<std::size_t>(n) + 1, 0);
  for (std::size_t e = 0; e < cols.size(); ++e) ++tcount[static_cast<std::size_t>(cols[e]) + 1];
  for (Eigen::Index i = 0; i < n; ++i)
    tcount[static_cast<std::size_t>(i) + 1] += tcount[static_cast<std::size_t>(i)];
  std::vector<std::int32_t> tcol(cols.size());
  std::vector<double> tval(cols.size());
  {
    std::vector<std::int64_t> pos(tcount.begin(), tcount.end() - 1);
    for (Eigen::Index i = 0; i < n; ++i)
      for (int c = 0; c < k; ++c) {
        const std::size_t e = static_cast<std::size_t>(i * k + c);
        const std::size_t at = static_cast<std::size_t>(pos[static_cast<std::size_t>(cols[e])]++);
        tcol[at] = static_cast<std::int32_t>(i);
        tval[at] = cond[e];
      }
  }
  SparseJointP p;
  p.n = n;
  p.indptr.assign(static_cast<std::size_t>(n) + 1, 0);
  for (int pass = 0; pass < 2; ++pass) {
    if (pass == 1) {
      for (Eigen::Index i = 0; i < n; ++i)
        p.indptr[static_cast<std::size_t>(i) + 1] += p.indptr[static_cast<std::size_t>(i)];
      p.indices.resize(static_cast<std::size_t>(p.indptr.back()));
      p.values.resize(static_cast<std::size_t>(p.indptr.back()));
    }
#pragma omp parallel for schedule(static) num_threads(threads)
    for (Eigen::Index i = 0; i < n; ++i) {
      std::size_t a = static_cast<std::size_t>(i * k);
      const std::size_t ae = a + static_cast<std::size_t>(k);
      auto b = static_cast<std::size_t>(tcount[static_cast<std::size_t>(i)]);
      const auto be = static_cast<std::size_t>(tcount[static_cast<std::size_t>(i) + 1]);
      std::int64_t out = pass == 1 ? p.indptr[static_cast<std::size_t>(i)] : 0;
      std::int64_t cnt = 0;
      while (a < ae || b < be) {
        std::int32_t col;
        double v = 0;
        if (b >= be || (a < ae && cols[a] < tcol[b])) {
          col = cols[a];
          v = cond[a++];
        } else if (a >= ae || tcol[b] < cols[a]) {
          col = tcol[b];
          v = tval[b++];
        } else {
          col = cols[a];
          v = cond[a++] + tval[b++];
        }
        if (pass == 1) {
          p.indices[static_cast<std::size_t>(out)] = col;
          p.values[static_cast<std::size_t>(out)] = v;
          ++out;
        }
        ++cnt;
      }
      if (pass == 0) p.indptr[static_cast<std::size_t>(i) + 1] = cnt;
    }
  }
  double total = 0;
  for (const double v : p.values) total += v;
  total = std::max(total, kMachineEps);
  for (double& v : p.values) v /= total;
  return p;
}

std::string tsne_auto_method(Eigen::Index n, int n_components) {
  return n >= kTsneFftMinPoints && n_components <= 2 ? "fft" : "barnes_hut";
}

TsneResult tsne(const Eigen::Ref<const RowMatrixXd>& x, const TsneOptions& opt) {
  if (opt.method == "auto") {
    TsneOptions resolved = opt;
    resolved.method = tsne_auto_method(x.rows(), opt.n_components);
    return tsne(x, resolved);
  }
  validate(x, opt);
  const Eigen::Index n = x.rows();
  const int d = opt.n_components;
  // Below kParallelMin samples an iteration is too small to share between threads: the
  // per-iteration parallel regions would cost more than they save (results are the same).
  constexpr Eigen::Index kParallelMin = 500;
  const int threads = n < kParallelMin ? 1 : resolve_threads(opt.n_threads);
  TsneResult res;
  res.method = opt.method;
  res.learning_rate = opt.learning_rate > 0
                          ? opt.learning_rate
                          : std::max(static_cast<double>(n) / opt.early_exaggeration / 4.0, 50.0);

  std::vector<double> y = opt.init == "pca" ? pca_init(x, d) : random_init(n, d, opt.seed);

  auto run = [&](auto& objective) {
    int it = 0;
    if (opt.exaggeration_iter > 0) {
      it = gradient_descent(objective, y, 0, opt.exaggeration_iter, 0.5, res.learning_rate,
                            opt.exaggeration_iter, opt.min_grad_norm, opt.early_exaggeration, opt) +
           1;
    }
    if (opt.max_iter > it || it == 0) {
      it = gradient_descent(objective, y, it, opt.max_iter, 0.8, res.learning_rate,
                            opt.n_iter_without_progress, opt.min_grad_norm, 1.0, opt);
    }
    return it;
  };

  if (opt.method == "exact") {
    const RowMatrixXd p = joint_probabilities(x, opt.perplexity, opt.n_threads);
    DenseObjective obj{p, d, threads, {}};
    res.n_iter = run(obj);
    res.kl_divergence = kl_dense(p, y, d, threads);
  } else {
    const SparseJointP p = joint_probabilities_nn(x, opt.perplexity, opt.n_threads);
    SparseObjective obj{p, d, threads, nullptr, nullptr, {}, {}};
    std::unique_ptr<tsne_detail::BarnesHutRepulsion> bh;
    std::unique_ptr<tsne_detail::FftRepulsion> fft;
    if (opt.method == "barnes_hut") {
      bh = std::make_unique<tsne_detail::BarnesHutRepulsion>(n, d, opt.angle, threads);
      obj.bh = bh.get();
    } else {
      fft = std::make_unique<tsne_detail::FftRepulsion>(n, d, opt.fft_interpolation_points,
                                                        opt.fft_min_intervals,
                                                        opt.fft_intervals_per_integer, threads);
      obj.fft = fft.get();
    }
    res.n_iter = run(obj);
    res.kl_divergence = kl_sparse(p, y, d, threads);
  }
  res.embedding.resize(n, d);
  for (Eigen::Index i = 0; i < n; ++i)
    for (int a = 0; a < d; ++a) res.embedding(i, a) = y[static_cast<std::size_t>(i * d + a)];
  return res;
}

double trustworthiness(const Eigen::Ref<const RowMatrixXd>& x,
                       const Eigen::Ref<const RowMatrixXd>& y, int n_neighbors) {
  const Eigen::Index n = x.rows();
  if (y.rows() != n)
    throw std::invalid_argument("trustworthiness: the embedding has " + std::to_string(y.rows()) +
                                " rows, the input " + std::to_string(n));
  if (n_neighbors < 1 || static_cast<double>(n_neighbors) >= static_cast<double>(n) / 2.0)
    throw std::invalid_argument("trustworthiness: n_neighbors " + std::to_string(n_neighbors) +
                                " must be >= 1 and < number of samples / 2 = " + num(n / 2.0));
  const int k = n_neighbors;
  std::vector<std::int64_t> penalty(static_cast<std::size_t>(n), 0);
#pragma omp parallel
  {
    std::vector<double> dx(static_cast<std::size_t>(n));
    std::vector<std::pair<double, std::int32_t>> dy(static_cast<std::size_t>(n));
#pragma omp for schedule(dynamic, 8)
    for (Eigen::Index i = 0; i < n; ++i) {
      for (Eigen::Index j = 0; j < n; ++j) {
        dx[static_cast<std::size_t>(j)] =
            std::sqrt(sq_dist(row_ptr(x, i), row_ptr(x, j), x.cols()));
        dy[static_cast<std::size_t>(j)] = {
            j == i ? std::numeric_limits<double>::infinity()
                   : std::sqrt(sq_dist(row_ptr(y, i), row_ptr(y, j), y.cols())),
            static_cast<std::int32_t>(j)};
      }
      std::partial_sort(dy.begin(), dy.begin() + k, dy.end());
      std::int64_t t = 0;
      for (int c = 0; c < k; ++c) {
        const std::int32_t j = dy[static_cast<std::size_t>(c)].second;
        const double dj = dx[static_cast<std::size_t>(j)];
        // Rank of j among i's neighbours in the input space (1-based, ties by index as a stable
        // argsort).
        std::int64_t rank = 1;
        for (Eigen::Index l = 0; l < n; ++l) {
          if (l == i || l == j) continue;
          const double dl = dx[static_cast<std::size_t>(l)];
          if (dl < dj || (dl == dj && l < j)) ++rank;
        }
        if (rank > k) t += rank - k;
      }
      penalty[static_cast<std::size_t>(i)] = t;
    }
  }
  std::int64_t t = 0;
  for (const std::int64_t v : penalty) t += v;
  const double nd = static_cast<double>(n);
  return 1.0 - static_cast<double>(t) * (2.0 / (nd * k * (2.0 * nd - 3.0 * k - 1.0)));
}

}  // namespace actlens::core
