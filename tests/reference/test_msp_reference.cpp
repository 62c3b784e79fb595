// Hidden Markov processes and the mixed-state presentation against an independent numpy
// implementation (tests/reference/make_msp_fixtures.py -> tests/reference/msp/*.json): the
// seed's counts (RRXOR depth 11: 1723 tree beliefs, 36 unique, 436 inputs of length 10), unique
// beliefs as sorted sets, stationary distribution, entropy rate and the Bayes-optimal loss per
// context length, all to 1e-12 (float64 throughout); canonical order and pure-state names; and
// refusals of bad input (unknown process, rows not summing to 1, a tree too big).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "../unit/test_paths.hpp"
#include "actlens/core/msp.hpp"
#include "actlens/core/process.hpp"
#include "actlens/error.hpp"
#include "actlens/io/process_json.hpp"

using namespace actlens;

namespace {

constexpr double kTol = 1e-12;

nlohmann::json fixture(const std::string& name) {
  std::ifstream in(test::reference_dir() / "msp" / (name + ".json"));
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

// Rows sorted by their values rounded to 1e-9 (so that last-bit differences between numpy and
// Eigen cannot reorder rows).
std::vector<std::vector<double>> sorted_rows(std::vector<std::vector<double>> rows) {
  auto key = [](const std::vector<double>& r) {
    std::vector<long long> k;
    for (double v : r) k.push_back(std::llround(v * 1e9));
    return k;
  };
  std::sort(rows.begin(), rows.end(),
            [&](const auto& a, const auto& b) { return key(a) < key(b); });
  return rows;
}

std::vector<std::vector<double>> rows_of(const core::RowMatrixXd& m) {
  std::vector<std::vector<double>> rows;
  for (Eigen::Index r = 0; r < m.rows(); ++r)
    rows.emplace_back(m.row(r).data(), m.row(r).data() + m.cols());
  return rows;
}

void check_case(const core::Process& p, const std::string& name) {
  const auto f = fixture(name);
  const int depth = f["depth"], n_ctx = f["n_ctx"];
  const core::MspTree tree = core::build_msp(p, {depth, 5'000'000});
  CHECK(tree.n_nodes() == f["n_tree_beliefs"].get<std::int64_t>());
  CHECK(tree.n_unique() == f["n_unique"].get<std::int64_t>());
  const core::MspInputs in = core::msp_inputs(tree, n_ctx);
  CHECK(in.tokens.rows() == f["n_inputs"].get<std::int64_t>());

  const Eigen::VectorXd pi = core::stationary_distribution(p);
  for (int i = 0; i < p.n_states(); ++i)
    CHECK(std::abs(pi[i] - f["stationary"][i].get<double>()) < kTol);
  const core::EntropyRate h = core::entropy_rate(p, n_ctx);
  CHECK(h.exact == f["entropy_rate_exact"].get<bool>());
  CHECK(std::abs(h.nats - f["entropy_rate"].get<double>()) < kTol);

  const core::BayesLoss loss = core::bayes_optimal_loss(p, tree, n_ctx);
  REQUIRE(loss.per_context.size() == f["bayes_per_context"].size());
  for (std::size_t k = 0; k < loss.per_context.size(); ++k)
    CHECK(std::abs(loss.per_context[k] - f["bayes_per_context"][k].get<double>()) < kTol);
  CHECK(std::abs(loss.mean - f["bayes_mean"].get<double>()) < kTol);

  // The same set of unique beliefs, and the same canonical (breadth-first) order.
  const auto got = sorted_rows(rows_of(tree.unique_beliefs));
  const auto want = sorted_rows(f["unique_beliefs_sorted"].get<std::vector<std::vector<double>>>());
  REQUIRE(got.size() == want.size());
  double worst = 0;
  for (std::size_t r = 0; r < got.size(); ++r)
    for (std::size_t c = 0; c < got[r].size(); ++c)
      worst = std::max(worst, std::abs(got[r][c] - want[r][c]));
  CHECK(worst < kTol);
  const auto bfs = f["unique_beliefs_bfs"].get<std::vector<std::vector<double>>>();
  worst = 0;
  for (std::size_t r = 0; r < bfs.size(); ++r)
    for (std::size_t c = 0; c < bfs[r].size(); ++c)
      worst = std::max(worst, std::abs(tree.unique_beliefs(static_cast<Eigen::Index>(r),
                                                           static_cast<Eigen::Index>(c)) -
                                       bfs[r][c]));
  CHECK(worst < kTol);
  CHECK(tree.unique_names == f["unique_names"].get<std::vector<std::string>>());

  // The first inputs and their per-position belief indices.
  const auto first = f["first_inputs"].get<std::vector<std::vector<std::int64_t>>>();
  const auto first_idx =
      f["first_input_belief_indices"].get<std::vector<std::vector<std::int64_t>>>();
  for (std::size_t r = 0; r < first.size(); ++r)
    for (int t = 0; t < n_ctx; ++t) {
      const auto row = static_cast<Eigen::Index>(r);
      CHECK(in.tokens(row, t) == first[r][static_cast<std::size_t>(t)]);
      CHECK(in.belief_indices(row, t) == first_idx[r][static_cast<std::size_t>(t)]);
    }
}

}  // namespace

TEST_CASE("RRXOR MSP reproduces the seed's counts and the numpy reference",
          "[core][reference][msp]") {
  const core::Process p = core::rrxor();
  check_case(p, "rrxor");
  const core::MspTree tree = core::build_msp(p, {11, 5'000'000});
  CHECK(tree.n_nodes() == 1723);
  CHECK(tree.n_unique() == 36);
  CHECK(core::msp_inputs(tree, 10).tokens.rows() == 436);
  // stationary (1/3, 1/6, 1/6, 1/6, 1/6); entropy rate 2/3 bit
  const Eigen::VectorXd pi = core::stationary_distribution(p);
  CHECK(std::abs(pi[0] - 1.0 / 3) < kTol);
  for (int i = 1; i < 5; ++i) CHECK(std::abs(pi[i] - 1.0 / 6) < kTol);
  CHECK(std::abs(core::entropy_rate(p).nats - 2.0 / 3 * std::log(2.0)) < kTol);
  // pure states are named
  std::set<std::string> names(tree.unique_names.begin(), tree.unique_names.end());
  CHECK(names.count("State T") == 1);
  CHECK(names.count("State F") == 1);
  CHECK(names.count("State S") == 1);
  CHECK(tree.unique_names[0] == "belief 0");  // the stationary distribution comes first
  // canonical order is stable: a second build is identical
  const core::MspTree again = core::build_msp(p, {11, 5'000'000});
  CHECK(again.unique_index == tree.unique_index);
  CHECK(again.unique_beliefs == tree.unique_beliefs);
  // per-position beliefs of an input are the tree's beliefs of its prefixes
  const core::MspInputs in = core::msp_inputs(tree, 10);
  for (int t = 0; t < 10; ++t) {
    const auto k = in.belief_indices(0, t);
    for (int s = 0; s < 5; ++s)
      CHECK(std::abs(in.beliefs[static_cast<std::size_t>(t * 5 + s)] - tree.unique_beliefs(k, s)) <
            1e-5);
  }
}

TEST_CASE("Mess3 and Golden Mean MSP match the numpy reference", "[core][reference][msp]") {
  check_case(core::mess3(0.15, 0.6), "mess3");
  check_case(core::golden_mean(0.5), "golden_mean");
  CHECK_FALSE(core::mess3().is_unifilar());
}

TEST_CASE("Built-in processes are valid and sample deterministically", "[core][msp]") {
  for (const auto& name : core::builtin_process_names()) {
    const core::Process p = core::builtin_process(name);
    const Eigen::VectorXd pi = core::stationary_distribution(p);
    CHECK((pi.transpose() * p.transition_matrix() - pi.transpose()).cwiseAbs().maxCoeff() < kTol);
    const auto a = core::sample_sequences(p, 4, 20, 7);
    const auto b = core::sample_sequences(p, 4, 20, 7);
    CHECK(a == b);
    CHECK(a.minCoeff() >= 0);
    CHECK(a.maxCoeff() < p.n_symbols());
  }
  // RRXOR samples: every third symbol after a sync is the xor of the two before it; check the
  // empirical symbol frequency is near 1/2 and golden-mean samples never hold "11".
  const auto g = core::sample_sequences(core::golden_mean(), 50, 40, 1);
  for (Eigen::Index r = 0; r < g.rows(); ++r)
    for (Eigen::Index t = 1; t < g.cols(); ++t) CHECK_FALSE((g(r, t) == 1 && g(r, t - 1) == 1));
  const auto e = core::sample_sequences(core::rrxor(), 200, 30, 3);
  const double mean = static_cast<double>(e.sum()) / static_cast<double>(e.size());
  CHECK(std::abs(mean - 0.5) < 0.05);
}

TEST_CASE("Process and MSP refuse bad input with the parameter named", "[core][reference][msp]") {
  CHECK_THROWS_WITH(core::builtin_process("rrxorr"),
                    Catch::Contains("process: unknown 'rrxorr'") && Catch::Contains("mess3"));
  CHECK_THROWS_WITH(core::mess3(0.7, 0.6), Catch::StartsWith("x: must be in [0, 0.5]"));
  CHECK_THROWS_WITH(core::mess3(0.1, 1.5), Catch::StartsWith("alpha:"));
  // depth too large: refused with the numbers
  CHECK_THROWS_WITH(core::build_msp(core::rrxor(), {40, 100000}),
                    Catch::StartsWith("depth:") && Catch::Contains("more than 100000 nodes") &&
                        Catch::Contains("to depth 40") && Catch::Contains("at most 1099511627776"));
  CHECK_THROWS_WITH(core::build_msp(core::rrxor(), {-1, 10}), Catch::StartsWith("depth:"));
  const core::MspTree t = core::build_msp(core::rrxor(), {3, 100});
  CHECK_THROWS_WITH(core::msp_inputs(t, 4), Catch::StartsWith("length:"));
  CHECK_THROWS_WITH(core::bayes_optimal_loss(core::rrxor(), t, 0), Catch::StartsWith("n_ctx:"));
  core::ProcessDefinition d;
  d.transitions = {{{0.5, 0.0}, {0.0, 0.0}}, {{0.4, 0.0}, {1.0, 0.0}}};
  CHECK_THROWS_WITH(core::make_process(d),
                    Catch::StartsWith("row 0 (state '0')") && Catch::Contains("sums to 0.9"));
}

TEST_CASE("Process JSON files: round trip and validation naming file and key",
          "[io][reference][msp]") {
  const auto cfg = test::tests_dir().parent_path() / "configs" / "processes";
  const core::Process p = io::read_process_json(cfg / "rrxor.json");
  const core::Process r = core::rrxor();
  REQUIRE(p.n_symbols() == 2);
  for (int x = 0; x < 2; ++x)
    CHECK(p.T[static_cast<std::size_t>(x)] == r.T[static_cast<std::size_t>(x)]);
  CHECK(p.state_names == r.state_names);
  CHECK(core::build_msp(p, {11, 5'000'000}).n_unique() == 36);
  CHECK(io::process_to_json(r) == nlohmann::json::parse(std::ifstream(cfg / "rrxor.json")));
  const auto bad = test::data_dir() / "processes";
  CHECK_THROWS_AS(io::read_process_json(bad / "bad_row_sum.json"), Error);
  CHECK_THROWS_WITH(
      io::read_process_json(bad / "bad_row_sum.json"),
      Catch::Contains("bad_row_sum.json: row 0 (state 'A')") && Catch::Contains("sums to 0.9"));
  CHECK_THROWS_WITH(
      io::read_process_json(bad / "negative.json"),
      Catch::Contains("negative.json: transitions[1][1][1]") && Catch::Contains(">= 0"));
  CHECK_THROWS_WITH(io::read_process_json(bad / "bad_shape.json"),
                    Catch::Contains("bad_shape.json: transitions[1][1]: 3 entries, expected 2"));
  CHECK_THROWS_WITH(io::read_process_json(bad / "missing.json"),
                    Catch::Contains("missing.json: cannot open"));
}
