// The files `actlens rsa`, `tsne`, `dbscan` write (tests/cli/embedding_tests.cmake runs them on
// the fixtures) against numpy/scipy/sklearn: RSA numbers to 1e-10 (p relative 1e-9), t-SNE KL
// within 2% of sklearn's embedding's KL under the same P and trustworthiness within 0.01, DBSCAN
// labels and core points identical. Hidden ("[.cli-output-embeddings]"): CTest runs it after the
// CLI runs, with ACTLENS_EMB_OUT naming their output folder.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "actlens/io/csv.hpp"
#include "analysis_fixtures.hpp"

using namespace actlens;
using test::close_rel;
using test::load_matrix;
using test::load_vector;

namespace {

std::filesystem::path out_dir() {
  const char* d = std::getenv("ACTLENS_EMB_OUT");
  REQUIRE(d != nullptr);
  return d;
}

nlohmann::json read_json(const std::filesystem::path& p) {
  std::ifstream in(p);
  INFO("reading " << p);
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

const nlohmann::json& pair_entry(const nlohmann::json& rsa, const std::string& method,
                                 const std::string& a, const std::string& b) {
  for (const auto& p : rsa["pairs"])
    if (p["method"] == method && p["a"] == a && p["b"] == b) return p;
  FAIL("no pair " << a << "/" << b << " " << method);
  return rsa;
}

void check_correlations(const nlohmann::json& got, const nlohmann::json& want, const std::string& a,
                        const std::string& b) {
  for (const std::string m : {"pearson", "spearman", "kendall"}) {
    INFO("method " << m);
    const auto& p = pair_entry(got, m, a, b);
    CHECK(std::fabs(p["r"].get<double>() - want[m]["r"].get<double>()) < 1e-10);
    CHECK(close_rel(p["p"].get<double>(), want[m]["p"].get<double>(), 1e-9));
  }
}

}  // namespace

TEST_CASE("Files written by actlens rsa equal numpy/scipy", "[.cli-output-embeddings]") {
  const auto ref = test::reference_dir() / "rsa";
  for (const std::string c : {"seed20", "four_groups", "small7"}) {
    INFO("case " << c);
    const auto dir = out_dir() / ("rsa_" + c);
    const auto want = read_json(ref / c / "expected.json");
    const auto got = read_json(dir / "rsa.json");
    check_correlations(got, want, "a", "b");
    CHECK((load_matrix(dir / "cosine_a.npy") - load_matrix(ref / c / "cos_a.npy"))
              .cwiseAbs()
              .maxCoeff() < 1e-12);
    CHECK((load_matrix(dir / "cosine_b.npy") - load_matrix(ref / c / "cos_b.npy"))
              .cwiseAbs()
              .maxCoeff() < 1e-12);
    if (want.contains("selectivity")) {
      for (const std::string s : {"a", "b"}) {
        const auto& w = want["selectivity"][s];
        const auto& g = got["selectivity"][s];
        CHECK(std::fabs(g["index"].get<double>() - w["index"].get<double>()) < 1e-10);
        CHECK(std::fabs(g["numerator"].get<double>() - w["numerator"].get<double>()) < 1e-10);
        CHECK(std::fabs(g["denominator"].get<double>() - w["denominator"].get<double>()) < 1e-10);
      }
    }
  }
  // The README example: the seed's 20 words from the bundled GloVe-format files.
  const auto bundled = read_json(ref / "bundled" / "expected.json");
  const auto seed = read_json(out_dir() / "rsa_seed" / "rsa.json");
  check_correlations(seed, bundled, "small50", "small300");
  for (const std::string s : {"small50", "small300"})
    CHECK(std::fabs(seed["selectivity"][s]["index"].get<double>() -
                    bundled["selectivity"][s]["index"].get<double>()) < 1e-10);
  const double perm_p = pair_entry(seed, "pearson", "small50", "small300")["permutation_p"];
  CHECK(perm_p == Approx(1.0 / 2001));  // r = 0.89: no relabelling of 20 words comes close
  // Three spaces: the pairwise matrix (A vs its copy is 1, A vs B the seed20 r).
  const auto three = read_json(out_dir() / "rsa_three" / "rsa.json");
  const auto& m = three["rsa_matrix"]["pearson"];
  CHECK(m[0][2].get<double>() == Approx(1.0).epsilon(1e-12));
  CHECK(std::fabs(m[0][1].get<double>() -
                  read_json(ref / "seed20" / "expected.json")["pearson"]["r"].get<double>()) <
        1e-10);
  CHECK(m[1][0] == m[0][1]);
}

TEST_CASE("Files written by actlens tsne match sklearn", "[.cli-output-embeddings]") {
  const auto ref = test::reference_dir() / "tsne";
  // (output folder, fixture whose sklearn run is the reference)
  for (const auto& [run, fixture] :
       std::vector<std::pair<std::string, std::string>>{{"tsne_seed", "seed"},
                                                        {"tsne_swiss", "swiss"},
                                                        {"tsne_swiss_fft", "swiss"},
                                                        {"tsne_exact", "exact150"}}) {
    INFO(run << " vs sklearn on " << fixture);
    const auto meta = read_json(ref / fixture / "meta.json");
    const auto got = read_json(out_dir() / run / "tsne.json");
    // t-SNE is chaotic: sklearn's own runs (init pca + four random inits, same P) spread, so the
    // reference is their range (see test_tsne_reference.cpp): KL within 2% of it (25% for the
    // 20-point seed case, where one neighbour swap moves KL by 10%), trustworthiness within 0.01
    // (0.02 at 20 points).
    const bool tiny = meta["N"].get<int>() < 50;
    const auto kl_runs = meta["kl_runs"].get<std::vector<double>>();
    const auto tw_runs = meta["trust_runs"].get<std::vector<double>>();
    const double tol = tiny ? 0.25 : 0.02, ttol = tiny ? 0.02 : 0.01;
    const double kl = got["kl_divergence"], tw = got["trustworthiness"];
    CHECK(kl >= *std::min_element(kl_runs.begin(), kl_runs.end()) * (1 - tol));
    CHECK(kl <= *std::max_element(kl_runs.begin(), kl_runs.end()) * (1 + tol));
    CHECK(tw >= *std::min_element(tw_runs.begin(), tw_runs.end()) - ttol);
    CHECK(tw <= *std::max_element(tw_runs.begin(), tw_runs.end()) + ttol);
    if (!tiny) {  // where sklearn is stable, also against its init="pca" run itself
      const double want = meta["kl_exact_used_p"];
      CHECK(std::fabs(kl - want) <= 0.02 * want);
    }
    CHECK(got["n_points"] == meta["N"]);
    const core::RowMatrixXd e = load_matrix(out_dir() / run / "embedding.npy");
    CHECK(e.rows() == meta["N"].get<Eigen::Index>());
    CHECK(e.cols() == 2);
  }
}

TEST_CASE("Files written by actlens dbscan equal sklearn", "[.cli-output-embeddings]") {
  const auto ref = test::reference_dir() / "dbscan";
  for (const std::string c :
       {"blobs", "blobs3d", "blobs5d", "cosine", "grid", "grid_tenth", "highd", "min_samples_1",
        "seed", "cosine_zero", "cosine_zero_noise", "cosine_zero_wide"}) {
    INFO("case " << c);
    const auto dir = out_dir() / ("dbscan_" + c);
    const Eigen::VectorXd got = load_vector(dir / "labels.npy");
    const Eigen::VectorXd want = load_vector(ref / c / "labels.npy");
    REQUIRE(got.size() == want.size());
    CHECK(got == want);
    const Eigen::VectorXd core_idx = load_vector(ref / c / "core.npy");
    const io::CsvTable t = io::read_csv(dir / "labels.csv");
    std::vector<double> core_got;
    for (std::size_t i = 0; i < t.rows.size(); ++i)
      if (t.rows[i][3] == "1") core_got.push_back(static_cast<double>(i));
    CHECK(core_got == std::vector<double>(core_idx.data(), core_idx.data() + core_idx.size()));
    const auto clusters = read_json(dir / "clusters.json");
    CHECK(clusters["n_clusters"].get<double>() == want.maxCoeff() + 1);
  }
  // dbscan of a t-SNE result folder clusters its embedding
  const auto on = read_json(out_dir() / "dbscan_on_tsne" / "clusters.json");
  CHECK(on["n_points"] == 20);
  CHECK(on["n_features"] == 2);
}
