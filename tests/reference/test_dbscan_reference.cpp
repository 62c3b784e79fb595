// actlens DBSCAN against scikit-learn 1.9 DBSCAN (tests/reference/make_dbscan_fixtures.py): 2-D
// blobs with noise and border points shared between clusters, integer and 0.1-spaced grids with
// every neighbour at exactly eps, 3-D / 5-D / 50-D blobs, the cosine metric, min_samples = 1 and
// the seed's 20-point t-SNE-like case. Labels, core flags and neighbourhood sizes must equal
// sklearn's exactly, through every search route (KD-tree, brute force) and thread count; cluster
// summaries equal numpy's to 1e-12.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "actlens/core/dbscan.hpp"
#include "analysis_fixtures.hpp"

using namespace actlens;
using test::load_matrix;

namespace {

const std::vector<std::string> kCases = {"blobs",
                                         "grid",
                                         "grid_tenth",
                                         "blobs3d",
                                         "blobs5d",
                                         "highd",
                                         "cosine",
                                         "min_samples_1",
                                         "seed",
                                         "cosine_zero",
                                         "cosine_zero_noise",
                                         "cosine_zero_wide"};

std::filesystem::path case_dir(const std::string& c) {
  return test::reference_dir() / "dbscan" / c;
}

std::vector<std::int64_t> load_ints(const std::filesystem::path& p) {
  const auto v = io::to_double_vector(io::read_npy(p));
  return {v.begin(), v.end()};
}

core::DbscanOptions options_of(const nlohmann::json& meta) {
  core::DbscanOptions opt;
  opt.eps = meta["eps"].get<double>();
  opt.min_samples = meta["min_samples"].get<int>();
  opt.metric =
      meta["metric"] == "cosine" ? core::DbscanMetric::Cosine : core::DbscanMetric::Euclidean;
  return opt;
}

const char* route_name(core::DbscanAlgorithm a) {
  switch (a) {
    case core::DbscanAlgorithm::Auto:
      return "auto";
    case core::DbscanAlgorithm::KdTree:
      return "kd-tree";
    case core::DbscanAlgorithm::Brute:
      return "brute";
  }
  return "?";
}

// The result equals sklearn's labels_, core_sample_indices_ and radius_neighbors sizes.
void check_against_sklearn(const core::DbscanResult& r, const std::string& c) {
  const auto dir = case_dir(c);
  const auto labels = load_ints(dir / "labels.npy");
  const auto core_idx = load_ints(dir / "core.npy");
  const auto counts = load_ints(dir / "counts.npy");
  const auto meta = test::read_json(dir / "meta.json");
  const std::size_t n = labels.size();
  REQUIRE(r.labels.size() == n);
  REQUIRE(r.is_core.size() == n);
  REQUIRE(r.neighbour_counts.size() == n);
  CHECK(r.n_clusters == meta["n_clusters"].get<int>());
  std::vector<char> want_core(n, 0);
  for (const auto i : core_idx) want_core[static_cast<std::size_t>(i)] = 1;
  std::size_t bad_labels = 0, bad_core = 0, bad_counts = 0;
  for (std::size_t i = 0; i < n; ++i) {
    bad_labels += r.labels[i] != labels[i] ? 1 : 0;
    bad_core += r.is_core[i] != want_core[i] ? 1 : 0;
    bad_counts += r.neighbour_counts[i] != counts[i] ? 1 : 0;
  }
  CHECK(bad_labels == 0);
  CHECK(bad_core == 0);
  CHECK(bad_counts == 0);
}

}  // namespace

TEST_CASE("dbscan equals sklearn on every fixture, route and thread count",
          "[core][reference][dbscan]") {
  for (const auto& c : kCases) {
    const auto meta = test::read_json(case_dir(c) / "meta.json");
    const core::RowMatrixXd x = load_matrix(case_dir(c) / "X.npy");
    REQUIRE(x.rows() == meta["N"].get<Eigen::Index>());
    REQUIRE(x.cols() == meta["D"].get<Eigen::Index>());
    for (const auto route : {core::DbscanAlgorithm::Auto, core::DbscanAlgorithm::KdTree,
                             core::DbscanAlgorithm::Brute}) {
      for (const int threads : {1, 2}) {
        INFO("case " << c << ", route " << route_name(route) << ", " << threads << " threads");
        core::DbscanOptions opt = options_of(meta);
        opt.algorithm = route;
        opt.n_threads = threads;
        check_against_sklearn(core::dbscan(x, opt), c);
      }
    }
  }
}

TEST_CASE("dbscan fixtures exercise what they claim", "[core][reference][dbscan]") {
  // Guards against a regenerated fixture losing the situation its test is about.
  const auto blobs = test::read_json(case_dir("blobs") / "meta.json");
  CHECK(blobs["n_shared_border"].get<int>() >= 1);
  CHECK(blobs["n_noise"].get<int>() >= 10);
  for (const char* c : {"grid", "grid_tenth"}) {
    INFO(c);
    CHECK(test::read_json(case_dir(c) / "meta.json")["boundary_gap"].get<double>() == 0.0);
  }
  CHECK(test::read_json(case_dir("highd") / "meta.json")["fit_method"] == "brute");
  CHECK(test::read_json(case_dir("cosine") / "meta.json")["metric"] == "cosine");

  // The integer grid's neighbours all sit at exactly eps: an open ball (or eps a hair smaller)
  // would leave every point with only itself.
  const core::RowMatrixXd grid = load_matrix(case_dir("grid") / "X.npy");
  core::DbscanOptions opt;
  opt.eps = std::nextafter(1.0, 0.0);
  opt.min_samples = 2;
  for (const auto route : {core::DbscanAlgorithm::KdTree, core::DbscanAlgorithm::Brute}) {
    INFO(route_name(route));
    opt.algorithm = route;
    const auto open = core::dbscan(grid, opt);
    CHECK(open.n_clusters == 0);
    for (const auto k : open.neighbour_counts) CHECK(k == 1);
  }
}

TEST_CASE("dbscan reads rows through a strided view", "[core][reference][dbscan]") {
  for (const char* c : {"blobs", "highd"}) {
    INFO(c);
    const auto meta = test::read_json(case_dir(c) / "meta.json");
    const core::RowMatrixXd x = load_matrix(case_dir(c) / "X.npy");
    core::RowMatrixXd wide = core::RowMatrixXd::Constant(x.rows(), x.cols() + 3, 1e6);
    wide.leftCols(x.cols()) = x;
    const Eigen::Ref<const core::RowMatrixXd> view = wide.leftCols(x.cols());
    REQUIRE(view.outerStride() == x.cols() + 3);
    check_against_sklearn(core::dbscan(view, options_of(meta)), c);
  }
}

TEST_CASE("dbscan cluster summaries equal numpy", "[core][reference][dbscan]") {
  for (const auto& c : kCases) {
    INFO("case " << c);
    const auto dir = case_dir(c);
    const core::RowMatrixXd x = load_matrix(dir / "X.npy");
    const auto labels64 = load_ints(dir / "labels.npy");
    const std::vector<int> labels(labels64.begin(), labels64.end());
    const auto members = load_ints(dir / "members.npy");
    const core::RowMatrixXd centroids = load_matrix(dir / "centroids.npy");
    const auto meta = test::read_json(dir / "meta.json");

    const core::ClusterSummary s = core::summarize_clusters(x, labels);
    CHECK(s.members == members);
    CHECK(s.n_noise == meta["n_noise"].get<std::int64_t>());
    REQUIRE(s.centroids.rows() == static_cast<Eigen::Index>(members.size()));
    REQUIRE(s.centroids.cols() == x.cols());
    const double scale = 1.0 + centroids.cwiseAbs().maxCoeff();
    CHECK((s.centroids - centroids).cwiseAbs().maxCoeff() <= 1e-12 * scale);
  }
}

TEST_CASE("dbscan rejects bad parameters", "[core][reference][dbscan]") {
  const core::RowMatrixXd x = load_matrix(case_dir("seed") / "X.npy");
  const auto throws_with = [&](const core::RowMatrixXd& data, const core::DbscanOptions& opt,
                               const std::string& what) {
    INFO(what);
    try {
      (void)core::dbscan(data, opt);
      FAIL("no exception");
    } catch (const std::invalid_argument& e) {
      CHECK_THAT(e.what(), Catch::Contains(what));
    }
  };
  core::DbscanOptions opt;
  opt.eps = 0;
  throws_with(x, opt, "eps must be a finite number > 0 (got 0)");
  opt.eps = -1.5;
  throws_with(x, opt, "eps must be a finite number > 0 (got -1.5)");
  opt.eps = std::numeric_limits<double>::infinity();
  throws_with(x, opt, "eps must be");
  opt.eps = 20;
  opt.min_samples = 0;
  throws_with(x, opt, "min_samples must be >= 1 (got 0)");
  opt.min_samples = 3;
  opt.n_threads = -1;
  throws_with(x, opt, "n_threads must be >= 0");
  opt.n_threads = 0;
  throws_with(x.topRows(1), opt, "DBSCAN needs at least 2 points (got 1)");
  throws_with(core::RowMatrixXd(5, 0), opt, "at least 1 feature");

  CHECK_THROWS_AS(core::summarize_clusters(x, std::vector<int>(3, 0)), std::invalid_argument);
  std::vector<int> bad(static_cast<std::size_t>(x.rows()), 0);
  bad[4] = -2;
  CHECK_THROWS_AS(core::summarize_clusters(x, bad), std::invalid_argument);
}

TEST_CASE("dbscan cosine: a zero row is at distance 1 from the others, 0 from itself",
          "[core][reference][dbscan]") {
  // sklearn's cosine_distances (zero rows stay zero when normalised): d(zero, v) = 1 - 0 = 1.
  // Rows: a zero row, two unit vectors 0.5 apart in cosine distance (60 degrees), a zero row.
  core::RowMatrixXd x(4, 2);
  x << 0, 0, 1, 0, 0.5, std::sqrt(3.0) / 2, 0, 0;
  core::DbscanOptions opt;
  opt.metric = core::DbscanMetric::Cosine;
  for (const auto route : {core::DbscanAlgorithm::KdTree, core::DbscanAlgorithm::Brute}) {
    INFO(route_name(route));
    opt.algorithm = route;
    opt.eps = 0.6;  // the two vectors are neighbours; a zero row only of itself
    opt.min_samples = 1;
    auto r = core::dbscan(x, opt);
    CHECK(r.neighbour_counts == std::vector<std::int64_t>{1, 2, 2, 1});
    CHECK(r.labels == std::vector<int>{0, 1, 1, 2});  // numbered by lowest core index
    opt.min_samples = 2;
    r = core::dbscan(x, opt);
    CHECK(r.labels == std::vector<int>{-1, 0, 0, -1});
    CHECK(r.n_clusters == 1);
    opt.eps = 0.999;  // just below 1: nothing changes
    CHECK(core::dbscan(x, opt).labels == std::vector<int>{-1, 0, 0, -1});
    opt.eps = 1;  // at 1 (closed ball) a zero row is everyone's neighbour
    opt.min_samples = 4;
    r = core::dbscan(x, opt);
    CHECK(r.neighbour_counts == std::vector<std::int64_t>{4, 4, 4, 4});
    CHECK(r.labels == std::vector<int>{0, 0, 0, 0});
    opt.min_samples = 5;  // more than N: no core point, all noise
    r = core::dbscan(x, opt);
    CHECK(r.labels == std::vector<int>{-1, -1, -1, -1});
    CHECK(r.n_clusters == 0);
  }
  // Only zero rows: each is its own neighbourhood below eps 1.
  opt.eps = 0.5;
  opt.min_samples = 1;
  const auto r = core::dbscan(core::RowMatrixXd::Zero(3, 2), opt);
  CHECK(r.labels == std::vector<int>{0, 1, 2});
  // One non-zero row and one zero row (a search over a single point).
  core::RowMatrixXd one(2, 2);
  one << 3, 4, 0, 0;
  CHECK(core::dbscan(one, opt).labels == std::vector<int>{0, 1});
}

TEST_CASE("dbscan with min_samples = 1 and with two points", "[core][reference][dbscan]") {
  // Two points: within eps -> one cluster of two cores; beyond -> two singleton clusters.
  core::RowMatrixXd two(2, 2);
  two << 0, 0, 3, 4;  // distance exactly 5
  core::DbscanOptions opt;
  opt.eps = 5;
  opt.min_samples = 2;
  auto r = core::dbscan(two, opt);
  CHECK(r.labels == std::vector<int>{0, 0});
  CHECK(r.neighbour_counts == std::vector<std::int64_t>{2, 2});
  opt.eps = 4.999;
  r = core::dbscan(two, opt);
  CHECK(r.labels == std::vector<int>{-1, -1});
  CHECK(r.n_clusters == 0);
  opt.min_samples = 1;
  r = core::dbscan(two, opt);
  CHECK(r.labels == std::vector<int>{0, 1});
  CHECK(r.is_core == std::vector<char>{1, 1});
  CHECK(r.n_clusters == 2);
}
