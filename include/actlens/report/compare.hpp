#pragma once
// Compares two result folders for regression checks: JSON values, .npy arrays and CSV cells
// within rtol/atol (|a - b| <= atol + rtol * |b|), strings exactly. Rows of components*.npy are
// compared up to sign. run.json's volatile fields (timings, dates, paths, command line) are
// skipped, and so are the top-level keys the caller names in CompareOptions::ignore_keys.
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
  // Top-level keys of every JSON file (run.json included) left out of the comparison, on top of
  // run.json's volatile ones: for sections that legitimately change between the two runs, such
  // as run.json's "options" when one side records more of them.
  std::vector<std::string> ignore_keys;
};

struct CompareResult {
  std::vector<Difference> differences;
  std::size_t files_compared = 0;
  std::size_t values_compared = 0;
};

CompareResult compare_dirs(const std::filesystem::path& a, const std::filesystem::path& b,
                           const CompareOptions& options);

}  // namespace actlens::report
