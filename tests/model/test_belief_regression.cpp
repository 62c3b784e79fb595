// model/belief_regression.hpp without the CLI: the concatenated regression of hooks' activations
// equals scikit-learn's LinearRegression on the same columns (tests/reference/regression/beliefs,
// made by tests/reference/make_regression_fixtures.py: X [300, 40] float32, simplex targets
// Y [300, 5]), split here into two "hooks" of [30 inputs, 10 positions, d]. Tolerance as the core
// test: |got - sklearn| <= 1e-8 * max(1, max |sklearn|). Plus properties: a hook's fit can not
// beat the fit on all hooks (nested least squares), train/test rows partition the rows.
#include <algorithm>
#include <cmath>
#include <filesystem>

#include "actlens/io/npy.hpp"
#include "actlens/model/belief_regression.hpp"

// Catch2 last: LibTorch's headers (glog) define CHECK too, and Catch's must win.
#include "../unit/test_paths.hpp"

using namespace actlens;

namespace {

const std::filesystem::path kCase = test::reference_dir() / "regression" / "beliefs";

core::RowMatrixXd load(const std::string& name) {
  const auto p = kCase / name;
  return io::to_double_matrix(io::read_npy(p), p.string());
}

// max |got - want| / max(1, max |want|).
double scaled_error(const Eigen::MatrixXd& got, const Eigen::MatrixXd& want) {
  REQUIRE(got.rows() == want.rows());
  REQUIRE(got.cols() == want.cols());
  return (got - want).cwiseAbs().maxCoeff() / std::max(1.0, want.cwiseAbs().maxCoeff());
}

// Columns [c0, c0 + w) of X as activations [30, 10, w] (row r = input r / 10, position r % 10),
// float32 as hooks give them (X.npy is float32, so nothing is lost).
torch::Tensor hook(const core::RowMatrixXd& X, Eigen::Index c0, Eigen::Index w) {
  const core::RowMatrixXd part = X.middleCols(c0, w);
  return torch::from_blob(const_cast<double*>(part.data()), {30, 10, w}, torch::kFloat64)
      .to(torch::kFloat32);
}

}  // namespace

TEST_CASE("regress_beliefs on all hooks equals sklearn LinearRegression",
          "[model][regression][reference]") {
  const core::RowMatrixXd X = load("X.npy"), Y = load("Y.npy");
  REQUIRE(X.rows() == 300);
  REQUIRE(X.cols() == 40);
  const std::vector<torch::Tensor> acts = {hook(X, 0, 25), hook(X, 25, 15)};
  const model::BeliefRegression r = model::regress_beliefs(acts, {"a", "b"}, Y);

  CHECK(scaled_error(r.fit.coef, load("coef.npy")) <= 1e-8);
  CHECK(scaled_error(r.fit.intercept, load("intercept.npy")) <= 1e-8);
  CHECK(r.fit.rank == 40);
  CHECK(scaled_error(r.predicted, load("pred.npy")) <= 1e-8);
  CHECK(std::fabs(r.all.r2_train - load("r2.npy")(0, 0)) <= 1e-8);
  CHECK(std::fabs(r.all.mse_train - load("mse.npy")(0, 0)) <= 1e-8);
  CHECK(scaled_error(r.all.r2_per_target, load("r2_raw.npy")) <= 1e-8);
  CHECK(std::isnan(r.all.r2_test));
  CHECK(std::isnan(r.all.mse_test));
  CHECK(r.split.test.empty());
  CHECK(r.split.train.size() == 300);

  // One regressor per hook, then the concatenation (the same numbers as `all`).
  REQUIRE(r.regressors.size() == 3);
  CHECK(r.regressors[0].name == "a");
  CHECK(r.regressors[0].features == 25);
  CHECK(r.regressors[1].name == "b");
  CHECK(r.regressors[1].features == 15);
  CHECK(r.regressors[2].name == "concatenated");
  CHECK(r.regressors[2].features == 40);
  CHECK(r.regressors[2].scores.r2_train == r.all.r2_train);
  // Least squares on a subset of the columns fits the training rows no better.
  for (int k = 0; k < 2; ++k) {
    CHECK(r.regressors[k].scores.mse_train >= r.all.mse_train);
    CHECK(r.regressors[k].scores.r2_train <= r.all.r2_train);
  }
}

TEST_CASE("regress_beliefs: one hook, a held-out split, bad shapes", "[model][regression]") {
  const core::RowMatrixXd X = load("X.npy"), Y = load("Y.npy");
  SECTION("one hook: no concatenated regressor") {
    const model::BeliefRegression r = model::regress_beliefs({hook(X, 0, 40)}, {"only"}, Y);
    REQUIRE(r.regressors.size() == 1);
    CHECK(r.regressors[0].name == "only");
    CHECK(scaled_error(r.fit.coef, load("coef.npy")) <= 1e-8);
  }
  SECTION("test fraction: the fit sees the train rows only, the test rows are scored") {
    const model::BeliefRegression r =
        model::regress_beliefs({hook(X, 0, 40)}, {"only"}, Y, {0.2, 7});
    CHECK(r.split.test.size() == 60);  // ceil(0.2 * 300)
    CHECK(r.split.train.size() == 240);
    std::vector<std::int64_t> all = r.split.train;
    all.insert(all.end(), r.split.test.begin(), r.split.test.end());
    std::sort(all.begin(), all.end());
    for (std::int64_t i = 0; i < 300; ++i) CHECK(all[static_cast<std::size_t>(i)] == i);
    // The fit on the training rows alone, through core (the rows picked by the split).
    core::RowMatrixXd Xtr(240, 40), Ytr(240, 5), Xte(60, 40), Yte(60, 5);
    for (Eigen::Index i = 0; i < 240; ++i) {
      Xtr.row(i) = X.row(r.split.train[static_cast<std::size_t>(i)]);
      Ytr.row(i) = Y.row(r.split.train[static_cast<std::size_t>(i)]);
    }
    for (Eigen::Index i = 0; i < 60; ++i) {
      Xte.row(i) = X.row(r.split.test[static_cast<std::size_t>(i)]);
      Yte.row(i) = Y.row(r.split.test[static_cast<std::size_t>(i)]);
    }
    const core::LinearFit fit = core::fit_linear_regression(Xtr, Ytr);
    CHECK(scaled_error(r.fit.coef, fit.coef) <= 1e-12);
    CHECK(std::fabs(r.all.r2_test - core::r2_score(Yte, core::predict(fit, Xte))) <= 1e-12);
    CHECK(std::fabs(r.all.mse_test - core::mean_squared_error(Yte, core::predict(fit, Xte))) <=
          1e-12);
    CHECK(r.predicted.rows() == 300);  // every row is predicted, train and test
  }
  SECTION("bad input") {
    CHECK_THROWS_AS(model::regress_beliefs({}, {}, Y), std::invalid_argument);
    CHECK_THROWS_AS(model::regress_beliefs({hook(X, 0, 4)}, {"a", "b"}, Y), std::invalid_argument);
    const torch::Tensor wrong = torch::zeros({29, 10, 4});
    CHECK_THROWS_AS(model::regress_beliefs({wrong}, {"a"}, Y), std::invalid_argument);
    CHECK_THROWS_AS(model::regress_beliefs({hook(X, 0, 4)}, {"a"}, Y, {1.0, 0}),
                    std::invalid_argument);
  }
}
