// actlens PCA against scikit-learn 1.9 PCA (tests/reference/make_pca_fixtures.py): every exact
// route (streamed scatter sums, Gram matrix) and the Lanczos top-k route, on data with D < N and
// D > N, the seed's l2 normalisation and StandardScaler. Tolerances (from the issue): variances
// relative 1e-6, components cos >= 0.99999 with the same sign (sklearn's svd_flip), projections
// 1e-6 of their scale; counts for 70..99% and the elbow exactly.
#include <catch2/catch.hpp>

#include <cstdlib>

#include "actlens/core/pca.hpp"
#include "actlens/core/scaler.hpp"
#include "actlens/core/scatter.hpp"
#include "actlens/io/csv.hpp"
#include "analysis_fixtures.hpp"

using namespace actlens;
using test::close_rel;
using test::load_matrix;
using test::load_vector;

namespace {

const std::vector<std::string> kCases = {"tall",    "tall_full", "wide",          "wide_full",
                                         "l2_seed", "standard",  "gap_randomized"};

std::filesystem::path case_dir(const std::string& c) {
  return test::reference_dir() / "pca" / c;
}

// The fixture's input after the normalisation its meta names.
core::RowMatrixXd normalized_input(const std::string& c, const nlohmann::json& meta) {
  core::RowMatrixXd x = load_matrix(case_dir(c) / "X.npy");
  const std::string norm = meta["normalize"];
  if (norm == "l2") {
    for (Eigen::Index r = 0; r < x.rows(); ++r) x.row(r) /= (x.row(r).norm() + 1e-8);
  } else if (norm == "standard") {
    const Eigen::VectorXd mean = x.colwise().mean().transpose();
    const Eigen::VectorXd css = (x.rowwise() - mean.transpose()).colwise().squaredNorm();
    core::fit_scaler(core::ScalerKind::Standard, static_cast<double>(x.rows()), mean, css)
        .transform(x);
  }
  return x;
}

// Checks one fit against sklearn's files for its first `k` components.
void check_fit(const core::PcaFit& fit, const std::string& c, Eigen::Index k,
               const core::RowMatrixXd& x) {
  const auto dir = case_dir(c);
  const core::RowMatrixXd comps = load_matrix(dir / "components.npy");
  const Eigen::VectorXd var = load_vector(dir / "explained_variance.npy");
  const Eigen::VectorXd ratio = load_vector(dir / "explained_variance_ratio.npy");
  const Eigen::VectorXd sv = load_vector(dir / "singular_values.npy");
  const Eigen::VectorXd mean = load_vector(dir / "mean.npy");
  const core::RowMatrixXd proj = load_matrix(dir / "projections.npy");
  REQUIRE(fit.components.rows() == k);
  REQUIRE(fit.components.cols() == comps.cols());
  CHECK((fit.mean - mean).cwiseAbs().maxCoeff() <= 1e-10 * (1 + mean.cwiseAbs().maxCoeff()));
  const Eigen::VectorXd got_ratio = fit.explained_variance_ratio();
  const Eigen::VectorXd got_sv = fit.singular_values();
  const core::RowMatrixXd got_proj = fit.transform(x);
  for (Eigen::Index i = 0; i < k; ++i) {
    // Directions of (numerically) zero variance are arbitrary in both implementations.
    if (var[i] <= 1e-9 * var[0]) continue;
    INFO("component " << i + 1 << " variance " << var[i]);
    CHECK(close_rel(fit.explained_variance[i], var[i], 1e-6));
    CHECK(close_rel(got_ratio[i], ratio[i], 1e-6));
    CHECK(close_rel(got_sv[i], sv[i], 1e-6));
    // Same sign, not just the same axis: sklearn's svd_flip convention.
    CHECK(test::cosine(fit.components.row(i).transpose(), comps.row(i).transpose()) >= 0.99999);
    const double scale = proj.col(i).cwiseAbs().maxCoeff();
    CHECK((got_proj.col(i) - proj.col(i)).cwiseAbs().maxCoeff() <= 1e-6 * scale);
  }
}

core::PcaFit streamed_fit(const core::RowMatrixXd& x, Eigen::Index k) {
  core::ScatterAccumulator acc(x.cols(), 1);
  for (Eigen::Index start = 0; start < x.rows(); start += 97) {  // uneven chunks
    const Eigen::Index n = std::min<Eigen::Index>(97, x.rows() - start);
    const std::vector<int> ids(static_cast<std::size_t>(n), 0);
    acc.add(core::RowMatrixXd(x.middleRows(start, n)), ids);
  }
  const core::ScatterStats st = acc.finalize();
  return core::pca_from_scatter(st.mean, st.total_scatter, st.n, k);
}

}  // namespace

TEST_CASE("PCA equals sklearn: exact routes", "[core][reference][pca]") {
  for (const auto& c : kCases) {
    const auto meta = test::read_json(case_dir(c) / "meta.json");
    if (meta["svd_solver"] != "full") continue;
    INFO("case " << c);
    const core::RowMatrixXd x = normalized_input(c, meta);
    const Eigen::Index k = meta["k"].get<Eigen::Index>();
    SECTION("streamed scatter, " + c) {
      check_fit(streamed_fit(x, k), c, k, x);
    }
    SECTION("gram, " + c) {
      check_fit(core::pca_gram(x, k), c, k, x);
    }
  }
}

TEST_CASE("PCA equals sklearn: the full spectrum, its counts and elbow", "[core][reference][pca]") {
  for (const auto& c : kCases) {
    INFO("case " << c);
    const auto meta = test::read_json(case_dir(c) / "meta.json");
    const core::RowMatrixXd x = normalized_input(c, meta);
    const Eigen::VectorXd spectrum = load_vector(case_dir(c) / "spectrum.npy");
    const Eigen::Index all = std::min(x.rows(), x.cols());
    for (const bool gram : {false, true}) {
      const core::PcaFit fit = gram ? core::pca_gram(x, 1) : streamed_fit(x, 1);
      REQUIRE(fit.spectrum.size() == spectrum.size());
      REQUIRE(fit.spectrum.size() == all);
      for (Eigen::Index i = 0; i < all; ++i)
        if (spectrum[i] > 1e-9 * spectrum[0]) CHECK(close_rel(fit.spectrum[i], spectrum[i], 1e-6));
      const Eigen::VectorXd ratio = fit.spectrum_ratio();
      for (const auto& [pct, m] : meta["components_for"].items())
        CHECK(core::components_for_fraction(ratio, std::stod(pct) / 100.0) ==
              m.get<Eigen::Index>());
      CHECK(core::elbow(ratio) == meta["elbow"].get<Eigen::Index>());
    }
  }
}

TEST_CASE("Top-k PCA by Lanczos equals sklearn's randomized solver on a gapped spectrum",
          "[core][reference][pca]") {
  const std::string c = "gap_randomized";
  const auto meta = test::read_json(case_dir(c) / "meta.json");
  REQUIRE(meta["gap"].get<double>() > 10);
  const core::RowMatrixXd x = normalized_input(c, meta);
  const Eigen::Index k = meta["k"].get<Eigen::Index>();
  const core::PcaFit fit = core::pca_topk(x, k);
  CHECK(fit.solver == "lanczos");
  check_fit(fit, c, k, x);
  // Determinism: the same bytes on a second run.
  const core::PcaFit again = core::pca_topk(x, k);
  CHECK(again.components == fit.components);
}

TEST_CASE("PCA rejects impossible requests", "[core][pca]") {
  const core::RowMatrixXd x = core::RowMatrixXd::Random(5, 3);
  CHECK_THROWS_WITH(core::pca_gram(x, 4), Catch::Contains("allows 1..3"));
  CHECK_THROWS_WITH(core::pca_gram(x.topRows(1), 1), Catch::Contains("at least 2 samples"));
  CHECK_THROWS_WITH(core::pca_topk(x, 3), Catch::Contains("k < min"));
  CHECK(core::components_for_fraction(Eigen::Vector3d(0.5, 0.3, 0.2), 0.8) == 2);
  CHECK(core::components_for_fraction(Eigen::Vector2d(0.5, 0.3), 0.9) == 0);
}

// Run by CTest after `actlens pca` wrote ACTLENS_PCA_OUT/<case> for every case (cli_tests.cmake).
TEST_CASE("Files written by actlens pca equal sklearn", "[.cli-output]") {
  const char* env = std::getenv("ACTLENS_PCA_OUT");
  REQUIRE(env != nullptr);
  int checked = 0;
  for (const auto& c : kCases) {
    const auto out = std::filesystem::path(env) / c;
    if (!std::filesystem::exists(out)) continue;
    INFO("case " << c);
    ++checked;
    const auto dir = case_dir(c);
    const auto meta = test::read_json(dir / "meta.json");
    const core::RowMatrixXd comps = load_matrix(dir / "components.npy");
    const core::RowMatrixXd got = load_matrix(out / "components.npy");
    const Eigen::VectorXd var = load_vector(dir / "explained_variance.npy");
    REQUIRE(got.rows() == comps.rows());
    const core::RowMatrixXd proj = load_matrix(dir / "projections.npy");
    const core::RowMatrixXd got_proj = load_matrix(out / "projections.npy");
    REQUIRE(got_proj.rows() == proj.rows());
    for (Eigen::Index i = 0; i < comps.rows(); ++i) {
      if (var[i] <= 1e-9 * var[0]) continue;
      CHECK(test::cosine(got.row(i).transpose(), comps.row(i).transpose()) >= 0.99999);
      CHECK((got_proj.col(i) - proj.col(i)).cwiseAbs().maxCoeff() <=
            1e-6 * proj.col(i).cwiseAbs().maxCoeff());
    }
    const auto j = test::read_json(out / "pca.json");
    const auto ratio = j["explained_variance_ratio"].get<std::vector<double>>();
    const Eigen::VectorXd want_ratio = load_vector(dir / "explained_variance_ratio.npy");
    for (Eigen::Index i = 0; i < want_ratio.size(); ++i)
      if (var[i] > 1e-9 * var[0])
        CHECK(close_rel(ratio[static_cast<std::size_t>(i)], want_ratio[i], 1e-6));
    if (meta["svd_solver"] == "full") {  // counts need the full spectrum
      CHECK(j["components_for"] == meta["components_for"]);
      CHECK(j["elbow"] == meta["elbow"]);
    }
    // projections.csv carries the labels and texts row by row.
    const auto csv = io::read_csv(out / "projections.csv");
    const auto labels = io::read_csv(dir / "labels.csv");
    REQUIRE(csv.rows.size() == labels.rows.size());
    CHECK(csv.rows.back()[1] == labels.rows.back()[0]);
    CHECK(csv.rows.back()[2] == labels.rows.back()[1]);
    if (std::filesystem::exists(dir / "apply_projections.npy")) {
      const core::RowMatrixXd want = load_matrix(dir / "apply_projections.npy");
      const core::RowMatrixXd have = load_matrix(out / "projections_applied.npy");
      REQUIRE(have.rows() == want.rows());
      CHECK((have - want).cwiseAbs().maxCoeff() <= 1e-6 * want.cwiseAbs().maxCoeff());
    }
  }
  CHECK(checked == static_cast<int>(kCases.size()));
}
