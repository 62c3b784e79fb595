#include "actlens/model/belief_regression.hpp"

#include <stdexcept>

namespace actlens::model {

namespace {

core::RowMatrixXd rows_of(const core::RowMatrixXd& m, const std::vector<std::int64_t>& idx) {
  core::RowMatrixXd r(static_cast<Eigen::Index>(idx.size()), m.cols());
  for (std::size_t i = 0; i < idx.size(); ++i) r.row(static_cast<Eigen::Index>(i)) = m.row(idx[i]);
  return r;
}

// Fits on the training rows, scores train and test rows; returns the fit.
core::LinearFit fit_and_score(const core::RowMatrixXd& X, const core::RowMatrixXd& Y,
                              const core::Split& split, RegressionScores& s) {
  const bool all = split.test.empty();
  const core::RowMatrixXd Xtr = all ? X : rows_of(X, split.train);
  const core::RowMatrixXd Ytr = all ? Y : rows_of(Y, split.train);
  core::LinearFit fit = core::fit_linear_regression(Xtr, Ytr);
  const core::RowMatrixXd ptr = core::predict(fit, Xtr);
  s.r2_train = core::r2_score(Ytr, ptr);
  s.mse_train = core::mean_squared_error(Ytr, ptr);
  s.r2_per_target = core::r2_per_target(Ytr, ptr);
  if (!all) {
    const core::RowMatrixXd Yte = rows_of(Y, split.test);
    const core::RowMatrixXd pte = core::predict(fit, rows_of(X, split.test));
    s.r2_test = core::r2_score(Yte, pte);
    s.mse_test = core::mean_squared_error(Yte, pte);
  }
  return fit;
}

}  // namespace

BeliefRegression regress_beliefs(const std::vector<torch::Tensor>& acts,
                                 const std::vector<std::string>& names, const core::RowMatrixXd& Y,
                                 const BeliefRegressionOptions& options) {
  if (acts.empty() || acts.size() != names.size())
    throw std::invalid_argument("regress_beliefs: one name per activation, at least one");
  const std::int64_t rows = Y.rows();
  std::int64_t width = 0;
  for (const auto& a : acts) {
    if (a.dim() != 3 || a.size(0) * a.size(1) != rows)
      throw std::invalid_argument("regress_beliefs: activations must be [n, T, d] with n * T = " +
                                  std::to_string(rows) + " (the rows of beliefs)");
    width += a.size(-1);
  }
  core::RowMatrixXd X(rows, width);  // the hooks side by side, in the order given
  std::int64_t col = 0;
  for (const auto& a : acts) {
    const torch::Tensor f =
        a.reshape({rows, a.size(-1)}).to(torch::kCPU, torch::kFloat64).contiguous();
    X.middleCols(col, f.size(1)) =
        Eigen::Map<const core::RowMatrixXd>(f.data_ptr<double>(), rows, f.size(1));
    col += f.size(1);
  }
  BeliefRegression r;
  r.split = core::train_test_split(rows, options.test_fraction, options.split_seed);
  col = 0;
  for (std::size_t k = 0; k < acts.size(); ++k) {
    const std::int64_t w = acts[k].size(-1);
    Regressor h{names[k], w, {}};
    fit_and_score(X.middleCols(col, w), Y, r.split, h.scores);
    r.regressors.push_back(std::move(h));
    col += w;
  }
  r.fit = fit_and_score(X, Y, r.split, r.all);
  if (acts.size() > 1) r.regressors.push_back({"concatenated", width, r.all});
  r.predicted = core::predict(r.fit, X);
  return r;
}

}  // namespace actlens::model
