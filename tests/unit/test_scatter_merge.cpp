// Exact merging of scatter accumulators (issue 19: shards merged in any order or grouping equal
// one pass). The reference is an independent two-pass computation in long double over all rows;
// tolerances are 1e-12 relative, the bar for merged results, which one float64 pass of
// a few thousand rows meets with room (rounding grows like eps * sqrt(n) ~ 1e-14 here).
#include <algorithm>
#include <numeric>
#include <random>

#include <catch2/catch.hpp>

#include <Eigen/Eigenvalues>

#include "actlens/core/scatter.hpp"

using namespace actlens::core;

namespace {

struct Rows {
  RowMatrixXd x;
  std::vector<int> y;
};

// n rows in c classes about `offset` in every coordinate; class means `separation` apart (per
// coordinate, random), unit-ish spread that differs per coordinate.
Rows make_rows(int n, int d, int c, unsigned seed, double offset, double separation) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g(0, 1);
  RowMatrixXd means(c, d);
  for (int k = 0; k < c; ++k)
    for (int j = 0; j < d; ++j) means(k, j) = offset + separation * g(rng);
  Rows out{RowMatrixXd(n, d), std::vector<int>(static_cast<std::size_t>(n))};
  std::uniform_int_distribution<int> pick(0, c - 1);
  for (int i = 0; i < n; ++i) {
    const int k = pick(rng);
    out.y[static_cast<std::size_t>(i)] = k;
    for (int j = 0; j < d; ++j) out.x(i, j) = means(k, j) + g(rng) * (1.0 + 0.2 * j);
  }
  return out;
}

// Long double two-pass: grand mean, class means, S_T about the grand mean.
struct Reference {
  Eigen::Matrix<long double, Eigen::Dynamic, 1> mean;
  Eigen::Matrix<long double, Eigen::Dynamic, Eigen::Dynamic> class_means, scatter;
};

Reference reference(const Rows& r, int c) {
  using LD = long double;
  const Eigen::Index n = r.x.rows(), d = r.x.cols();
  Reference ref;
  ref.mean = Eigen::Matrix<LD, Eigen::Dynamic, 1>::Zero(d);
  ref.class_means = Eigen::Matrix<LD, Eigen::Dynamic, Eigen::Dynamic>::Zero(c, d);
  std::vector<LD> counts(static_cast<std::size_t>(c), 0);
  for (Eigen::Index i = 0; i < n; ++i) {
    const int k = r.y[static_cast<std::size_t>(i)];
    counts[static_cast<std::size_t>(k)] += 1;
    for (Eigen::Index j = 0; j < d; ++j) {
      ref.mean[j] += static_cast<LD>(r.x(i, j));
      ref.class_means(k, j) += static_cast<LD>(r.x(i, j));
    }
  }
  ref.mean /= static_cast<LD>(n);
  for (int k = 0; k < c; ++k) ref.class_means.row(k) /= counts[static_cast<std::size_t>(k)];
  ref.scatter = Eigen::Matrix<LD, Eigen::Dynamic, Eigen::Dynamic>::Zero(d, d);
  Eigen::Matrix<LD, Eigen::Dynamic, 1> v(d);
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j < d; ++j) v[j] = static_cast<LD>(r.x(i, j)) - ref.mean[j];
    ref.scatter += v * v.transpose();
  }
  return ref;
}

// Relative errors of the eigen-relevant quantities against the reference: S_T (Frobenius), its
// eigenvalues (each relative to itself, or to the largest where S_T is ill conditioned: a
// float64 S_T holds its small eigenvalues only to eps * lambda_max, whatever the algorithm) and
// the class means (max-norm).
struct Errors {
  double scatter = 0, eigenvalues = 0, class_means = 0;
};

Errors errors(const ScatterStats& s, const Reference& ref, bool per_eigenvalue) {
  Errors e;
  const Eigen::MatrixXd want = ref.scatter.cast<double>();
  e.scatter = (s.total_scatter - want).norm() / want.norm();
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> got_eig(s.total_scatter, Eigen::EigenvaluesOnly);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> want_eig(want, Eigen::EigenvaluesOnly);
  const Eigen::ArrayXd lambda = want_eig.eigenvalues().array();
  const Eigen::ArrayXd dl = (got_eig.eigenvalues().array() - lambda).abs();
  e.eigenvalues = per_eigenvalue ? (dl / lambda).maxCoeff() : dl.maxCoeff() / lambda.maxCoeff();
  const Eigen::MatrixXd cm = ref.class_means.cast<double>();
  e.class_means = (s.class_means - cm).cwiseAbs().maxCoeff() / cm.cwiseAbs().maxCoeff();
  return e;
}

void check_close(const ScatterStats& s, const Reference& ref, std::int64_t n, bool per_eigenvalue) {
  const Errors e = errors(s, ref, per_eigenvalue);
  CHECK(s.n == n);
  // As multiples of the 1e-12 bar, so that a failure (and -s) shows the margin.
  CHECK(e.scatter / 1e-12 < 1.0);
  CHECK(e.eigenvalues / 1e-12 < 1.0);
  CHECK(e.class_means / 1e-12 < 1.0);
}

// One accumulator per shard: rows [begin, end), added in chunks of `chunk` rows (each shard's
// shift is its own first chunk's mean, as in a real sharded run).
std::vector<ScatterAccumulator> shard(const Rows& r, int c, const std::vector<Eigen::Index>& cuts,
                                      Eigen::Index chunk) {
  std::vector<ScatterAccumulator> out;
  for (std::size_t s = 0; s + 1 < cuts.size(); ++s) {
    ScatterAccumulator acc(r.x.cols(), c);
    for (Eigen::Index b = cuts[s]; b < cuts[s + 1]; b += chunk) {
      const Eigen::Index m = std::min(chunk, cuts[s + 1] - b);
      acc.add(r.x.middleRows(b, m),
              std::span<const int>(r.y.data() + b, static_cast<std::size_t>(m)));
    }
    out.push_back(std::move(acc));
  }
  return out;
}

// Pairwise tree: ((0 1) (2 3)) (4 ...), through the plain-array state at every level.
ScatterAccumulator tree_merge(std::vector<ScatterAccumulator> parts) {
  while (parts.size() > 1) {
    std::vector<ScatterAccumulator> next;
    for (std::size_t i = 0; i < parts.size(); i += 2) {
      auto a = ScatterAccumulator::from_state(parts[i].state());
      if (i + 1 < parts.size()) a.merge(ScatterAccumulator::from_state(parts[i + 1].state()));
      next.push_back(std::move(a));
    }
    parts = std::move(next);
  }
  return parts.front();
}

void check_all_orders(const Rows& r, int c, const std::vector<Eigen::Index>& cuts,
                      bool per_eigenvalue = true) {
  const Reference ref = reference(r, c);
  const auto n = static_cast<std::int64_t>(r.x.rows());
  ScatterAccumulator one(r.x.cols(), c);
  one.add(r.x, r.y);
  SECTION("one pass") {
    check_close(one.finalize(), ref, n, per_eigenvalue);
  }
  const auto parts = shard(r, c, cuts, 64);
  SECTION("shards merged in shuffled orders") {
    std::vector<std::size_t> order(parts.size());
    std::iota(order.begin(), order.end(), 0);
    std::mt19937 rng(7);
    for (int trial = 0; trial < 5; ++trial) {
      std::shuffle(order.begin(), order.end(), rng);
      ScatterAccumulator acc(r.x.cols(), c);
      for (auto i : order) acc.merge(parts[i]);
      INFO("trial " << trial);
      check_close(acc.finalize(), ref, n, per_eigenvalue);
    }
  }
  SECTION("shards merged as a tree, through state()/from_state()") {
    check_close(tree_merge(parts).finalize(), ref, n, per_eigenvalue);
    std::vector<ScatterAccumulator> reversed(parts.rbegin(), parts.rend());
    check_close(tree_merge(reversed).finalize(), ref, n, per_eigenvalue);
  }
}

}  // namespace

TEST_CASE("merged shards equal one pass: data near the origin", "[core][scatter][merge]") {
  const Rows r = make_rows(3000, 7, 4, 11, 0.0, 3.0);
  check_all_orders(r, 4, {0, 5, 700, 701, 1400, 2222, 3000});
}

TEST_CASE("merged shards equal one pass: large common offset", "[core][scatter][merge]") {
  // Mean 1e4, spread ~1: a raw sum of squares would hold n * 1e8 and lose ~8 of 16 digits of
  // S_T ~ n (the control below shows these data would catch that).
  const Rows r = make_rows(3000, 7, 4, 12, 1e4, 1.0);
  check_all_orders(r, 4, {0, 3, 900, 1800, 1801, 2500, 3000});
  SECTION("control: a raw sum-of-squares merge misses the bar on these data") {
    const Reference ref = reference(r, 4);
    const Eigen::MatrixXd x = r.x;
    const Eigen::VectorXd mean = x.colwise().mean();
    const Eigen::MatrixXd raw = x.transpose() * x;
    const Eigen::MatrixXd naive = raw - static_cast<double>(x.rows()) * mean * mean.transpose();
    const Eigen::MatrixXd want = ref.scatter.cast<double>();
    CHECK((naive - want).norm() / want.norm() > 1e-10);
  }
}

TEST_CASE("merged shards equal one pass: shards far apart", "[core][scatter][merge]") {
  // Rows sorted by class, classes 1e3 apart and shards cut at class boundaries: every shard's
  // shift is far from the merged mean, so the merge itself must stay centred (Chan et al.).
  Rows r = make_rows(4000, 6, 5, 13, 0.0, 1e3);
  std::vector<Eigen::Index> idx(static_cast<std::size_t>(r.x.rows()));
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](auto a, auto b) {
    return r.y[static_cast<std::size_t>(a)] < r.y[static_cast<std::size_t>(b)];
  });
  Rows sorted{RowMatrixXd(r.x.rows(), r.x.cols()), {}};
  for (std::size_t i = 0; i < idx.size(); ++i) {
    sorted.x.row(static_cast<Eigen::Index>(i)) = r.x.row(idx[i]);
    sorted.y.push_back(r.y[static_cast<std::size_t>(idx[i])]);
  }
  std::vector<Eigen::Index> cuts{0};
  for (std::size_t i = 1; i < sorted.y.size(); ++i)
    if (sorted.y[i] != sorted.y[i - 1]) cuts.push_back(static_cast<Eigen::Index>(i));
  cuts.push_back(sorted.x.rows());
  check_all_orders(sorted, 5, cuts, false);
}

TEST_CASE("state round trip is exact and merges as the accumulators", "[core][scatter][merge]") {
  const Rows r = make_rows(500, 5, 3, 14, 50.0, 2.0);
  ScatterAccumulator a(5, 3), b(5, 3);
  a.add(r.x.topRows(200), std::span<const int>(r.y.data(), 200));
  b.add(r.x.bottomRows(300), std::span<const int>(r.y.data() + 200, 300));
  const ScatterState sa = a.state();
  CHECK(sa.n == 200);
  CHECK(sa.gram.isApprox(sa.gram.transpose(), 0.0));  // mirrored: exactly symmetric
  const auto back = ScatterAccumulator::from_state(sa);
  const ScatterState again = back.state();
  CHECK(again.n == sa.n);
  CHECK(again.class_counts == sa.class_counts);
  CHECK(again.shift == sa.shift);
  CHECK(again.class_sums == sa.class_sums);
  CHECK(again.gram == sa.gram);
  // merge(from_state(a), from_state(b)) is bit-identical to merge(a, b).
  ScatterAccumulator direct = a, via = ScatterAccumulator::from_state(sa);
  direct.merge(b);
  via.merge(ScatterAccumulator::from_state(b.state()));
  const auto s1 = direct.finalize(), s2 = via.finalize();
  CHECK(s1.total_scatter == s2.total_scatter);
  CHECK(s1.class_means == s2.class_means);
  CHECK(s1.mean == s2.mean);
  // An empty accumulator's state rebuilds an empty one, which merges as a no-op.
  const ScatterState empty = ScatterAccumulator(5, 3).state();
  CHECK(empty.n == 0);
  auto e = ScatterAccumulator::from_state(empty);
  e.merge(a);
  CHECK(e.finalize().total_scatter == a.finalize().total_scatter);
}

TEST_CASE("from_state refuses inconsistent states", "[core][scatter][merge]") {
  ScatterAccumulator a(4, 2);
  const Rows r = make_rows(20, 4, 2, 15, 0.0, 1.0);
  a.add(r.x, r.y);
  const ScatterState good = a.state();
  ScatterState s = good;
  s.n += 1;  // counts no longer sum to n
  CHECK_THROWS_AS(ScatterAccumulator::from_state(s), std::invalid_argument);
  s = good;
  s.class_counts[0] = -1;
  CHECK_THROWS_AS(ScatterAccumulator::from_state(s), std::invalid_argument);
  s = good;
  s.gram = Eigen::MatrixXd::Zero(3, 3);
  CHECK_THROWS_AS(ScatterAccumulator::from_state(s), std::invalid_argument);
  s = good;
  s.class_sums = RowMatrixXd::Zero(3, 4);
  CHECK_THROWS_AS(ScatterAccumulator::from_state(s), std::invalid_argument);
  CHECK_NOTHROW(ScatterAccumulator::from_state(good));
}
