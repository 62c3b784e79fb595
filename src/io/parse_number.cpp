#include "actlens/io/parse_number.hpp"

#include <stdexcept>

namespace actlens::io {

std::optional<double> parse_double(const std::string& s) {
  try {
    std::size_t used = 0;
    const double v = std::stod(s, &used);
    if (used == s.size()) return v;
  } catch (const std::exception&) {  // invalid_argument (no number) or out_of_range
  }
  return std::nullopt;
}

std::optional<long> parse_long(const std::string& s) {
  try {
    std::size_t used = 0;
    const long v = std::stol(s, &used);
    if (used == s.size()) return v;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

}  // namespace actlens::io
