#pragma once
// t-SNE with scikit-learn's `TSNE` semantics (sklearn/manifold/_t_sne.py, 1.9):
//  - P: per-row binary search of the Gaussian precision for the perplexity (sklearn's
//    _binary_search_perplexity: 100 steps, tolerance 1e-5 on the entropy in nats, float32
//    squared distances as sklearn casts them), symmetrised and normalised to sum 1. "exact"
//    uses all pairs (P floored at DBL_EPSILON); "barnes_hut" and "fft" the
//    k = min(N - 1, int(3 perplexity + 1)) exact nearest neighbours (sparse P).
//  - Q: Student-t with dof = max(n_components - 1, 1).
//  - Optimiser: sklearn's _gradient_descent: exaggeration_iter iterations with P *
//    early_exaggeration and momentum 0.5, then momentum 0.8; per-coordinate gains (+0.2 / *0.8,
//    min 0.01); a progress check every 50 iterations (stop when the error has not improved for
//    n_iter_without_progress iterations, or the gradient norm is <= min_grad_norm; the
//    exaggeration phase uses exaggeration_iter as its n_iter_without_progress, as sklearn).
//  - Gradient: exact O(N^2); Barnes-Hut (2^d-ary space-partitioning tree, d <= 3, criterion
//    max_width^2 / dist^2 < angle^2); or FIt-SNE's interpolation on an equispaced grid with FFT
//    convolutions (Linderman et al. 2019; d <= 2).
// Everything is float64 and deterministic: the same input and options give the same bytes for
// any n_threads (per-point results go to arrays that are then summed in a fixed order).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "actlens/core/types.hpp"

namespace actlens::core {

struct TsneOptions {
  int n_components = 2;
  double perplexity = 30;
  double early_exaggeration = 12;  // >= 1 (sklearn's constraint)
  double learning_rate = 0;        // <= 0: sklearn's 'auto' = max(N / early_exaggeration / 4, 50)
  int max_iter = 1000;             // total, including the exaggeration phase
  int exaggeration_iter = 250;     // sklearn's _EXPLORATION_MAX_ITER; 0 <= . <= max_iter
  int n_iter_without_progress = 300;
  double min_grad_norm = 1e-7;
  std::string method = "barnes_hut";  // "exact", "barnes_hut", "fft" or "auto" (tsne_auto_method)
  double angle = 0.5;                 // Barnes-Hut theta, in [0, 1]
  // "pca": exact PCA of the centred input (sklearn's svd_flip signs), scaled so that column 0
  // has standard deviation (ddof 0) 1e-4; "random": N(0, 1e-4^2) entries drawn from `seed`.
  std::string init = "pca";
  std::uint64_t seed = 0;  // every random choice; same seed + same input = same bytes
  // 0 = OpenMP default; the result does not depend on it. Runs with fewer than 500 samples use
  // one thread for the iterations (too little work per iteration to share).
  int n_threads = 0;
  // fft (FIt-SNE) knobs, defaults of openTSNE / FIt-SNE: interpolation nodes per interval (>= 1),
  // the least number of intervals per dimension (>= 1) and FIt-SNE's intervals_per_integer
  // (> 0): the grid has max(fft_min_intervals, range / fft_intervals_per_integer) intervals per
  // dimension (rounded up to an FFT-friendly count below 200), range = max - min coordinate.
  int fft_interpolation_points = 3;
  int fft_min_intervals = 50;
  double fft_intervals_per_integer = 1;
  // Called at every progress check (every 50 iterations): the 1-based iteration, the error the
  // method estimates there (KL with the exaggerated P during the exaggeration phase; the tree /
  // interpolation estimate of the normalisation for barnes_hut / fft) and the gradient norm.
  std::function<void(int iter, double kl, double grad_norm)> on_check;
};

struct TsneResult {
  RowMatrixXd embedding;  // [N, n_components]
  // KL(P || Q) of the final embedding computed exactly (all pairs for Q's normalisation) with the
  // P the method used: sum over P_ij > 0 (dense: every i != j) of
  // P_ij log(max(P_ij, eps) / max(q_ij, eps)).
  double kl_divergence = 0;
  // sklearn's n_iter_: the 0-based index of the last iteration run (max_iter - 1 when no
  // stopping rule fired), i.e. the number of iterations run minus one.
  int n_iter = 0;
  double learning_rate = 0;  // the one used
  std::string method;        // the one run ("auto" resolved)
};

// The method "auto" runs: fft from kTsneFftMinPoints samples on when n_components <= 2 (its cost
// per iteration is O(N) plus a fixed grid of FFTs that dominates below that), else barnes_hut
// (sklearn's default). Never exact: its dense P differs from the kNN P of the other two, so
// choosing it would change the result, not only the speed. Both candidates share the kNN P.
inline constexpr Eigen::Index kTsneFftMinPoints = 2000;
std::string tsne_auto_method(Eigen::Index n, int n_components);

// x: [N, D] row-major, N >= 2, finite (not checked). Throws std::invalid_argument for invalid
// options (the message names the option and its valid range).
TsneResult tsne(const Eigen::Ref<const RowMatrixXd>& x, const TsneOptions& opt);

// Joint probabilities of the "exact" method: [N, N] symmetric, zero diagonal, off-diagonal
// entries floored at DBL_EPSILON; the full matrix sums to 1 (up to the floor), i.e. twice
// sklearn's condensed _joint_probabilities.
RowMatrixXd joint_probabilities(const Eigen::Ref<const RowMatrixXd>& x, double perplexity,
                                int n_threads = 0);

// Sparse symmetric joint probabilities in CSR form (column indices ascending in every row), as
// sklearn's _joint_probabilities_nn on the k = min(N - 1, int(3 perplexity + 1)) nearest
// neighbours; the values sum to 1.
struct SparseJointP {
  std::vector<std::int64_t> indptr;   // [N + 1]
  std::vector<std::int32_t> indices;  // [nnz]
  std::vector<double> values;         // [nnz]
  Eigen::Index n = 0;
};
SparseJointP joint_probabilities_nn(const Eigen::Ref<const RowMatrixXd>& x, double perplexity,
                                    int n_threads = 0);

// The k exact nearest neighbours of every row of x [N, D] (itself excluded), squared euclidean
// distances, ascending (ties: smaller index first). indices/distances: [N, k] row-major.
struct KnnResult {
  Eigen::Matrix<std::int32_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> indices;
  RowMatrixXd sq_distances;
};
KnnResult nearest_neighbors(const Eigen::Ref<const RowMatrixXd>& x, int k, int n_threads = 0);

// sklearn.manifold.trustworthiness with the euclidean metric. x: [N, D], y: [N, d];
// 1 <= n_neighbors < N / 2.
double trustworthiness(const Eigen::Ref<const RowMatrixXd>& x,
                       const Eigen::Ref<const RowMatrixXd>& y, int n_neighbors = 5);

}  // namespace actlens::core
