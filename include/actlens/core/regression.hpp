#pragma once
// Ordinary least squares with an intercept, as scikit-learn 1.9's LinearRegression() on dense
// float64 data (linear_model/_base.py): X and Y are centred on their column means, the centred
// problem is solved by scipy.linalg.lstsq's default driver, LAPACK dgelsd (SVD, minimum-norm
// solution for rank-deficient or wide X) with cond = LinearRegression's tol = 1e-6 (sklearn >= 1.9
// passes tol as cond; singular values <= 1e-6 * the largest count as zero), and the intercept is
// y_mean - x_mean coef^T. Plus sklearn's r2_score / mean_squared_error and a deterministic
// train/test split for probing (e.g. belief-state regression on residual streams).
#include <cstdint>
#include <vector>

#include <Eigen/Core>

#include "actlens/core/types.hpp"

namespace actlens::core {

// sklearn's LinearRegression tol default, the relative singular-value cut-off of the solve.
inline constexpr double kLinearRegressionRcond = 1e-6;

// y ~= x coef^T + intercept, in sklearn's shapes.
struct LinearFit {
  Eigen::MatrixXd coef;       // [k, p] (coef_)
  Eigen::VectorXd intercept;  // [k] (intercept_)
  int rank = 0;               // effective rank of the centred X (rank_)
  Eigen::VectorXd singular;   // [min(n, p)] singular values of the centred X, descending
                              // (singular_)
};

// Fits x [n, p] -> y [n, k] (n >= 2, p >= 1, k >= 1, all finite). Memory: one column-major
// centred copy of x (LAPACK overwrites it) plus dgelsd's workspace, O(min(n, p)^2 + (n + p) k).
// rcond: singular values <= rcond * the largest are treated as zero (sklearn's tol); a negative
// value means machine epsilon, as dgelsd. Throws std::invalid_argument on bad input and
// std::runtime_error when the SVD does not converge.
LinearFit fit_linear_regression(const RowMatrixXd& x, const RowMatrixXd& y,
                                double rcond = kLinearRegressionRcond);

// [n, k] = x coef^T + intercept (sklearn's predict). x must have p columns.
RowMatrixXd predict(const LinearFit& fit, const RowMatrixXd& x);

// sklearn r2_score(y, pred, multioutput="raw_values"), force_finite=True: per target
// 1 - sum (y - pred)^2 / sum (y - mean y)^2; a constant target scores 1.0 when predicted exactly,
// else 0.0. A column counts as constant when all its values are equal (sklearn decides on its
// computed denominator, which is also exactly 0 for such a column unless np.mean rounds, e.g. for
// a constant like 0.1 on some lengths; there sklearn returns a meaningless huge score).
// y and pred: [n, k] with n >= 2.
Eigen::VectorXd r2_per_target(const RowMatrixXd& y, const RowMatrixXd& pred);
// The uniform mean of r2_per_target (multioutput="uniform_average"; LinearRegression.score).
double r2_score(const RowMatrixXd& y, const RowMatrixXd& pred);
// sklearn mean_squared_error(y, pred), uniform average over targets (= the mean over all
// entries). n >= 1.
double mean_squared_error(const RowMatrixXd& y, const RowMatrixXd& pred);

// Row indices of a train/test split, each ascending.
struct Split {
  std::vector<std::int64_t> train, test;
};

// Splits rows 0..n-1 (n >= 1): n_test = ceil(test_fraction * n) in double arithmetic exactly as
// sklearn's train_test_split(test_size=test_fraction) (so 0.07 * 100 = 7.000000000000001 gives
// 8), the rest train; throws when test_fraction is outside [0, 1) or train would be empty (as
// sklearn). Which rows go where: a Fisher-Yates shuffle of 0..n-1 (for i = n-1 down to 1, swap
// i with j uniform in [0, i]) driven by std::mt19937_64(seed), with j drawn by rejection
// (u = next(); reject u >= 2^64 - 2^64 mod (i+1); j = u mod (i+1)), so the result is the same on
// every platform and standard library (std::uniform_int_distribution is not); the first n_test
// shuffled indices are test. It is not sklearn's (numpy) permutation.
Split train_test_split(std::int64_t n, double test_fraction, std::uint64_t seed);

}  // namespace actlens::core
