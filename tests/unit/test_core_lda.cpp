// Mathematical properties of the scatter accumulator, scalers and the LDA solver (no fixtures):
// chunking/merging does not change the statistics, the generalized eigen-equation holds, and
// eigenvalues lie in [0, 1].
#include <random>

#include <catch2/catch.hpp>

#include "actlens/core/lda.hpp"
#include "actlens/core/scaler.hpp"
#include "actlens/core/scatter.hpp"
#include "actlens/core/signs.hpp"

using namespace actlens::core;

namespace {

struct Data {
  RowMatrixXf x;
  std::vector<int> y;
};

Data make_data(int n, int d, int c, unsigned seed, float offset = 100.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0, 1);
  Data out{RowMatrixXf(n, d), std::vector<int>(static_cast<std::size_t>(n))};
  RowMatrixXf means(c, d);
  for (int k = 0; k < c; ++k)
    for (int j = 0; j < d; ++j) means(k, j) = 2.0f * g(rng) + offset;
  for (int i = 0; i < n; ++i) {
    const int k = i % c;
    out.y[static_cast<std::size_t>(i)] = k;
    for (int j = 0; j < d; ++j) out.x(i, j) = means(k, j) + g(rng) * (1.0f + 0.1f * float(j));
  }
  return out;
}

}  // namespace

TEST_CASE("scatter statistics equal the direct two-pass computation", "[core][scatter]") {
  const auto data = make_data(300, 12, 4, 1);
  ScatterAccumulator acc(12, 4);
  acc.add(data.x, data.y);
  const auto s = acc.finalize();
  const Eigen::MatrixXd x = data.x.cast<double>();
  const Eigen::VectorXd mean = x.colwise().mean();
  const Eigen::MatrixXd xc = x.rowwise() - mean.transpose();
  const Eigen::MatrixXd st = xc.transpose() * xc;
  CHECK((s.mean - mean).cwiseAbs().maxCoeff() < 1e-9);
  CHECK((s.total_scatter - st).cwiseAbs().maxCoeff() < 1e-8 * st.cwiseAbs().maxCoeff());
  CHECK(s.n == 300);
  CHECK(s.class_counts == std::vector<std::int64_t>{75, 75, 75, 75});
}

TEST_CASE("chunked and merged accumulation equals one pass", "[core][scatter]") {
  const auto data = make_data(257, 9, 3, 2);
  ScatterAccumulator whole(9, 3), a(9, 3), b(9, 3);
  whole.add(data.x, data.y);
  a.add(data.x.topRows(100), std::span<const int>(data.y.data(), 100));
  b.add(data.x.middleRows(100, 120), std::span<const int>(data.y.data() + 100, 120));
  b.add(data.x.bottomRows(37), std::span<const int>(data.y.data() + 220, 37));
  a.merge(b);
  const auto s1 = whole.finalize(), s2 = a.finalize();
  CHECK(s1.n == s2.n);
  CHECK((s1.total_scatter - s2.total_scatter).cwiseAbs().maxCoeff() <
        1e-10 * s1.total_scatter.cwiseAbs().maxCoeff());
  CHECK((s1.class_means - s2.class_means).cwiseAbs().maxCoeff() < 1e-10);
}

TEST_CASE("LDA solves S_B w = lambda S_T w with eigenvalues in [0, 1]", "[core][lda]") {
  const auto data = make_data(400, 10, 5, 3);
  ScatterAccumulator acc(10, 5);
  acc.add(data.x, data.y);
  const auto raw = acc.finalize();
  const auto sc =
      fit_scaler(ScalerKind::Standard, double(raw.n), raw.mean, raw.total_scatter.diagonal());
  const auto s = scale_stats(raw, sc.mean, sc.scale);
  LdaOptions o;
  o.k = 10;
  const auto r = solve_lda(s, o);
  REQUIRE(r.eigenvalues.size() == 4);  // capped at C - 1
  Eigen::MatrixXd sb = Eigen::MatrixXd::Zero(10, 10);
  for (int c = 0; c < 5; ++c) {
    const Eigen::VectorXd d = s.class_means.row(c).transpose() - s.mean;
    sb += double(s.class_counts[static_cast<std::size_t>(c)]) * d * d.transpose();
  }
  for (Eigen::Index i = 0; i < r.eigenvalues.size(); ++i) {
    const Eigen::VectorXd w = r.components.row(i).transpose();
    const Eigen::VectorXd res = sb * w - r.eigenvalues[i] * s.total_scatter * w;
    CHECK(res.norm() < 1e-8 * (sb * w).norm() + 1e-10);
    CHECK(r.eigenvalues[i] >= 0);
    CHECK(r.eigenvalues[i] <= 1);
    if (i > 0) CHECK(r.eigenvalues[i] <= r.eigenvalues[i - 1]);
  }
}

TEST_CASE("standard scaler follows sklearn: ddof 0, constant features keep scale 1",
          "[core][scaler]") {
  RowMatrixXd x(4, 2);
  x << 1, 5, 2, 5, 3, 5, 4, 5;
  ScatterAccumulator acc(2, 1);
  acc.add(x, std::vector<int>(4, 0));
  const auto s = acc.finalize();
  const auto sc = fit_scaler(ScalerKind::Standard, 4, s.mean, s.total_scatter.diagonal());
  CHECK(sc.mean[0] == Approx(2.5));
  CHECK(sc.scale[0] == Approx(std::sqrt(1.25)));  // population std of 1..4
  CHECK(sc.scale[1] == 1.0);
  RowMatrixXd z = x;
  fit_scaler(ScalerKind::L2Mean, 4, s.mean, s.total_scatter.diagonal()).transform(z);
  for (int i = 0; i < 4; ++i) CHECK(z.row(i).norm() == Approx(1.0));
  CHECK_THROWS_AS(parse_scaler("zscore"), std::invalid_argument);
}

TEST_CASE("sign convention: largest coordinate positive", "[core][lda]") {
  RowMatrixXd v(2, 3);
  v << 0.1, -0.9, 0.2, 0.5, 0.4, -0.3;
  normalize_signs(v);
  CHECK(v(0, 1) == Approx(0.9));
  CHECK(v(1, 0) == Approx(0.5));
}

TEST_CASE("solver rejects bad parameters", "[core][lda]") {
  ScatterStats s;
  s.class_counts = {10};
  s.total_scatter = Eigen::MatrixXd::Identity(2, 2);
  s.class_means = RowMatrixXd::Zero(1, 2);
  s.mean = Eigen::VectorXd::Zero(2);
  CHECK_THROWS_AS(solve_lda(s, LdaOptions{}), std::invalid_argument);
  CHECK_THROWS_AS(ScatterAccumulator(0, 2), std::invalid_argument);
}

TEST_CASE("mixed precision accumulation stays within float32 noise of float64", "[core][scatter]") {
  const auto data = make_data(3000, 40, 6, 4, 50.0f);  // 3 blocks of 1024 rows, large offsets
  ScatterAccumulator exact(40, 6), mixed(40, 6, Precision::Mixed);
  exact.add(data.x, data.y);
  mixed.add(data.x.topRows(1500), std::span<const int>(data.y.data(), 1500));
  mixed.add(data.x.bottomRows(1500), std::span<const int>(data.y.data() + 1500, 1500));
  const auto a = exact.finalize(), b = mixed.finalize();
  const double scale = a.total_scatter.diagonal().maxCoeff();
  CHECK((a.total_scatter - b.total_scatter).cwiseAbs().maxCoeff() < 1e-5 * scale);
  CHECK((a.class_means - b.class_means).cwiseAbs().maxCoeff() < 1e-9);
  CHECK(a.class_counts == b.class_counts);
}
