// actlens t-SNE against scikit-learn 1.9 TSNE (tests/reference/make_tsne_fixtures.py).
// Tolerances:
//  - joint probabilities (exact dense and Barnes-Hut sparse): same sparsity pattern, values
//    within 1e-10 relative (both run sklearn's binary search on the same float32 distances);
//  - trustworthiness(): within 1e-12 of sklearn.manifold.trustworthiness;
//  - a full run: t-SNE is chaotic (our first iterations equal a float64 replay of sklearn's
//    optimiser to ~1e-13, then rounding differences grow ~1000x per 10 iterations; sklearn's own
//    float32 and float64 runs end 1-40% apart on small or clustered data, and other CPUs' BLAS
//    and SIMD rounding send runs elsewhere), so our exact final KL is bounded ABOVE by the best
//    of sklearn's runs (init pca and four random inits, exact KL of each embedding under the
//    same P, computed by the generator in numpy) times 1 + max(2%, 3 x sklearn's own spread),
//    and our trustworthiness bounded below by the worst of theirs minus 0.01 (two neighbour
//    swaps at N = 20). On "swiss", where sklearn's runs agree to 0.6%, our KL must also be
//    within 2% of sklearn's init="pca" run. See check_against_runs.
//    Learning rate ('auto') equal;
//  - determinism: two runs give identical bytes; n_threads 1, 2 and 4 give identical bytes
//    (barnes_hut, fft, exact);
//  - fft vs barnes_hut on N = 1000 (a swiss roll, where sklearn's runs agree to 2%): each within
//    2% of sklearn's range (fft with the default grid), and within 5% of each other;
//  - invalid options throw std::invalid_argument naming the option.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "actlens/core/tsne.hpp"
#include "analysis_fixtures.hpp"

using namespace actlens;
using test::load_matrix;
using test::load_vector;

namespace {

std::filesystem::path case_dir(const std::string& c) {
  return test::reference_dir() / "tsne" / c;
}

core::TsneOptions options_for(const nlohmann::json& meta) {
  core::TsneOptions o;
  o.n_components = meta["n_components"];
  o.perplexity = meta["perplexity"];
  o.method = meta["method"];
  return o;
}

bool same_bytes(const core::RowMatrixXd& a, const core::RowMatrixXd& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), sizeof(double) * static_cast<std::size_t>(a.size())) == 0;
}

double rel_diff(double a, double b) {
  return std::fabs(a - b) / std::fabs(b);
}

}  // namespace

TEST_CASE("t-SNE exact joint probabilities equal sklearn's", "[core][reference][tsne]") {
  for (const std::string c : {"seed", "exact150", "pnn"}) {
    INFO("case " << c);
    const auto meta = test::read_json(case_dir(c) / "meta.json");
    const core::RowMatrixXd x = load_matrix(case_dir(c) / "X.npy");
    const Eigen::VectorXd ref = load_vector(case_dir(c) / "P_exact.npy");  // condensed
    const core::RowMatrixXd p = core::joint_probabilities(x, meta["perplexity"]);
    const Eigen::Index n = x.rows();
    REQUIRE(ref.size() == n * (n - 1) / 2);
    double worst = 0;
    Eigen::Index at = 0;
    for (Eigen::Index i = 0; i < n; ++i) {
      CHECK(p(i, i) == 0.0);
      for (Eigen::Index j = i + 1; j < n; ++j, ++at) {
        worst = std::max(worst, rel_diff(p(i, j), ref[at]));
        CHECK(p(i, j) == p(j, i));
      }
    }
    INFO("largest relative difference " << worst);
    CHECK(worst <= 1e-10);
  }
}

TEST_CASE("t-SNE nearest-neighbour joint probabilities equal sklearn's",
          "[core][reference][tsne]") {
  for (const std::string c : {"seed", "pnn"}) {
    INFO("case " << c);
    const auto meta = test::read_json(case_dir(c) / "meta.json");
    const core::RowMatrixXd x = load_matrix(case_dir(c) / "X.npy");
    const Eigen::VectorXd indptr = load_vector(case_dir(c) / "P_nn_indptr.npy");
    const Eigen::VectorXd indices = load_vector(case_dir(c) / "P_nn_indices.npy");
    const Eigen::VectorXd data = load_vector(case_dir(c) / "P_nn_data.npy");
    const core::SparseJointP p = core::joint_probabilities_nn(x, meta["perplexity"]);
    REQUIRE(p.n == x.rows());
    REQUIRE(p.indptr.size() == static_cast<std::size_t>(indptr.size()));
    for (Eigen::Index i = 0; i < indptr.size(); ++i)
      REQUIRE(p.indptr[static_cast<std::size_t>(i)] == static_cast<std::int64_t>(indptr[i]));
    REQUIRE(p.values.size() == static_cast<std::size_t>(data.size()));
    double worst = 0, total = 0;
    for (Eigen::Index e = 0; e < data.size(); ++e) {
      REQUIRE(p.indices[static_cast<std::size_t>(e)] == static_cast<std::int32_t>(indices[e]));
      worst = std::max(worst, rel_diff(p.values[static_cast<std::size_t>(e)], data[e]));
      total += p.values[static_cast<std::size_t>(e)];
    }
    INFO("largest relative difference " << worst);
    CHECK(worst <= 1e-10);
    CHECK(std::fabs(total - 1.0) <= 1e-12);
  }
}

TEST_CASE("t-SNE nearest neighbours are exact and ordered", "[core][tsne]") {
  const core::RowMatrixXd x = load_matrix(case_dir("pnn") / "X.npy");
  const int k = 7;
  const core::KnnResult knn = core::nearest_neighbors(x, k, 2);
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    std::vector<std::pair<double, int>> all;
    for (Eigen::Index j = 0; j < x.rows(); ++j)
      if (j != i) all.push_back({(x.row(i) - x.row(j)).squaredNorm(), static_cast<int>(j)});
    std::sort(all.begin(), all.end());
    for (int c = 0; c < k; ++c) {
      CHECK(knn.indices(i, c) == all[static_cast<std::size_t>(c)].second);
      CHECK(knn.sq_distances(i, c) ==
            Approx(all[static_cast<std::size_t>(c)].first).epsilon(1e-14));
    }
  }
}

TEST_CASE("t-SNE trustworthiness equals sklearn's", "[core][reference][tsne]") {
  const auto dir = case_dir("trust");
  const auto meta = test::read_json(dir / "meta.json");
  const core::RowMatrixXd x = load_matrix(dir / "X.npy");
  const core::RowMatrixXd y = load_matrix(dir / "Y.npy");
  for (const int k : {5, 10}) {
    const double want = meta["n_neighbors"][std::to_string(k)];
    CHECK(std::fabs(core::trustworthiness(x, y, k) - want) <= 1e-12);
  }
  CHECK_THROWS_AS(core::trustworthiness(x, y, 50), std::invalid_argument);
  CHECK_THROWS_AS(core::trustworthiness(x, y, 0), std::invalid_argument);
  CHECK_THROWS_AS(core::trustworthiness(x, y.topRows(50), 5), std::invalid_argument);
}

namespace {

// Our run is one more restart of a chaotic optimiser: its KL is a quality bound against the best
// of sklearn's runs, never a lower bound (lower is better). The allowance follows from sklearn's
// own restart-to-restart spread on the case, s = (worst - best) / best: another restart (ours,
// or sklearn's on another CPU, whose BLAS/SIMD rounding sends the trajectory elsewhere after a
// few dozen iterations) may land anywhere in that spread, so KL <= best * (1 + max(floor, 3 s)).
// A broken gradient or optimiser ends far above (KL of the initialisation, several times best).
// Trustworthiness likewise only has a floor: sklearn's worst run minus one neighbour swap's
// worth at N = 20 (1/120 per swap, two swaps), 0.01 above.
void check_against_runs(const nlohmann::json& meta, const core::RowMatrixXd& x,
                        const core::TsneResult& r, double floor_tol) {
  const std::vector<double> kls = meta["kl_runs"];
  const std::vector<double> trusts = meta["trust_runs"];
  const double kl_lo = *std::min_element(kls.begin(), kls.end());
  const double kl_hi = *std::max_element(kls.begin(), kls.end());
  const double t_lo = *std::min_element(trusts.begin(), trusts.end());
  const double t_hi = *std::max_element(trusts.begin(), trusts.end());
  const double spread = (kl_hi - kl_lo) / kl_lo;
  const double tol = std::max(floor_tol, 3 * spread);
  const double t = core::trustworthiness(x, r.embedding, 5);
  INFO("KL ours " << r.kl_divergence << ", sklearn runs [" << kl_lo << ", " << kl_hi << "] (spread "
                  << spread << ", allowed " << (1 + tol) * kl_lo << "); trustworthiness ours " << t
                  << ", sklearn [" << t_lo << ", " << t_hi << "]; n_iter ours " << r.n_iter
                  << " sklearn " << int(meta["n_iter"]));
  CHECK(r.kl_divergence > 0);
  CHECK(r.kl_divergence <= (1 + tol) * kl_lo);
  const double t_tol = x.rows() < 50 ? 2.0 / 120 : 0.01;
  CHECK(t >= t_lo - t_tol);
  CHECK(t <= 1.0);
}

}  // namespace

TEST_CASE("t-SNE runs reach sklearn's KL divergence and trustworthiness",
          "[core][reference][tsne]") {
  for (const std::string c : {"seed", "seed_exact", "swiss", "exact150", "swiss3d"}) {
    INFO("case " << c);
    const auto meta = test::read_json(case_dir(c) / "meta.json");
    const core::RowMatrixXd x = load_matrix(case_dir(c) / "X.npy");
    const core::RowMatrixXd y_sk = load_matrix(case_dir(c) / "embedding.npy");
    const core::TsneOptions o = options_for(meta);
    const core::TsneResult r = core::tsne(x, o);
    REQUIRE(r.embedding.rows() == x.rows());
    REQUIRE(r.embedding.cols() == o.n_components);
    CHECK(r.method == o.method);
    CHECK(r.learning_rate == double(meta["learning_rate"]));
    // At least 2% (float32 vs float64 rounding of the final KL alone is far below); more where
    // sklearn's own runs spread (the 20-point seed cases: 41-53%; the replay test below checks
    // the exact path strictly instead, before chaos sets in).
    check_against_runs(meta, x, r, 0.02);
    if (c == "swiss") {
      // Within 2% of sklearn's init="pca" run (observed 0.05%); a lower KL is no defect.
      const double kl_pca = meta["kl_exact_used_p"];
      CHECK(r.kl_divergence <= 1.02 * kl_pca);
    }
    // Our trustworthiness of sklearn's embedding is sklearn's.
    CHECK(std::fabs(core::trustworthiness(x, y_sk, 5) - double(meta["trustworthiness"])) <= 1e-12);
  }
}

TEST_CASE("t-SNE exact method replays sklearn's optimiser step by step",
          "[core][reference][tsne]") {
  // Before rounding differences are amplified (12 iterations), our float64 run equals sklearn's
  // _gradient_descent + _kl_divergence run in float64 from the same PCA initialisation:
  // tolerance 1e-9 of the embedding's scale (observed ~1e-13).
  for (const std::string c : {"seed_exact", "exact150"}) {
    INFO("case " << c);
    const auto meta = test::read_json(case_dir(c) / "meta.json");
    const core::RowMatrixXd x = load_matrix(case_dir(c) / "X.npy");
    const core::RowMatrixXd want = load_matrix(case_dir(c) / "replay.npy");
    core::TsneOptions o = options_for(meta);
    o.exaggeration_iter = meta["replay"]["exaggeration_iter"];
    o.max_iter = meta["replay"]["max_iter"];
    const core::TsneResult r = core::tsne(x, o);
    const double scale = want.cwiseAbs().maxCoeff();
    const double err = (r.embedding - want).cwiseAbs().maxCoeff();
    INFO("max |difference| " << err << " scale " << scale);
    CHECK(err <= 1e-9 * scale);
    CHECK(r.n_iter == o.max_iter - 1);
  }
}

TEST_CASE("t-SNE fft and barnes_hut agree on 1000 points", "[core][reference][tsne]") {
  const auto meta = test::read_json(case_dir("large") / "meta.json");
  const core::RowMatrixXd x = load_matrix(case_dir("large") / "X.npy");
  core::TsneOptions o = options_for(meta);
  o.n_threads = 1;  // the thread-count test is below; one thread is quickest on busy cores
  const core::TsneResult bh = core::tsne(x, o);
  o.method = "fft";
  const core::TsneResult fft = core::tsne(x, o);
  INFO("KL barnes_hut " << bh.kl_divergence << " fft " << fft.kl_divergence);
  // Our Barnes-Hut ends ~2% below sklearn's runs; fft with FIt-SNE's default grid (interval
  // width 1, 3 nodes: repulsion error ~1e-2 at that scale) ends inside sklearn's range (0.05%
  // above our Barnes-Hut since Z subtracts the interpolated self-terms; ~4% before).
  CHECK(rel_diff(fft.kl_divergence, bh.kl_divergence) <= 0.05);
  check_against_runs(meta, x, bh, 0.02);
  check_against_runs(meta, x, fft, 0.02);
}

TEST_CASE("t-SNE is deterministic and independent of the thread count", "[core][tsne]") {
  // 500+ samples: smaller runs use one thread whatever n_threads says.
  const core::RowMatrixXd large = load_matrix(case_dir("large") / "X.npy");
  for (const std::string method : {"barnes_hut", "fft", "exact"}) {
    INFO("method " << method);
    const core::RowMatrixXd x = method == "exact" ? core::RowMatrixXd(large.topRows(500)) : large;
    core::TsneOptions o;
    o.method = method;
    o.perplexity = 30;
    o.exaggeration_iter = 30;  // both phases and a progress check, quickly
    o.max_iter = 60;
    o.fft_min_intervals = 25;  // a smaller grid: quicker
    o.n_threads = 1;
    const core::TsneResult r1 = core::tsne(x, o);
    const core::TsneResult again = core::tsne(x, o);
    CHECK(same_bytes(r1.embedding, again.embedding));
    for (const int t : {2, 4}) {
      o.n_threads = t;
      const core::TsneResult rt = core::tsne(x, o);
      INFO("n_threads " << t);
      CHECK(same_bytes(r1.embedding, rt.embedding));
      CHECK(r1.kl_divergence == rt.kl_divergence);
    }
  }
}

TEST_CASE("t-SNE random init follows the seed; progress checks every 50 iterations",
          "[core][tsne]") {
  const core::RowMatrixXd x = load_matrix(case_dir("seed") / "X.npy");
  core::TsneOptions o;
  o.perplexity = 5;
  o.init = "random";
  o.seed = 7;
  std::vector<int> iters;
  o.on_check = [&](int it, double kl, double grad_norm) {
    iters.push_back(it);
    CHECK(std::isfinite(kl));
    CHECK(grad_norm >= 0);
  };
  const core::TsneResult a = core::tsne(x, o);
  REQUIRE(!iters.empty());
  for (std::size_t i = 0; i < iters.size(); ++i) CHECK(iters[i] == 50 * static_cast<int>(i + 1));
  CHECK(iters.size() == static_cast<std::size_t>((a.n_iter + 1) / 50));
  o.on_check = nullptr;
  const core::TsneResult b = core::tsne(x, o);
  CHECK(same_bytes(a.embedding, b.embedding));
  o.seed = 8;
  const core::TsneResult c = core::tsne(x, o);
  CHECK_FALSE(same_bytes(a.embedding, c.embedding));
  // max_iter == exaggeration_iter: no second phase; n_iter as sklearn's (the first index after).
  o.max_iter = 250;
  CHECK(core::tsne(x, o).n_iter == 250);
}

TEST_CASE("t-SNE rejects invalid options", "[core][tsne]") {
  const core::RowMatrixXd x = load_matrix(case_dir("seed") / "X.npy");  // 20 x 50
  auto fails = [&](const core::TsneOptions& o, const std::string& word) {
    INFO("expects an error naming " << word);
    CHECK_THROWS_WITH(core::tsne(x, o), Catch::Contains(word));
    CHECK_THROWS_AS(core::tsne(x, o), std::invalid_argument);
  };
  core::TsneOptions o;
  o.perplexity = 20;
  fails(o, "perplexity 20 must be < the number of samples 20");
  o.perplexity = 0;
  fails(o, "perplexity");
  o = {};
  o.perplexity = 5;
  CHECK_THROWS_WITH(core::tsne(x.topRows(1), o), Catch::Contains("at least 2 samples"));
  o.method = "tree";
  fails(o, "method");
  o.method = "fft";
  o.n_components = 3;
  fails(o, "n_components");
  o.method = "barnes_hut";
  o.n_components = 4;
  fails(o, "n_components");
  o.n_components = 0;
  fails(o, "n_components");
  o = {};
  o.perplexity = 5;
  o.angle = 1.5;
  fails(o, "angle");
  o.angle = 0.5;
  o.init = "spectral";
  fails(o, "init");
  o.init = "pca";
  o.max_iter = 100;
  fails(o, "exaggeration_iter");
  o.max_iter = 0;
  fails(o, "max_iter");
  o.max_iter = 1000;
  o.early_exaggeration = 0.5;
  fails(o, "early_exaggeration");
  o.early_exaggeration = 12;
  o.n_threads = -1;
  fails(o, "n_threads");
  o.n_threads = 0;
  o.method = "fft";
  o.fft_interpolation_points = 0;
  fails(o, "fft_interpolation_points");
  CHECK_THROWS_AS(core::joint_probabilities(x, 25), std::invalid_argument);
  CHECK_THROWS_AS(core::joint_probabilities_nn(x, -1), std::invalid_argument);
}

TEST_CASE("t-SNE method auto: barnes_hut below kTsneFftMinPoints, fft from there in 1-2 dims",
          "[core][tsne]") {
  const Eigen::Index at = core::kTsneFftMinPoints;
  CHECK(core::tsne_auto_method(at - 1, 2) == "barnes_hut");
  CHECK(core::tsne_auto_method(at, 2) == "fft");
  CHECK(core::tsne_auto_method(at, 1) == "fft");
  CHECK(core::tsne_auto_method(100 * at, 3) == "barnes_hut");  // fft has no 3-D
  // "auto" runs the method it resolves to: the same bytes, and the result names it.
  const core::RowMatrixXd x = load_matrix(case_dir("swiss") / "X.npy");
  core::TsneOptions opt;
  opt.max_iter = 300;
  opt.method = "barnes_hut";
  const core::TsneResult bh = core::tsne(x, opt);
  opt.method = "auto";
  const core::TsneResult autom = core::tsne(x, opt);
  CHECK(autom.method == "barnes_hut");
  CHECK(autom.embedding == bh.embedding);
  CHECK(autom.kl_divergence == bh.kl_divergence);
}
