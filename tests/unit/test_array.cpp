// Dtype bookkeeping, exact bf16/f16 widening, and conversion to Eigen matrices.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>

#include "actlens/error.hpp"
#include "actlens/io/array.hpp"
#include "test_paths.hpp"

using actlens::Error;
using namespace actlens::io;
using actlens::test::array_of;

namespace {

float bits_to_float(std::uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

std::uint32_t float_to_bits(float f) {
  std::uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return bits;
}

// IEEE half by the textbook formula, in double arithmetic: an independent reference.
double half_reference(std::uint16_t h) {
  const int sign = (h & 0x8000) ? -1 : 1;
  const int exponent = (h >> 10) & 0x1F;
  const int mantissa = h & 0x3FF;
  if (exponent == 0) return sign * std::ldexp(mantissa, -24);
  if (exponent == 31) {
    return mantissa == 0 ? sign * std::numeric_limits<double>::infinity()
                         : std::numeric_limits<double>::quiet_NaN();
  }
  return sign * std::ldexp(1024 + mantissa, exponent - 25);
}

}  // namespace

TEST_CASE("dtype sizes and names", "[io][array]") {
  const std::vector<std::tuple<DType, std::size_t, std::string>> table = {
      {DType::F64, 8, "float64"},   {DType::F32, 4, "float32"}, {DType::F16, 2, "float16"},
      {DType::BF16, 2, "bfloat16"}, {DType::I64, 8, "int64"},   {DType::I32, 4, "int32"},
      {DType::I16, 2, "int16"},     {DType::I8, 1, "int8"},     {DType::U8, 1, "uint8"},
      {DType::Bool, 1, "bool"}};
  for (const auto& [t, size, name] : table) {
    CHECK(dtype_size(t) == size);
    CHECK(dtype_name(t) == name);
  }
}

TEST_CASE("bf16 widening is the upper half of a float32, for every pattern", "[io][array]") {
  for (std::uint32_t h = 0; h <= 0xFFFF; ++h) {
    const float f = bf16_to_float(static_cast<std::uint16_t>(h));
    REQUIRE(float_to_bits(f) == (h << 16));
  }
  CHECK(bf16_to_float(0x3F80) == 1.0f);
  CHECK(bf16_to_float(0xC049) == -3.140625f);
  CHECK(bf16_to_float(0x0001) == std::ldexp(1.0f, -133));  // smallest subnormal
  CHECK(std::isinf(bf16_to_float(0x7F80)));
  CHECK(bf16_to_float(0xFF80) < 0);
  CHECK(std::isnan(bf16_to_float(0x7FC0)));
  CHECK(std::signbit(bf16_to_float(0x8000)));
}

TEST_CASE("f16 widening is exact for every pattern", "[io][array]") {
  for (std::uint32_t h = 0; h <= 0xFFFF; ++h) {
    const float f = f16_to_float(static_cast<std::uint16_t>(h));
    const double want = half_reference(static_cast<std::uint16_t>(h));
    if (std::isnan(want)) {
      REQUIRE(std::isnan(f));
    } else {
      REQUIRE(static_cast<double>(f) == want);
      REQUIRE(std::signbit(f) == ((h & 0x8000) != 0));
    }
  }
}

TEST_CASE("f16 edge cases", "[io][array]") {
  CHECK(f16_to_float(0x0000) == 0.0f);
  CHECK(std::signbit(f16_to_float(0x8000)));
  CHECK(f16_to_float(0x0001) == std::ldexp(1.0f, -24));     // smallest subnormal
  CHECK(f16_to_float(0x03FF) == std::ldexp(1023.0f, -24));  // largest subnormal
  CHECK(f16_to_float(0x0400) == std::ldexp(1.0f, -14));     // smallest normal
  CHECK(f16_to_float(0x7BFF) == 65504.0f);                  // largest finite
  CHECK(f16_to_float(0x3C00) == 1.0f);
  CHECK(f16_to_float(0xC000) == -2.0f);
  CHECK(f16_to_float(0x3555) == 0.333251953125f);
  CHECK(f16_to_float(0x7C00) == std::numeric_limits<float>::infinity());
  CHECK(f16_to_float(0xFC00) == -std::numeric_limits<float>::infinity());
  CHECK(std::isnan(f16_to_float(0x7E00)));
  CHECK(std::isnan(f16_to_float(0x7C01)));  // signalling NaN stays a NaN, not inf
  CHECK(std::isnan(f16_to_float(0xFE00)));
  // The payload of a NaN moves into the float32 mantissa.
  CHECK(float_to_bits(f16_to_float(0x7E01)) == (0x7F800000u | (0x201u << 13)));
  CHECK(bits_to_float(0x7F800000u) == f16_to_float(0x7C00));
}

TEST_CASE("convert_to_float and convert_to_double handle every dtype", "[io][array]") {
  SECTION("floats and halves") {
    const std::vector<std::uint16_t> halves = {0x3C00, 0xC100, 0x0001};
    std::vector<float> f(3);
    convert_to_float(DType::F16, halves.data(), f.data(), 3);
    CHECK(f == std::vector<float>{1.0f, -2.5f, std::ldexp(1.0f, -24)});
    const std::vector<std::uint16_t> bf = {0x3F80, 0xC020, 0x4B80};
    std::vector<double> d(3);
    convert_to_double(DType::BF16, bf.data(), d.data(), 3);
    CHECK(d == std::vector<double>{1.0, -2.5, 16777216.0});
    const std::vector<double> f64 = {0.1, -1e300};
    convert_to_double(DType::F64, f64.data(), d.data(), 2);
    CHECK(d[0] == 0.1);
    CHECK(d[1] == -1e300);
  }
  SECTION("integers by value") {
    const std::vector<std::int64_t> i64 = {-(std::int64_t{1} << 53), 7};
    std::vector<double> d(2);
    convert_to_double(DType::I64, i64.data(), d.data(), 2);
    CHECK(d == std::vector<double>{-9007199254740992.0, 7.0});
    const std::vector<std::int8_t> i8 = {-128, 127};
    convert_to_double(DType::I8, i8.data(), d.data(), 2);
    CHECK(d == std::vector<double>{-128.0, 127.0});
    const std::vector<std::uint8_t> u8 = {0, 255};
    convert_to_double(DType::U8, u8.data(), d.data(), 2);
    CHECK(d == std::vector<double>{0.0, 255.0});
    const std::vector<std::int16_t> i16 = {-32768, 32767};
    std::vector<float> f(2);
    convert_to_float(DType::I16, i16.data(), f.data(), 2);
    CHECK(f == std::vector<float>{-32768.0f, 32767.0f});
  }
  SECTION("bools: any nonzero byte is true") {
    const std::vector<std::uint8_t> b = {0, 1, 2, 255};
    std::vector<float> f(4);
    convert_to_float(DType::Bool, b.data(), f.data(), 4);
    CHECK(f == std::vector<float>{0, 1, 1, 1});
  }
  SECTION("unaligned sources") {
    std::vector<unsigned char> buf(1 + 2 * sizeof(double));
    const double v[2] = {1.25, -3.5};
    std::memcpy(buf.data() + 1, v, sizeof v);
    std::vector<double> d(2);
    convert_to_double(DType::F64, buf.data() + 1, d.data(), 2);
    CHECK(d == std::vector<double>{1.25, -3.5});
  }
}

TEST_CASE("to_float_matrix and to_double_matrix", "[io][array]") {
  const Array m = array_of<std::int32_t>(DType::I32, {2, 3}, {1, 2, 3, 4, 5, 6});
  const RowMatrixF f = to_float_matrix(m, "m.npy");
  REQUIRE(f.rows() == 2);
  REQUIRE(f.cols() == 3);
  CHECK(f(0, 2) == 3.0f);
  CHECK(f(1, 0) == 4.0f);

  const Array v = array_of<float>(DType::F32, {3}, {1.5f, 2.5f, 3.5f});
  const RowMatrixD d = to_double_matrix(v, "v.npy");
  REQUIRE(d.rows() == 3);
  REQUIRE(d.cols() == 1);
  CHECK(d(2, 0) == 3.5);

  const Array empty = array_of<float>(DType::F32, {0, 4}, {});
  CHECK(to_float_matrix(empty, "e").rows() == 0);

  const Array cube = array_of<float>(DType::F32, {1, 1, 2}, {1, 2});
  REQUIRE_THROWS_AS(to_float_matrix(cube, "cube.npy"), Error);
  REQUIRE_THROWS_WITH(to_double_matrix(cube, "cube.npy"), Catch::Contains("cube.npy"));
  const Array scalar = array_of<double>(DType::F64, {}, {2.0});
  REQUIRE_THROWS_AS(to_float_matrix(scalar, "s.npy"), Error);
  // Data that does not match the shape is refused, not read past.
  Array broken = array_of<float>(DType::F32, {4}, {1, 2});
  REQUIRE_THROWS_AS(to_float_matrix(broken, "broken"), Error);
  REQUIRE_THROWS_AS(to_double_vector(broken), Error);
}

TEST_CASE("to_double_vector flattens any rank", "[io][array]") {
  const Array cube = array_of<std::int16_t>(DType::I16, {2, 1, 2}, {-1, 2, -3, 4});
  CHECK(to_double_vector(cube) == std::vector<double>{-1, 2, -3, 4});
  const Array scalar = array_of<double>(DType::F64, {}, {2.0});
  CHECK(scalar.numel() == 1);
  CHECK(to_double_vector(scalar) == std::vector<double>{2.0});
}

TEST_CASE("make_array copies Eigen and std data", "[io][array]") {
  RowMatrixD md(2, 2);
  md << 1, 2, 3, 4;
  const Array a = make_array(md);
  CHECK(a.dtype == DType::F64);
  CHECK(a.shape == std::vector<std::int64_t>{2, 2});
  CHECK(to_double_vector(a) == std::vector<double>{1, 2, 3, 4});

  RowMatrixF mf(1, 3);
  mf << 0.5f, -1.0f, 2.0f;
  const Array b = make_array(mf);
  CHECK(b.dtype == DType::F32);
  CHECK(b.shape == std::vector<std::int64_t>{1, 3});
  CHECK(to_double_vector(b) == std::vector<double>{0.5, -1.0, 2.0});

  const Array c = make_array(std::vector<double>{1.5, 2.5});
  CHECK(c.dtype == DType::F64);
  CHECK(c.shape == std::vector<std::int64_t>{2});
  const Array e = make_array(std::vector<std::int64_t>{-3, 4, 5});
  CHECK(e.dtype == DType::I64);
  CHECK(to_double_vector(e) == std::vector<double>{-3, 4, 5});
  CHECK(make_array(std::vector<double>{}).numel() == 0);
}

TEST_CASE("checked_numel refuses negative and overflowing shapes", "[io][array]") {
  CHECK(checked_numel({}, "x") == 1);
  CHECK(checked_numel({3, 0, 5}, "x") == 0);
  CHECK(checked_nbytes(DType::F64, {2, 3}, "x") == 48);
  REQUIRE_THROWS_WITH(checked_numel({2, -1}, "bad.npy"), Catch::Contains("bad.npy"));
  REQUIRE_THROWS_AS(checked_numel({1 << 30, 1 << 30, 1 << 30}, "x"), Error);
  REQUIRE_THROWS_AS(checked_nbytes(DType::F64, {std::int64_t{1} << 62}, "x"), Error);
}
