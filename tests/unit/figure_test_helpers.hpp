#pragma once
// Helpers shared by the figure tests: write/read small files and find a figure by name.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "actlens/report/figure.hpp"

namespace figure_test {

inline void write_text(const std::filesystem::path& p, const std::string& s) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << s;
}

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline const actlens::report::Figure& find(const std::vector<actlens::report::Figure>& figs,
                                           const std::string& name) {
  for (const auto& f : figs)
    if (f.name == name) return f;
  FAIL("no figure named " << name);
  throw std::logic_error("unreachable");
}

}  // namespace figure_test
