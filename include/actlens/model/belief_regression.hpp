#pragma once
// Is the belief-state geometry linearly decodable from a model's activations? (seed
// belief-geometry-steering, `actlens beliefs`). Ordinary least squares with an intercept
// (core::fit_linear_regression, as sklearn's LinearRegression) from the activations at every
// (input, position) to the Bayesian belief there: one regression per hook, and one on all hooks
// side by side (the seed's regression).
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <torch/torch.h>
#include <Eigen/Core>

#include "actlens/core/regression.hpp"

namespace actlens::model {

struct RegressionScores {
  double r2_train = 0, mse_train = 0;  // on the training rows (all rows without a test split)
  double r2_test = std::numeric_limits<double>::quiet_NaN();   // NaN without a test split
  double mse_test = std::numeric_limits<double>::quiet_NaN();  // NaN without a test split
  Eigen::VectorXd r2_per_target;  // [S] r2 of each belief coordinate, on the training rows
};

struct Regressor {
  std::string name;           // the hook, or "concatenated"
  std::int64_t features = 0;  // columns of its X
  RegressionScores scores;
};

struct BeliefRegressionOptions {
  double test_fraction = 0;      // rows held out for test scores, in [0, 1); 0: fit on all rows
  std::uint64_t split_seed = 0;  // core::train_test_split's seed
};

struct BeliefRegression {
  core::Split split;  // rows of the fits (train) and of the test scores (test; empty for 0)
  // One per hook (in the order given), then "concatenated" when there is more than one hook.
  std::vector<Regressor> regressors;
  RegressionScores all;         // the scores of the fit on every hook (= the only hook's for one)
  core::LinearFit fit;          // that fit: coef [S, sum of d_k], features in hook order
  core::RowMatrixXd predicted;  // [n * T, S] its prediction on every row, train and test
};

// activations: one per hook, [n, T, d_k] (any float dtype, on any device; d_k may differ), row
// r = i * T + t of every hook belongs to input i, position t. beliefs: [n * T, S], float64.
// `names` names the hooks (one per activation). Throws std::invalid_argument when the shapes
// disagree or test_fraction is outside [0, 1) (core::train_test_split).
BeliefRegression regress_beliefs(const std::vector<torch::Tensor>& activations,
                                 const std::vector<std::string>& names,
                                 const core::RowMatrixXd& beliefs,
                                 const BeliefRegressionOptions& options = {});

}  // namespace actlens::model
