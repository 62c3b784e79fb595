// core/lda_roles: role vectors through a fitted LDA, on small cases whose answers follow by hand
// (projections of a centred vector, cosines with axis-aligned vectors, the order of a column).
#include <catch2/catch.hpp>

#include <cmath>
#include <stdexcept>

#include "actlens/core/lda_roles.hpp"

using namespace actlens::core;

namespace {

FittedScaler mean_scaler(const Eigen::VectorXd& mean) {
  // The "mean" scaler subtracts the mean: n and the sums of squares do not matter.
  return fit_scaler(ScalerKind::Mean, 10.0, mean, Eigen::VectorXd::Ones(mean.size()));
}

}  // namespace

TEST_CASE("role vectors are scaled, then projected on the components", "[core][lda_roles]") {
  RowMatrixXf v(2, 2);
  v << 1, 2, 3, 4;
  RowMatrixXd comps(2, 2);
  comps << 0.6, 0.8, 0.0, 1.0;
  const RoleProjection p = project_roles(v, mean_scaler(Eigen::Vector2d(1, 1)), comps);
  // scaled rows (0, 1) and (2, 3)
  CHECK(p.scaled(0, 0) == 0.0);
  CHECK(p.scaled(1, 1) == 3.0);
  CHECK(p.norms[0] == Approx(1.0));
  CHECK(p.norms[1] == Approx(std::sqrt(13.0)));
  REQUIRE(p.projections.rows() == 2);
  REQUIRE(p.projections.cols() == 2);
  CHECK(p.projections(0, 0) == Approx(0.8));
  CHECK(p.projections(0, 1) == Approx(1.0));
  CHECK(p.projections(1, 0) == Approx(0.6 * 2 + 0.8 * 3));
  CHECK(p.projections(1, 1) == Approx(3.0));
  // unit components: projection / norm is the cosine of the scaled vector with the component
  const double cos10 = (0.6 * 2 + 0.8 * 3) / std::sqrt(13.0);
  CHECK(p.projections(1, 0) / p.norms[1] == Approx(cos10));
}

TEST_CASE("project_roles refuses vectors of another width", "[core][lda_roles]") {
  RowMatrixXf v = RowMatrixXf::Ones(2, 3);
  RowMatrixXd comps = RowMatrixXd::Identity(2, 2);
  CHECK_THROWS_AS(project_roles(v, FittedScaler{}, comps), std::invalid_argument);
}

TEST_CASE("extreme rows per component: sorted, ties in row order", "[core][lda_roles]") {
  RowMatrixXd proj(5, 2);
  proj << 3, -1,  //
      1, -2,      //
      2, -3,      //
      1, -4,      //
      5, -5;
  const auto two = extreme_rows(proj, 2);
  REQUIRE(two.size() == 2);
  using V = std::vector<Eigen::Index>;
  // column 0: values 3 1 2 1 5 -> ascending rows 1 3 2 0 4 (the tie 1/3 keeps row order)
  CHECK(two[0].lowest == V{1, 3});
  CHECK(two[0].highest == V{4, 0});
  // column 1 decreases down the rows
  CHECK(two[1].lowest == V{4, 3});
  CHECK(two[1].highest == V{0, 1});
  // more than there are rows: every row, each list the reverse of the other
  const auto all = extreme_rows(proj, 10);
  CHECK(all[0].lowest == V{1, 3, 2, 0, 4});
  CHECK(all[0].highest == V{4, 0, 2, 3, 1});
  CHECK(extreme_rows(RowMatrixXd(0, 3), 10)[2].lowest.empty());
}

TEST_CASE("component cosines with principal components", "[core][lda_roles]") {
  RowMatrixXd comps(2, 3);
  comps << 1, 0, 0,  //
      0, 1, 0;
  RowMatrixXd pcs(3, 3);
  pcs << 2, 0, 0,  // along the first axis, not unit length
      1, 1, 0,     // 45 degrees from both components
      0, 0, 0;     // zero: cosine 0 by convention
  const RowMatrixXd c = component_cosines(comps, pcs);
  REQUIRE(c.rows() == 2);
  REQUIRE(c.cols() == 3);
  CHECK(c(0, 0) == Approx(1.0));
  CHECK(c(1, 0) == Approx(0.0).margin(1e-15));
  CHECK(c(0, 1) == Approx(1 / std::sqrt(2.0)));
  CHECK(c(1, 1) == Approx(1 / std::sqrt(2.0)));
  CHECK(c(0, 2) == 0.0);
  CHECK(c(1, 2) == 0.0);
  CHECK_THROWS_AS(component_cosines(comps, RowMatrixXd::Ones(1, 2)), std::invalid_argument);
}
