#pragma once
// Representational similarity analysis as the RSA seed computes it: unit-normalised cosine
// similarity matrices, the correlation of their upper triangles (Pearson as np.corrcoef; Spearman
// and Kendall as scipy.stats), a permutation test, and the category selectivity index.
#include <cstdint>
#include <vector>

#include <Eigen/Core>

#include "actlens/core/stats.hpp"
#include "actlens/core/types.hpp"

namespace actlens::core {

// e: [N, D] -> [N, N] cosine similarities: rows divided by their L2 norm (np.linalg.norm), then
// En En^T. Throws std::invalid_argument naming the first row whose norm is zero.
RowMatrixXd cosine_matrix(const Eigen::Ref<const RowMatrixXd>& e);

// The entries above the diagonal, row by row: m[np.triu_indices_from(m, k=1)], N (N - 1) / 2.
Eigen::VectorXd upper_triangle(const Eigen::Ref<const RowMatrixXd>& m);

enum class CorrelationMethod { Pearson, Spearman, Kendall };
// "pearson", "spearman", "kendall"; std::invalid_argument for anything else.
CorrelationMethod parse_correlation_method(const std::string& name);
const char* to_string(CorrelationMethod m);
Correlation correlate(const Eigen::Ref<const Eigen::VectorXd>& x,
                      const Eigen::Ref<const Eigen::VectorXd>& y, CorrelationMethod method);

struct RsaScore {
  Correlation correlation;  // of the two upper triangles, p from the method's null
  std::int64_t permutations = 0;
  double permutation_p = 1;  // one-sided: (1 + #{r_perm >= r}) / (1 + permutations)
};

// RSA score of two [N, N] similarity matrices (N >= 3). With permutations > 0, the items of `b`
// are relabelled at random (its rows and columns permuted together, the Mantel test) that many
// times; permutation k draws from a generator seeded by (seed, k), so the p-value does not depend
// on the thread count.
RsaScore rsa(const Eigen::Ref<const RowMatrixXd>& a, const Eigen::Ref<const RowMatrixXd>& b,
             CorrelationMethod method, std::int64_t permutations = 0, std::uint64_t seed = 0);

struct Selectivity {
  Eigen::VectorXd within;  // [G] mean similarity over the pairs i < j inside group g
  RowMatrixXd between;     // [G, G] mean over pairs with one item in each group (symmetric;
                           // the diagonal holds `within`)
  double numerator = 0;    // mean of `within` over the G groups
  double denominator = 0;  // mean of `between` over the G (G - 1) / 2 group pairs
  double index = 0;        // numerator / denominator
};

// The seed's category selectivity index, generalised from its three groups to G >= 2:
// (1/G sum_g within_g) / (1/#pairs sum_{a<b} between_ab), from the upper triangle of c [N, N].
// group[i] in 0..G-1; every group needs at least two items (a within pair) and every group pair
// is non-empty by construction. Throws std::invalid_argument naming the offending group index.
Selectivity selectivity_index(const Eigen::Ref<const RowMatrixXd>& c,
                              const std::vector<int>& group);

}  // namespace actlens::core
