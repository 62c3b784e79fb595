#pragma once
// Two-sample tests with scipy.stats semantics. The t and beta distributions come from Boost.Math.
#include <Eigen/Core>

namespace actlens::core {

struct TTest {
  double t = 0;   // (mean(a) - mean(b)) / (s_p sqrt(1/n_a + 1/n_b))
  double p = 1;   // two-sided
  double df = 0;  // n_a + n_b - 2
};

// Student's t-test for two independent samples with equal variances, two-sided: scipy
// stats.ttest_ind(a, b) with its defaults. Throws std::invalid_argument when a group has fewer
// than one value, both together fewer than three, or the pooled variance is zero.
TTest ttest_ind(const Eigen::Ref<const Eigen::VectorXd>& a,
                const Eigen::Ref<const Eigen::VectorXd>& b);

struct Correlation {
  double r = 0;  // Pearson's r, clipped to [-1, 1]
  double p = 1;  // two-sided, from the exact null distribution of r (a beta distribution)
  Eigen::Index n = 0;
};

// Pearson's correlation and its two-sided p-value: scipy stats.pearsonr(x, y). Throws
// std::invalid_argument for fewer than two values, different lengths or a constant input.
Correlation pearsonr(const Eigen::Ref<const Eigen::VectorXd>& x,
                     const Eigen::Ref<const Eigen::VectorXd>& y);

// Ranks 1..n of x, ties given their average rank: scipy stats.rankdata(x, method="average").
Eigen::VectorXd rankdata(const Eigen::Ref<const Eigen::VectorXd>& x);

// Spearman's rank correlation and its two-sided p-value: scipy stats.spearmanr(x, y) for two
// vectors (r = Pearson's r of the average ranks; p from Student's t with n - 2 degrees of freedom,
// t = r sqrt((n - 2) / ((1 + r)(1 - r)))). Throws as pearsonr.
Correlation spearmanr(const Eigen::Ref<const Eigen::VectorXd>& x,
                      const Eigen::Ref<const Eigen::VectorXd>& y);

// Kendall's tau-b and its two-sided p-value: scipy stats.kendalltau(x, y) (variant "b", method
// "auto": the exact null distribution when neither input has ties and n <= 33, else the normal
// approximation with scipy's tie-corrected variance). O(n log n) (Knight's merge-sort count).
Correlation kendalltau(const Eigen::Ref<const Eigen::VectorXd>& x,
                       const Eigen::Ref<const Eigen::VectorXd>& y);

// Two-sided p of a t statistic with `df` degrees of freedom: 2 * P(T > |t|).
double t_two_sided_p(double t, double df);

}  // namespace actlens::core
