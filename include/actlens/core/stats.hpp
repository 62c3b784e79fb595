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

// Two-sided p of a t statistic with `df` degrees of freedom: 2 * P(T > |t|).
double t_two_sided_p(double t, double df);

}  // namespace actlens::core
