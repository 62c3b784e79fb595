#pragma once
// A number from text, the whole text or nothing: what a CSV cell, a flag value or a list item must
// be. One rule for every reader and flag ("3x", "" and "1e999" are not numbers).
#include <optional>
#include <string>

namespace actlens::io {

// The whole of `s` as a double, as std::stod reads it (leading blanks, "inf", "nan", hex floats
// included); nullopt when any character is left over or the value overflows.
std::optional<double> parse_double(const std::string& s);

// The whole of `s` as a long (std::stol: leading blanks and a sign allowed); nullopt otherwise.
std::optional<long> parse_long(const std::string& s);

}  // namespace actlens::io
