#pragma once
// Where the tests find their committed data and where they may write.
#include <filesystem>
#include <string>

namespace actlens::test {

inline std::filesystem::path tests_dir() { return ACTLENS_TESTS_DIR; }
inline std::filesystem::path data_dir() { return tests_dir() / "data"; }
inline std::filesystem::path reference_dir() { return tests_dir() / "reference"; }

// A fresh, empty scratch folder per name.
inline std::filesystem::path scratch_dir(const std::string& name) {
  auto p = std::filesystem::path(ACTLENS_TEST_TMP) / name;
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p;
}

}  // namespace actlens::test
