#pragma once
// Compares two result folders for regression checks: JSON values, .npy arrays and CSV cells
// within rtol/atol (|a - b| <= atol + rtol * |b|), strings exactly. Rows of components*.npy are
// compared up to sign. run.json's volatile fields (timings, dates, paths, command line) are
// skipped.
#include <filesystem>
#include <string>
#include <vector>

namespace actlens::report {

struct Difference {
  std::string file;
  std::string where;  // JSON path, array index or CSV row/column
  std::string a, b;
  double abs_diff = 0;
};

struct CompareOptions {
  double rtol = 1e-5;
  double atol = 1e-8;
};

struct CompareResult {
  std::vector<Difference> differences;
  std::size_t files_compared = 0;
  std::size_t values_compared = 0;
};

CompareResult compare_dirs(const std::filesystem::path& a, const std::filesystem::path& b,
                           const CompareOptions& options);

}  // namespace actlens::report
