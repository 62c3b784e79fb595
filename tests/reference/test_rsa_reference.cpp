// actlens RSA against numpy/scipy (tests/reference/make_rsa_fixtures.py): cosine matrices and
// upper triangles as the seed computes them, Pearson (np.corrcoef), Spearman and Kendall (scipy,
// with p-values), the seed's selectivity index (verbatim for its 3 groups, the generalisation for
// 4 interleaved groups), and the permutation test against an exact enumeration of all 7!
// relabellings. Tolerances: 1e-10 (float64, the issue's) on every number; p-values relative 1e-9.
#include <catch2/catch.hpp>

#include <fstream>
#include <nlohmann/json.hpp>

#include "actlens/core/rsa.hpp"
#include "actlens/core/stats.hpp"
#include "analysis_fixtures.hpp"

using namespace actlens;
using test::close_rel;
using test::load_matrix;
using test::load_vector;

namespace {

std::filesystem::path rsa_dir(const std::string& c) {
  return test::reference_dir() / "rsa" / c;
}

nlohmann::json read_json(const std::filesystem::path& p) {
  std::ifstream in(p);
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

std::vector<int> group_indices(const std::filesystem::path& csv, std::vector<std::string> order) {
  std::ifstream in(csv);
  std::string line;
  std::getline(in, line);  // header
  std::vector<int> idx;
  while (std::getline(in, line)) {
    const std::string g = line.substr(line.find(',') + 1);
    idx.push_back(static_cast<int>(std::find(order.begin(), order.end(), g) - order.begin()));
  }
  return idx;
}

}  // namespace

TEST_CASE("RSA equals numpy/scipy on the fixtures", "[core][reference][rsa]") {
  for (const std::string c : {"seed20", "four_groups", "small7"}) {
    INFO("case " << c);
    const auto exp = read_json(rsa_dir(c) / "expected.json");
    const core::RowMatrixXd ca = core::cosine_matrix(load_matrix(rsa_dir(c) / "A.npy"));
    const core::RowMatrixXd cb = core::cosine_matrix(load_matrix(rsa_dir(c) / "B.npy"));
    CHECK((ca - load_matrix(rsa_dir(c) / "cos_a.npy")).cwiseAbs().maxCoeff() < 1e-12);
    CHECK((cb - load_matrix(rsa_dir(c) / "cos_b.npy")).cwiseAbs().maxCoeff() < 1e-12);
    const Eigen::VectorXd ua = core::upper_triangle(ca);
    CHECK((ua - load_vector(rsa_dir(c) / "upper_a.npy")).cwiseAbs().maxCoeff() < 1e-12);
    for (const std::string m : {"pearson", "spearman", "kendall"}) {
      INFO("method " << m);
      const core::RsaScore s = core::rsa(ca, cb, core::parse_correlation_method(m));
      CHECK(std::fabs(s.correlation.r - exp[m]["r"].get<double>()) < 1e-10);
      CHECK(close_rel(s.correlation.p, exp[m]["p"].get<double>(), 1e-9));
    }
    if (exp.contains("selectivity")) {
      const auto sel = exp["selectivity"];
      const auto groups = group_indices(rsa_dir(c) / "groups.csv", sel["group_order"]);
      for (const auto& [key, cs] : {std::pair{"a", &ca}, std::pair{"b", &cb}}) {
        const core::Selectivity s = core::selectivity_index(*cs, groups);
        const auto& e = sel[key];
        CHECK(std::fabs(s.index - e["index"].get<double>()) < 1e-10);
        CHECK(std::fabs(s.numerator - e["numerator"].get<double>()) < 1e-10);
        CHECK(std::fabs(s.denominator - e["denominator"].get<double>()) < 1e-10);
        for (Eigen::Index g = 0; g < s.within.size(); ++g) {
          CHECK(std::fabs(s.within[g] - e["within"][static_cast<std::size_t>(g)].get<double>()) <
                1e-10);
          for (Eigen::Index h = 0; h < s.within.size(); ++h)
            CHECK(std::fabs(s.between(g, h) -
                            e["between"][static_cast<std::size_t>(g)][static_cast<std::size_t>(h)]
                                .get<double>()) < 1e-10);
        }
        if (e.contains("seed")) {  // the seed's own code (masks 1, 4, 9 over 2, 3, 6)
          CHECK(std::fabs(s.index - e["seed"]["index"].get<double>()) < 1e-10);
          CHECK(std::fabs(s.numerator - e["seed"]["numerator"].get<double>()) < 1e-10);
        }
      }
    }
  }
}

TEST_CASE("The RSA permutation p estimates the exact permutation p", "[core][reference][rsa]") {
  const auto exp = read_json(rsa_dir("small7") / "expected.json");
  const double exact = exp["permutation"]["exact_p"];  // 0.148: every one of the 5040 orders
  const core::RowMatrixXd ca = core::cosine_matrix(load_matrix(rsa_dir("small7") / "A.npy"));
  const core::RowMatrixXd cb = core::cosine_matrix(load_matrix(rsa_dir("small7") / "B.npy"));
  const std::int64_t n = 20000;
  const core::RsaScore s = core::rsa(ca, cb, core::CorrelationMethod::Pearson, n, 7);
  // Monte-Carlo standard error sqrt(p (1 - p) / n) = 0.0025: allow 5 of them.
  CHECK(std::fabs(s.permutation_p - exact) < 5 * std::sqrt(exact * (1 - exact) / n));
  // the same seed gives the same p; the identity permutation's r reproduces the statistic
  CHECK(core::rsa(ca, cb, core::CorrelationMethod::Pearson, n, 7).permutation_p == s.permutation_p);
  CHECK(core::rsa(ca, cb, core::CorrelationMethod::Pearson, 1000, 8).permutation_p !=
        core::rsa(ca, cb, core::CorrelationMethod::Pearson, 1000, 9).permutation_p);
}

TEST_CASE("Rank correlations equal scipy", "[core][reference][stats][rsa]") {
  const auto exp = read_json(rsa_dir("stats") / "expected.json");
  for (const std::string c : {"continuous", "ties", "small", "exact33"}) {
    INFO("case " << c);
    const Eigen::VectorXd x = load_vector(rsa_dir("stats") / ("x_" + c + ".npy"));
    const Eigen::VectorXd y = load_vector(rsa_dir("stats") / ("y_" + c + ".npy"));
    const Eigen::VectorXd ranks = core::rankdata(x);
    for (Eigen::Index i = 0; i < x.size(); ++i)
      CHECK(ranks[i] == exp[c]["rankdata_x"][static_cast<std::size_t>(i)].get<double>());
    const auto check = [&](const core::Correlation& got, const nlohmann::json& want) {
      CHECK(std::fabs(got.r - want[0].get<double>()) < 1e-10);
      CHECK(close_rel(got.p, want[1].get<double>(), 1e-9));
    };
    check(core::pearsonr(x, y), exp[c]["pearson"]);
    check(core::spearmanr(x, y), exp[c]["spearman"]);
    check(core::kendalltau(x, y), exp[c]["kendall"]);
  }
}

TEST_CASE("RSA rejects degenerate input", "[core][rsa]") {
  core::RowMatrixXd e = core::RowMatrixXd::Random(5, 3);
  e.row(3).setZero();
  CHECK_THROWS_WITH(core::cosine_matrix(e), Catch::Contains("row 3 has zero length"));
  const core::RowMatrixXd c = core::cosine_matrix(core::RowMatrixXd::Random(6, 4));
  CHECK_THROWS_WITH(core::selectivity_index(c, {0, 0, 1, 1, 1, 2}),
                    Catch::Contains("group 2 has fewer than two items"));
  CHECK_THROWS_WITH(core::selectivity_index(c, {0, 0, 0, 0, 0, 0}),
                    Catch::Contains("at least two groups"));
  CHECK_THROWS_WITH(core::rsa(c, c.topLeftCorner(5, 5), core::CorrelationMethod::Pearson),
                    Catch::Contains("same size"));
  CHECK_THROWS_WITH(core::parse_correlation_method("cosine"), Catch::Contains("use pearson"));
  CHECK_THROWS(core::kendalltau(Eigen::VectorXd::Ones(5), Eigen::VectorXd::LinSpaced(5, 0, 1)));
}
