// GED against the seed's own code (tests/reference/seed_ged.py, run by make_ged_fixtures.py on
// saved activations): per layer the seed's 7x2 result table, the component count, both
// directions' eigenvalues, filters, patterns and projections. Tolerances: |t|, |r|, eigenvalues
// relative 1e-6; p-values relative 1e-6 (p > 1e-300); vectors |cos| >= 0.99999 (the seed's signs
// are LAPACK's: filter, pattern and projections of one direction share one sign, checked too).
#include <catch2/catch.hpp>

#include <cstdlib>

#include "actlens/core/ged.hpp"
#include "actlens/io/activation_set.hpp"
#include "actlens/io/csv.hpp"
#include "actlens/io/plain_activations.hpp"
#include "analysis_fixtures.hpp"

using namespace actlens;
using test::close_rel;
using test::load_row;

namespace {

const std::vector<std::string> kCases = {"tiny_him_her", "synthetic_wide", "synthetic_tall"};

std::filesystem::path case_dir(const std::string& c) {
  return test::reference_dir() / "ged" / c;
}

struct TwoClass {
  std::vector<core::RowMatrixXd> layers;
  std::vector<char> is_b;
  std::span<const bool> flags() const {
    return {reinterpret_cast<const bool*>(is_b.data()), is_b.size()};
  }
};

TwoClass load_split(const std::string& c, const std::string& split, const std::string& class_b) {
  TwoClass t;
  const auto set = io::ActivationSet::open(case_dir(c) / (split + ".npy"), "activations");
  for (const auto& l : set.layers()) t.layers.push_back(set.read(l));
  for (const auto& label : io::read_labels(case_dir(c) / (split + "_labels.csv"), "label"))
    t.is_b.push_back(label == class_b ? 1 : 0);
  return t;
}

// The seed's ged_results[layer] row by row, from a result.
std::vector<std::array<double, 2>> seed_table(const core::GedResult& r) {
  return {{std::fabs(r.a_gt_b.train.t), r.a_gt_b.train.p},
          {std::fabs(r.b_gt_a.train.t), r.b_gt_a.train.p},
          {std::fabs(r.pattern_correlation.r), r.pattern_correlation.p},
          {std::fabs(r.a_gt_b.test->t), r.a_gt_b.test->p},
          {std::fabs(r.b_gt_a.test->t), r.b_gt_a.test->p},
          {r.a_gt_b.eigenvalues[0], r.b_gt_a.eigenvalues[0]},
          {static_cast<double>(r.n_components), 0.0}};
}

void check_table(const std::vector<std::array<double, 2>>& got, const std::string& c,
                 Eigen::Index layer, double rel) {
  const io::Array want = io::read_npy(case_dir(c) / "ged_results.npy");
  const auto w = io::to_double_vector(want);
  for (std::size_t row = 0; row < 7; ++row)
    for (std::size_t col = 0; col < 2; ++col) {
      const double e = w[static_cast<std::size_t>(layer) * 14 + row * 2 + col];
      INFO("ged_results[" << layer << ", " << row << ", " << col << "] = " << e);
      if (row == 6 || e == 0) {
        CHECK(got[row][col] == e);
      } else if (col == 1 && row < 5 && e <= 1e-300) {
        CHECK(got[row][col] <= 1e-290);
      } else {
        CHECK(close_rel(got[row][col], e, rel));
      }
    }
}

// Same direction up to one sign shared by filter, pattern and projections.
void check_direction(const core::GedDirection& d, const std::string& c, Eigen::Index layer,
                     const std::string& tag) {
  const auto dir = case_dir(c);
  const Eigen::VectorXd filter = load_row(dir / ("filter_" + tag + ".npy"), layer);
  const double cos = test::cosine(d.filter, filter);
  CHECK(std::fabs(cos) >= 0.99999);
  const double sign = cos < 0 ? -1.0 : 1.0;
  CHECK(test::cosine(sign * d.pattern, load_row(dir / ("pattern_" + tag + ".npy"), layer)) >=
        0.99999);
  const Eigen::VectorXd proj = load_row(dir / ("proj_train_" + tag + ".npy"), layer);
  CHECK((sign * d.train_projection - proj).cwiseAbs().maxCoeff() <=
        1e-6 * proj.cwiseAbs().maxCoeff());
  const Eigen::VectorXd tproj = load_row(dir / ("proj_test_" + tag + ".npy"), layer);
  CHECK((sign * d.test_projection - tproj).cwiseAbs().maxCoeff() <=
        1e-6 * tproj.cwiseAbs().maxCoeff());
  // Every eigenvalue, not only the top one.
  const auto all = io::read_npz(dir / ("eigenvalues_" + tag + ".npz"));
  const auto want = io::to_double_vector(all.at("layer" + std::to_string(layer)));
  REQUIRE(static_cast<std::size_t>(d.eigenvalues.size()) == want.size());
  for (std::size_t i = 0; i < want.size(); ++i)
    if (std::fabs(want[i]) > 1e-9 * std::fabs(want[0]))
      CHECK(close_rel(d.eigenvalues[static_cast<Eigen::Index>(i)], want[i], 1e-6));
}

}  // namespace

TEST_CASE("GED equals the seed's code on saved activations", "[core][reference][ged]") {
  for (const auto& c : kCases) {
    const auto meta = test::read_json(case_dir(c) / "meta.json");
    const std::string class_b = meta["classes"][1];
    const TwoClass train = load_split(c, "train", class_b);
    const TwoClass test_set = load_split(c, "test", class_b);
    for (std::size_t l = 0; l < train.layers.size(); ++l) {
      INFO("case " << c << " layer " << l);
      const core::GedResult r = core::ged_two_class(train.layers[l], train.flags(),
                                                    &test_set.layers[l], test_set.flags(), {});
      CHECK(r.n_components == meta["n_components"][l].get<Eigen::Index>());
      check_table(seed_table(r), c, static_cast<Eigen::Index>(l), 1e-6);
      check_direction(r.a_gt_b, c, static_cast<Eigen::Index>(l), "a");
      check_direction(r.b_gt_a, c, static_cast<Eigen::Index>(l), "b");
      // Our sign convention: the filter's largest-|.| coordinate is positive.
      Eigen::Index j = 0;
      r.a_gt_b.filter.cwiseAbs().maxCoeff(&j);
      CHECK(r.a_gt_b.filter[j] > 0);
    }
  }
}

TEST_CASE("GED component rules: the seed's and the plain one", "[core][ged]") {
  const Eigen::VectorXd ratio = (Eigen::VectorXd(4) << 0.9, 0.095, 0.004, 0.001).finished();
  core::GedOptions seed;
  CHECK(core::ged_component_count(ratio, seed) == 1);  // cum% 90, 99.5: index 1 used as a count
  core::GedOptions plain;
  plain.variance_percent = 99;
  CHECK(core::ged_component_count(ratio, plain) == 2);  // the first count reaching 99%
  CHECK(core::ged_component_count((Eigen::VectorXd(2) << 0.995, 0.005).finished(), seed) == 0);
}

TEST_CASE("GED rejects degenerate input", "[core][ged]") {
  core::RowMatrixXd x = core::RowMatrixXd::Random(6, 4);
  std::vector<char> one_b = {0, 0, 0, 0, 0, 1};
  std::span<const bool> flags(reinterpret_cast<const bool*>(one_b.data()), one_b.size());
  CHECK_THROWS_WITH(core::ged_two_class(x, flags, nullptr, {}, {}),
                    Catch::Contains("at least 2 training rows"));
  std::vector<char> half = {0, 0, 0, 1, 1, 1};
  std::span<const bool> hf(reinterpret_cast<const bool*>(half.data()), half.size());
  const core::RowMatrixXd constant = core::RowMatrixXd::Ones(6, 4);
  CHECK_THROWS_WITH(core::ged_two_class(constant, hf, nullptr, {}, {}),
                    Catch::Contains("constant"));
}

// Run by CTest after `actlens ged` wrote ACTLENS_GED_OUT/<case> from the saved activations.
TEST_CASE("Files written by actlens ged equal the seed", "[.cli-output]") {
  const char* env = std::getenv("ACTLENS_GED_OUT");
  REQUIRE(env != nullptr);
  // ACTLENS_GED_CASES: "case" or "case:relative tolerance" entries, comma-separated.
  const char* cases_env = std::getenv("ACTLENS_GED_CASES");
  REQUIRE(cases_env != nullptr);
  std::stringstream ss(cases_env);
  std::string entry;
  int checked = 0;
  while (std::getline(ss, entry, ',')) {
    const auto colon = entry.find(':');
    const std::string c = entry.substr(0, colon);
    const double rel = colon == std::string::npos ? 1e-6 : std::stod(entry.substr(colon + 1));
    const auto out = std::filesystem::path(env) / c;
    INFO("case " << c << " tolerance " << rel);
    const auto meta = test::read_json(case_dir(c) / "meta.json");
    const auto table = io::read_csv(out / "ged_layers.csv");
    REQUIRE(table.rows.size() == meta["L"].get<std::size_t>());
    const auto col = [&](const char* name) { return table.column(name); };
    for (std::size_t l = 0; l < table.rows.size(); ++l) {
      const auto& row = table.rows[l];
      const auto v = [&](const char* name) {
        return std::stod(row[static_cast<std::size_t>(col(name))]);
      };
      std::vector<std::array<double, 2>> got = {
          {v("train_abs_t_a_gt_b"), v("train_p_a_gt_b")},
          {v("train_abs_t_b_gt_a"), v("train_p_b_gt_a")},
          {v("pattern_abs_r"), v("pattern_p")},
          {v("test_abs_t_a_gt_b"), v("test_p_a_gt_b")},
          {v("test_abs_t_b_gt_a"), v("test_p_b_gt_a")},
          {v("top_eigenvalue_a_gt_b"), v("top_eigenvalue_b_gt_a")},
          {v("n_components"), 0.0}};
      check_table(got, c, static_cast<Eigen::Index>(l), rel);
      const auto layer_dir = out / "layers" / row[static_cast<std::size_t>(col("layer"))];
      for (const auto& [tag, ours] : {std::pair{"a", "a_gt_b"}, std::pair{"b", "b_gt_a"}}) {
        const Eigen::VectorXd want = load_row(case_dir(c) / (std::string("filter_") + tag + ".npy"),
                                              static_cast<Eigen::Index>(l));
        const Eigen::VectorXd have =
            test::load_vector(layer_dir / (std::string("filter_") + ours + ".npy"));
        CHECK(std::fabs(test::cosine(have, want)) >= 1 - rel);
      }
    }
    ++checked;
  }
  CHECK(checked > 0);
}
