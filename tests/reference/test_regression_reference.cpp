// actlens linear regression against scikit-learn 1.9 LinearRegression / r2_score /
// mean_squared_error (tests/reference/make_regression_fixtures.py): tall, simplex ("beliefs")
// targets, rank-deficient and wide X, a constant target and a worse-than-the-mean prediction.
// Tolerance: |got - sklearn| <= 1e-8 * max(1, max |sklearn| over the compared array), i.e.
// absolute 1e-8 for arrays of magnitude <= 1, relative to the array's largest entry above; ranks
// exactly. Plus the train/test split's properties.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <tuple>

#include "actlens/core/regression.hpp"
#include "analysis_fixtures.hpp"

using namespace actlens;
using test::load_matrix;
using test::load_vector;

namespace {

constexpr double kTol = 1e-8;

std::filesystem::path case_dir(const std::string& c) {
  return test::reference_dir() / "regression" / c;
}

// max |got - want| / max(1, max |want|); also fails on a shape mismatch.
template <typename A, typename B>
double scaled_error(const A& got, const B& want) {
  REQUIRE(got.rows() == want.rows());
  REQUIRE(got.cols() == want.cols());
  if (want.size() == 0) return 0;
  const double scale = std::max(1.0, want.cwiseAbs().maxCoeff());
  return (got - want).cwiseAbs().maxCoeff() / scale;
}

double scalar(const std::filesystem::path& p) {
  const Eigen::VectorXd v = load_vector(p);
  REQUIRE(v.size() == 1);
  return v[0];
}

// Checks r2 (raw, uniform) and mse of `pred` against the fixture's files with `prefix`.
void check_scores(const std::filesystem::path& dir, const std::string& prefix,
                  const core::RowMatrixXd& y, const core::RowMatrixXd& pred) {
  const Eigen::VectorXd raw = load_vector(dir / (prefix + "r2_raw.npy"));
  INFO("scores " << prefix);
  CHECK(scaled_error(core::r2_per_target(y, pred), raw) <= kTol);
  CHECK(std::fabs(core::r2_score(y, pred) - scalar(dir / (prefix + "r2.npy"))) <= kTol);
  const double mse = scalar(dir / (prefix + "mse.npy"));
  CHECK(std::fabs(core::mean_squared_error(y, pred) - mse) <= kTol * std::max(1.0, mse));
}

const std::vector<std::string> kCases = {"tall", "beliefs", "rankdef", "wide", "constant", "worse"};

double g_max_coef = 0, g_max_intercept = 0, g_max_pred = 0, g_max_singular = 0;

}  // namespace

TEST_CASE("Linear regression equals sklearn LinearRegression", "[core][reference][regression]") {
  for (const auto& c : kCases) {
    INFO("case " << c);
    const auto dir = case_dir(c);
    const core::RowMatrixXd x = load_matrix(dir / "X.npy");
    const core::RowMatrixXd y = load_matrix(dir / "Y.npy");
    const Eigen::MatrixXd coef = load_matrix(dir / "coef.npy");
    const Eigen::VectorXd intercept = load_vector(dir / "intercept.npy");
    const Eigen::VectorXd singular = load_vector(dir / "singular.npy");
    const core::RowMatrixXd pred = load_matrix(dir / "pred.npy");

    const core::LinearFit fit = core::fit_linear_regression(x, y);
    CHECK(fit.rank == static_cast<int>(scalar(dir / "rank.npy")));
    const double e_coef = scaled_error(fit.coef, coef);
    const double e_int = scaled_error(fit.intercept, intercept);
    CHECK(e_coef <= kTol);
    CHECK(e_int <= kTol);
    // Singular values relative to the largest (the tiny ones are rounding noise in both).
    REQUIRE(fit.singular.size() == singular.size());
    const double e_sing = (fit.singular - singular).cwiseAbs().maxCoeff() / singular[0];
    CHECK(e_sing <= kTol);

    const core::RowMatrixXd got_pred = core::predict(fit, x);
    const double e_pred = scaled_error(got_pred, pred);
    CHECK(e_pred <= kTol);
    check_scores(dir, "", y, got_pred);
    // The scores alone, on sklearn's own predictions.
    check_scores(dir, "", y, pred);
    if (std::filesystem::exists(dir / "alt_pred.npy"))
      check_scores(dir, "alt_", y, load_matrix(dir / "alt_pred.npy"));

    g_max_coef = std::max(g_max_coef, e_coef);
    g_max_intercept = std::max(g_max_intercept, e_int);
    g_max_pred = std::max(g_max_pred, e_pred);
    g_max_singular = std::max(g_max_singular, e_sing);
  }
  WARN("max scaled errors vs sklearn: coef " << g_max_coef << ", intercept " << g_max_intercept
                                             << ", pred " << g_max_pred << ", singular "
                                             << g_max_singular);
}

TEST_CASE("Regression on simplex targets keeps the simplex's affine constraint",
          "[core][reference][regression]") {
  const auto dir = case_dir("beliefs");
  const core::RowMatrixXd y = load_matrix(dir / "Y.npy");
  REQUIRE((y.rowwise().sum().array() - 1).abs().maxCoeff() < 1e-12);
  const core::LinearFit fit = core::fit_linear_regression(load_matrix(dir / "X.npy"), y);
  // Rows of y sum to 1, so predictions must too: intercepts sum to 1, coefficients to 0.
  CHECK(std::fabs(fit.intercept.sum() - 1) < 1e-10);
  CHECK(fit.coef.colwise().sum().cwiseAbs().maxCoeff() < 1e-10);
}

TEST_CASE("Rank-deficient regression is the minimum-norm solution at sklearn's cut-off",
          "[core][reference][regression]") {
  const auto dir = case_dir("rankdef");
  const core::RowMatrixXd x = load_matrix(dir / "X.npy");
  const core::RowMatrixXd y = load_matrix(dir / "Y.npy");
  const core::LinearFit fit = core::fit_linear_regression(x, y);
  REQUIRE(fit.coef.cols() == 12);
  CHECK(fit.rank == 6);
  // Columns 0 and 6 (and 3 and 11) are equal: minimum norm splits their weight evenly.
  CHECK((fit.coef.col(0) - fit.coef.col(6)).cwiseAbs().maxCoeff() < 1e-10);
  CHECK((fit.coef.col(3) - fit.coef.col(11)).cwiseAbs().maxCoeff() < 1e-10);
  // Column 7 = 2 column 2: minimum norm gives it twice column 2's weight.
  CHECK((fit.coef.col(7) - 2 * fit.coef.col(2)).cwiseAbs().maxCoeff() < 1e-10);
  // The zero and the constant column (zero once centred) get no weight.
  CHECK(fit.coef.col(8).cwiseAbs().maxCoeff() < 1e-12);
  CHECK(fit.coef.col(9).cwiseAbs().maxCoeff() < 1e-12);
  // With machine epsilon as the cut-off (scipy's lstsq default) the float32-rounding singular
  // value (~9e-9 relative) counts: rank 7 and far larger coefficients.
  const core::LinearFit eps_fit = core::fit_linear_regression(x, y, -1);
  CHECK(eps_fit.rank == 7);
  CHECK(eps_fit.coef.cwiseAbs().maxCoeff() > 100 * fit.coef.cwiseAbs().maxCoeff());
}

TEST_CASE("r2 follows sklearn's force_finite for constant targets", "[core][regression]") {
  const auto dir = case_dir("constant");
  const core::RowMatrixXd y = load_matrix(dir / "Y.npy");
  const core::RowMatrixXd pred = load_matrix(dir / "pred.npy");
  const core::RowMatrixXd alt = load_matrix(dir / "alt_pred.npy");
  CHECK(core::r2_per_target(y, pred)[1] == 1.0);
  CHECK(core::r2_per_target(y, alt)[1] == 0.0);
  // A constant whose np.mean is inexact (0.1 over 3 rows: 0.30000000000000004 / 3): still
  // treated as constant, not scored against a rounding-sized denominator.
  core::RowMatrixXd yc(3, 1), pc(3, 1);
  yc << 0.1, 0.1, 0.1;
  pc << 0.1, 0.1, 0.2;
  CHECK(core::r2_per_target(yc, yc)[0] == 1.0);
  CHECK(core::r2_per_target(yc, pc)[0] == 0.0);
  // Worse than the mean is negative and unclipped.
  const auto wdir = case_dir("worse");
  const Eigen::VectorXd worse =
      core::r2_per_target(load_matrix(wdir / "Y.npy"), load_matrix(wdir / "alt_pred.npy"));
  CHECK(worse.maxCoeff() < -1);
}

TEST_CASE("Linear regression rejects bad input, naming it", "[core][regression]") {
  core::RowMatrixXd x = core::RowMatrixXd::Random(10, 3);
  core::RowMatrixXd y = core::RowMatrixXd::Random(10, 2);
  CHECK_NOTHROW(core::fit_linear_regression(x, y));
  CHECK_THROWS_WITH(core::fit_linear_regression(x.topRows(1), y.topRows(1)),
                    Catch::Contains("at least 2"));
  CHECK_THROWS_WITH(core::fit_linear_regression(x, y.topRows(9)), Catch::Contains("y has 9 rows"));
  CHECK_THROWS_WITH(core::fit_linear_regression(core::RowMatrixXd(10, 0), y),
                    Catch::Contains("x is empty"));
  CHECK_THROWS_WITH(core::fit_linear_regression(x, core::RowMatrixXd(10, 0)),
                    Catch::Contains("y is empty"));
  core::RowMatrixXd bad = x;
  bad(4, 1) = std::numeric_limits<double>::quiet_NaN();
  bad(7, 0) = std::numeric_limits<double>::infinity();
  CHECK_THROWS_WITH(core::fit_linear_regression(bad, y),
                    Catch::Contains("x has a non-finite") && Catch::Contains("row 4"));
  core::RowMatrixXd bad_y = y;
  bad_y(6, 1) = -std::numeric_limits<double>::infinity();
  CHECK_THROWS_WITH(core::fit_linear_regression(x, bad_y),
                    Catch::Contains("y has a non-finite") && Catch::Contains("row 6"));
  const core::LinearFit fit = core::fit_linear_regression(x, y);
  CHECK_THROWS_WITH(core::predict(fit, core::RowMatrixXd::Zero(4, 2)),
                    Catch::Contains("2 columns"));
  CHECK_THROWS_AS(core::r2_score(y, y.leftCols(1)), std::invalid_argument);
  CHECK_THROWS_AS(core::r2_score(y.topRows(1), y.topRows(1)), std::invalid_argument);
  CHECK_THROWS_WITH(core::mean_squared_error(y, bad_y), Catch::Contains("pred has a non-finite"));
}

TEST_CASE("train_test_split: sklearn's sizes, a disjoint sorted cover, seeded",
          "[core][regression]") {
  // Sizes against sklearn's train_test_split (n_test = ceil(fraction n) in doubles).
  const core::RowMatrixXd sizes =
      load_matrix(test::reference_dir() / "regression" / "split_sizes.npy");
  REQUIRE(sizes.rows() > 50);
  std::vector<std::tuple<std::int64_t, double, std::size_t>> cases;
  for (Eigen::Index r = 0; r < sizes.rows(); ++r)
    cases.emplace_back(static_cast<std::int64_t>(sizes(r, 0)), sizes(r, 1),
                       static_cast<std::size_t>(sizes(r, 2)));
  // 0 (which sklearn rejects): everything is train.
  cases.emplace_back(1, 0.0, 0);
  cases.emplace_back(7, 0.0, 0);
  for (const auto& [n, fraction, n_test] : cases) {
    INFO("n " << n << " fraction " << fraction);
    const core::Split s = core::train_test_split(n, fraction, 7);
    CHECK(s.test.size() == n_test);
    CHECK(s.train.size() == static_cast<std::size_t>(n) - n_test);
    CHECK(std::is_sorted(s.train.begin(), s.train.end()));
    CHECK(std::is_sorted(s.test.begin(), s.test.end()));
    std::set<std::int64_t> all(s.train.begin(), s.train.end());
    all.insert(s.test.begin(), s.test.end());
    CHECK(all.size() == static_cast<std::size_t>(n));  // disjoint and complete
    CHECK(*all.begin() == 0);
    CHECK(*all.rbegin() == n - 1);
  }
  // The rounding-up case the fixture must contain: 0.07 * 100 = 7.000000000000001 -> 8.
  CHECK(core::train_test_split(100, 0.07, 0).test.size() == 8);

  const core::Split a = core::train_test_split(1000, 0.2, 123);
  const core::Split b = core::train_test_split(1000, 0.2, 123);
  const core::Split c = core::train_test_split(1000, 0.2, 124);
  CHECK(a.test == b.test);
  CHECK(a.train == b.train);
  CHECK(a.test != c.test);
  // Not the trivial split: the test rows are spread over the whole range.
  CHECK(a.test.front() < 50);
  CHECK(a.test.back() > 950);
  // The same on every platform: mt19937_64 is fully specified and the draw is our own.
  CHECK(core::train_test_split(10, 0.3, 42).test == std::vector<std::int64_t>{1, 7, 9});

  // Unbiased: over many seeds every row lands in test about fraction of the time.
  std::vector<int> hits(10, 0);
  const int seeds = 20000;
  for (int s = 0; s < seeds; ++s)
    for (const auto i : core::train_test_split(10, 0.3, static_cast<std::uint64_t>(s)).test)
      ++hits[static_cast<std::size_t>(i)];
  for (int i = 0; i < 10; ++i) {
    INFO("row " << i);
    CHECK(std::abs(hits[static_cast<std::size_t>(i)] - 6000) < 400);  // sd ~65
  }

  CHECK_THROWS_WITH(core::train_test_split(10, 1.0, 0), Catch::Contains("test_fraction"));
  CHECK_THROWS_WITH(core::train_test_split(10, -0.1, 0), Catch::Contains("test_fraction"));
  CHECK_THROWS_WITH(core::train_test_split(10, std::nan(""), 0), Catch::Contains("test_fraction"));
  CHECK_THROWS_WITH(core::train_test_split(10, 0.95, 0), Catch::Contains("no training rows"));
  CHECK_THROWS_WITH(core::train_test_split(0, 0.2, 0), Catch::Contains("n must be"));
}
