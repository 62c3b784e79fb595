// The files `actlens steer` writes in text mode (tests/cli/steer_tests.cmake runs it on the tiny
// GPT-2) against Hugging Face transformers (tests/reference/make_steer_gpt2_fixtures.py):
// steering vectors to 1e-5 relative (to the largest element of their row: elements near zero
// have no relative precision of their own), next-token probabilities to 1e-4, logits to 1e-4
// relative. Hidden ("[.cli-output-steer]"): CTest runs it after the CLI runs, with
// ACTLENS_STEER_OUT naming their output folder.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "actlens/io/csv.hpp"
#include "analysis_fixtures.hpp"

using namespace actlens;

namespace {

std::filesystem::path out_dir() {
  const char* d = std::getenv("ACTLENS_STEER_OUT");
  REQUIRE(d != nullptr);
  return d;
}

nlohmann::json read_json(const std::filesystem::path& p) {
  std::ifstream in(p);
  INFO("reading " << p);
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

// An [n, m, v] array file as a flat vector and its shape.
struct Cube {
  std::vector<double> v;
  std::vector<std::int64_t> shape;
  double at(std::size_t i, std::size_t j, std::size_t k) const {
    return v[(i * static_cast<std::size_t>(shape[1]) + j) * static_cast<std::size_t>(shape[2]) + k];
  }
};

Cube load_cube(const std::filesystem::path& p) {
  const io::Array a = io::read_npy(p);
  REQUIRE(a.shape.size() == 3);
  return {io::to_double_vector(a), a.shape};
}

// Rows of `got` [n, d] equal `want` [n, d] to `rel` times the largest |element| of each row.
void check_vectors(const core::RowMatrixXd& got, const core::RowMatrixXd& want, double rel) {
  REQUIRE(got.rows() == want.rows());
  REQUIRE(got.cols() == want.cols());
  for (Eigen::Index r = 0; r < want.rows(); ++r) {
    INFO("row " << r);
    const double scale = want.row(r).cwiseAbs().maxCoeff();
    CHECK((got.row(r) - want.row(r)).cwiseAbs().maxCoeff() <= rel * scale);
  }
}

void check_case(const std::string& name) {
  INFO("case " << name);
  const auto ref = test::reference_dir() / "steer_gpt2" / name;
  const auto dir = out_dir() / name;
  const auto meta = read_json(ref / "meta.json");
  const auto multipliers = meta["multipliers"].get<std::vector<double>>();
  const auto prompts = meta["prompts"].get<std::vector<std::string>>();
  const auto top_k = meta["top_k"].get<std::size_t>();

  // steering_vectors.npy [n_hooks, d], rows in the order of run.json's hooks
  const core::RowMatrixXd want_v = test::load_matrix(ref / "vectors.npy");
  check_vectors(test::load_matrix(dir / "steering_vectors.npy"), want_v, 1e-5);
  const auto run = read_json(dir / "run.json");
  CHECK(run["command"] == "steer");
  const auto& s = run["summary"];
  CHECK(s["mode"] == "text");
  CHECK(s["hooks"] == meta["hooks"]);
  CHECK(s["multipliers"].get<std::vector<double>>() == multipliers);
  CHECK(s["n_prompts"].get<std::size_t>() == prompts.size());
  for (std::size_t h = 0; h < meta["hooks"].size(); ++h) {
    const double norm = want_v.row(static_cast<Eigen::Index>(h)).norm();
    CHECK(test::close_rel(s["vector_norms"][meta["hooks"][h].get<std::string>()].get<double>(),
                          norm, 1e-5));
  }

  // next_tokens.csv: top_k rows per prompt and multiplier
  const Cube probs = load_cube(ref / "probs.npy"), logits = load_cube(ref / "logits.npy");
  const io::CsvTable t = io::read_csv(dir / "next_tokens.csv");
  CHECK(t.header == std::vector<std::string>{"prompt_index", "prompt", "multiplier", "rank",
                                             "token_id", "token", "probability", "logit"});
  REQUIRE(t.rows.size() == prompts.size() * multipliers.size() * top_k);
  std::vector<std::vector<int>> seen(prompts.size(), std::vector<int>(multipliers.size(), 0));
  for (const auto& row : t.rows) {
    INFO("row " << io::csv_line(row));
    const auto p = static_cast<std::size_t>(std::stoul(row[0]));
    REQUIRE(p < prompts.size());
    CHECK(row[1] == prompts[p]);
    const double m = std::stod(row[2]);
    const auto it = std::find(multipliers.begin(), multipliers.end(), m);
    REQUIRE(it != multipliers.end());
    const auto j = static_cast<std::size_t>(it - multipliers.begin());
    const auto rank = static_cast<std::size_t>(std::stoul(row[3]));
    const auto id = static_cast<std::size_t>(std::stoul(row[4]));
    REQUIRE(id < static_cast<std::size_t>(probs.shape[2]));
    CHECK(!row[5].empty());
    const double prob = std::stod(row[6]), logit = std::stod(row[7]);
    CHECK(std::fabs(prob - probs.at(p, j, id)) <= 1e-4);
    CHECK(std::fabs(logit - logits.at(p, j, id)) <= 1e-4 * std::max(1.0, std::fabs(logit)));
    // the rank-th largest reference probability (robust to near-ties swapping tokens)
    std::vector<double> col(static_cast<std::size_t>(probs.shape[2]));
    for (std::size_t k = 0; k < col.size(); ++k) col[k] = probs.at(p, j, k);
    std::sort(col.begin(), col.end(), std::greater<>());
    REQUIRE(rank >= 1);
    REQUIRE(rank <= top_k);
    CHECK(std::fabs(prob - col[rank - 1]) <= 1e-4);
    // the reference's top token where it leads clearly
    if (rank == 1 && col[0] - col[1] > 1e-3)
      CHECK(id == meta["top_ids"][p][j][0].get<std::size_t>());
    ++seen[p][j];
  }
  for (const auto& per : seen)
    for (int n : per) CHECK(n == static_cast<int>(top_k));
}

}  // namespace

TEST_CASE("Files written by actlens steer (text mode) equal transformers", "[.cli-output-steer]") {
  check_case("contrastive");
  check_case("vector");

  // --vector [d]: the same vector at every hook
  const auto ref = test::reference_dir() / "steer_gpt2";
  const Eigen::VectorXd row = test::load_vector(test::tests_dir() / "data/steer/row_vector.npy");
  const core::RowMatrixXd one = test::load_matrix(out_dir() / "one_row" / "steering_vectors.npy");
  REQUIRE(one.rows() == 2);
  CHECK(one.row(0).transpose() == row);
  CHECK(one.row(1).transpose() == row);
  CHECK(read_json(out_dir() / "one_row" / "run.json")["summary"]["vector_source"]["kind"] ==
        "file");

  // --layers 1 keeps blocks.1's row of the contrastive vector
  const core::RowMatrixXd layer1 = test::load_matrix(out_dir() / "layers" / "steering_vectors.npy");
  const core::RowMatrixXd want = test::load_matrix(ref / "contrastive" / "vectors.npy");
  check_vectors(layer1, want.bottomRows(1), 1e-5);
  const auto run = read_json(out_dir() / "layers" / "run.json");
  CHECK(run["summary"]["hooks"] == nlohmann::json::array({"blocks.1.hook_resid_post"}));
  CHECK(run["summary"]["vector_source"]["kind"] == "contrastive");
  CHECK(run["summary"]["vector_source"]["n_positive"] == 6);
}
