// io/nan_policy: rows with NaN/Inf in a streamed chunk are refused with the file, key and layer,
// or left out with their class ids.
#include <catch2/catch.hpp>

#include <limits>
#include <stdexcept>

#include "actlens/error.hpp"
#include "actlens/io/nan_policy.hpp"

using namespace actlens::io;

namespace {

// 4 samples, two layer slots of width 2; slot 0 has NaN in row 1 and Inf in row 3.
Chunk make_chunk() {
  Chunk c;
  RowMatrixF a(4, 2), b(4, 2);
  a << 0, 1, std::numeric_limits<float>::quiet_NaN(), 2, 4, 5, 6,
      std::numeric_limits<float>::infinity();
  b << 10, 11, 12, 13, 14, 15, 16, 17;
  c.rows = {a, b};
  c.class_ids = {0, 1, 2, 3};
  c.keys = {"k0", "k1", "k2", "k3"};
  c.source = "roles/chef.pt";
  return c;
}

}  // namespace

TEST_CASE("NaN policy names", "[io][nan_policy]") {
  CHECK(parse_nan_policy("error") == NanPolicy::Error);
  CHECK(parse_nan_policy("skip") == NanPolicy::Skip);
  CHECK_THROWS_AS(parse_nan_policy("drop"), std::invalid_argument);
}

TEST_CASE("skip leaves out the rows with NaN/Inf and keeps the others in order",
          "[io][nan_policy]") {
  Chunk c = make_chunk();
  const FiniteRows kept = apply_nan_policy(c, 0, 7, NanPolicy::Skip);
  CHECK(kept.dropped == 2);
  CHECK(kept.class_ids == std::vector<int>{0, 2});
  REQUIRE(c.rows[0].rows() == 2);
  CHECK(c.rows[0](0, 1) == 1.0f);
  CHECK(c.rows[0](1, 0) == 4.0f);
  // the chunk's own ids and the other slot are untouched
  CHECK(c.class_ids == std::vector<int>{0, 1, 2, 3});
  CHECK(c.rows[1].rows() == 4);
  const FiniteRows other = apply_nan_policy(c, 1, 8, NanPolicy::Skip);
  CHECK(other.dropped == 0);
  CHECK(other.class_ids == std::vector<int>{0, 1, 2, 3});
  CHECK(c.rows[1].rows() == 4);
}

TEST_CASE("error names the file, the first bad key and the layer", "[io][nan_policy]") {
  Chunk c = make_chunk();
  CHECK_THROWS_WITH(apply_nan_policy(c, 0, 7, NanPolicy::Error),
                    Catch::Matchers::StartsWith("roles/chef.pt: key 'k1' has NaN/Inf at layer 7"));
  CHECK_THROWS_AS(apply_nan_policy(c, 0, 7, NanPolicy::Error), actlens::Error);
  // a clean slot passes under either policy
  CHECK(apply_nan_policy(c, 1, 8, NanPolicy::Error).dropped == 0);
}

TEST_CASE("first non-finite row", "[io][nan_policy]") {
  RowMatrixD d = RowMatrixD::Zero(5, 3);
  CHECK(first_nonfinite_row(d) == -1);
  d(3, 2) = -std::numeric_limits<double>::infinity();
  d(4, 0) = std::numeric_limits<double>::quiet_NaN();
  CHECK(first_nonfinite_row(d) == 3);
  RowMatrixF f = RowMatrixF::Ones(2, 2);
  f(1, 1) = std::numeric_limits<float>::quiet_NaN();
  CHECK(first_nonfinite_row(f) == 1);
  CHECK(first_nonfinite_row(RowMatrixF(0, 4)) == -1);
}
