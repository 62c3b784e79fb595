#pragma once
// Where the tests find their committed data and where they may write, plus small file and array
// helpers the io tests share.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "actlens/io/array.hpp"

namespace actlens::test {

inline std::filesystem::path tests_dir() {
  return ACTLENS_TESTS_DIR;
}
inline std::filesystem::path data_dir() {
  return tests_dir() / "data";
}
inline std::filesystem::path reference_dir() {
  return tests_dir() / "reference";
}

// A fresh, empty scratch folder per name.
inline std::filesystem::path scratch_dir(const std::string& name) {
  auto p = std::filesystem::path(ACTLENS_TEST_TMP) / name;
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p;
}

// The io fixtures (tests/reference/make_io_fixtures.py) and their expected values.
inline std::filesystem::path io_data_dir() {
  return data_dir() / "io";
}

// The whole file, as bytes.
inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Replaces the file with `bytes`.
inline void spit(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A JSON file; the test fails if it cannot be opened.
inline nlohmann::json read_json(const std::filesystem::path& p) {
  std::ifstream in(p);
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

// tests/data/io/expected.json: what the Python packages read from each io fixture.
inline nlohmann::json io_expected() {
  return read_json(io_data_dir() / "expected.json");
}

// `a` equals an expected.json entry exactly: dtype name, shape, values and the sign of zeros.
inline void check_array(const actlens::io::Array& a, const nlohmann::json& want,
                        const std::string& what) {
  INFO(what);
  CHECK(actlens::io::dtype_name(a.dtype) == want.at("dtype").get<std::string>());
  CHECK(a.shape == want.at("shape").get<std::vector<std::int64_t>>());
  const std::vector<double> got = actlens::io::to_double_vector(a);
  const auto values = want.at("values").get<std::vector<double>>();
  REQUIRE(got.size() == values.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i);
    CHECK(got[i] == values[i]);
    CHECK(std::signbit(got[i]) == std::signbit(values[i]));
  }
}

// The example role dataset (tests/reference/make_roles_example.py).
inline std::filesystem::path roles_dir() {
  return data_dir() / "roles_example";
}

// An array of dtype `t` whose bytes are `values` (T has the size of one element of `t`).
template <typename T>
actlens::io::Array array_of(actlens::io::DType t, std::vector<std::int64_t> shape,
                            const std::vector<T>& values) {
  actlens::io::Array a;
  a.dtype = t;
  a.shape = std::move(shape);
  a.data.resize(values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(a.data.data(), values.data(), a.data.size());
  return a;
}

}  // namespace actlens::test
