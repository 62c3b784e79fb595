// t-test, Pearson correlation and the generalized symmetric eigenproblem against scipy 1.17
// (tests/reference/make_stats_fixtures.py: stats.ttest_ind, stats.pearsonr, linalg.eigh(a, b)).
// Tolerances: statistics relative 1e-10, p-values relative 1e-6 (where p > 1e-300), eigenvalues
// relative 1e-6, eigenvectors |cos| >= 0.99999 with the same b-normalisation.
#include <catch2/catch.hpp>

#include "actlens/core/ged.hpp"
#include "actlens/core/stats.hpp"
#include "analysis_fixtures.hpp"

using namespace actlens;
using test::close_rel;

namespace {
const nlohmann::json& stats_fixture() {
  static const nlohmann::json j = test::read_json(test::reference_dir() / "stats" / "stats.json");
  return j;
}
Eigen::VectorXd vec(const nlohmann::json& a) {
  const auto v = a.get<std::vector<double>>();
  return Eigen::Map<const Eigen::VectorXd>(v.data(), static_cast<Eigen::Index>(v.size()));
}
Eigen::MatrixXd mat(const nlohmann::json& rows) {
  const auto n = static_cast<Eigen::Index>(rows.size());
  Eigen::MatrixXd m(n, n);
  for (Eigen::Index i = 0; i < n; ++i) m.row(i) = vec(rows[static_cast<std::size_t>(i)]);
  return m;
}
}  // namespace

TEST_CASE("ttest_ind equals scipy", "[core][reference][stats]") {
  for (const auto& c : stats_fixture()["ttest_ind"]) {
    INFO(c["name"].get<std::string>());
    const core::TTest t = core::ttest_ind(vec(c["a"]), vec(c["b"]));
    CHECK(close_rel(t.t, c["t"].get<double>(), 1e-10));
    CHECK(t.df == c["df"].get<double>());
    const double p = c["p"];
    REQUIRE(p > 1e-300);
    CHECK(close_rel(t.p, p, 1e-6));
  }
}

TEST_CASE("pearsonr equals scipy", "[core][reference][stats]") {
  for (const auto& c : stats_fixture()["pearsonr"]) {
    INFO(c["name"].get<std::string>());
    const core::Correlation r = core::pearsonr(vec(c["x"]), vec(c["y"]));
    CHECK(close_rel(r.r, c["r"].get<double>(), 1e-10));
    const double p = c["p"];
    if (p > 1e-300) CHECK(close_rel(r.p, p, 1e-6));
  }
}

TEST_CASE("eigh_generalized equals scipy.linalg.eigh(a, b)", "[core][reference][stats]") {
  for (const auto& c : stats_fixture()["eigh_generalized"]) {
    INFO(c["name"].get<std::string>());
    const Eigen::MatrixXd a = mat(c["a"]), b = mat(c["b"]);
    const Eigen::VectorXd want = vec(c["eigenvalues"]);
    const Eigen::MatrixXd want_vec = mat(c["eigenvectors"]);
    const core::GeneralizedEigen ge = core::eigh_generalized(a, b);
    REQUIRE(ge.values.size() == want.size());
    const Eigen::Index zeros = c["n_zero"].get<Eigen::Index>();
    // Scale for "zero" eigenvalues of a singular a: compare them absolutely.
    const double scale = want.cwiseAbs().maxCoeff();
    for (Eigen::Index i = 0; i < want.size(); ++i) {
      INFO("eigenvalue " << i);
      if (i < zeros) {
        CHECK(std::fabs(ge.values[i]) <= 1e-10 * scale);
        continue;
      }
      CHECK(close_rel(ge.values[i], want[i], 1e-6));
      CHECK(std::fabs(test::cosine(ge.vectors.col(i), want_vec.col(i))) >= 0.99999);
      // The same normalisation as scipy: v^T b v = 1.
      CHECK(ge.vectors.col(i).dot(b * ge.vectors.col(i)) == Approx(1.0).epsilon(1e-10));
    }
  }
}

TEST_CASE("Statistics reject degenerate input", "[core][stats]") {
  CHECK_THROWS_WITH(core::ttest_ind(Eigen::Vector2d(1, 1), Eigen::Vector2d(2, 2)),
                    Catch::Contains("zero variance"));
  CHECK_THROWS_WITH(core::ttest_ind(Eigen::VectorXd(0), Eigen::Vector3d(1, 2, 3)),
                    Catch::Contains("at least one value"));
  CHECK_THROWS_WITH(core::pearsonr(Eigen::Vector3d(1, 1, 1), Eigen::Vector3d(1, 2, 3)),
                    Catch::Contains("constant"));
  CHECK_THROWS_WITH(core::pearsonr(Eigen::Vector3d(1, 2, 1), Eigen::Vector2d(1, 2)),
                    Catch::Contains("3 values"));
  CHECK_THROWS_WITH(
      core::eigh_generalized(Eigen::Matrix2d::Identity(), -Eigen::Matrix2d::Identity()),
      Catch::Contains("not positive definite"));
}
