#pragma once
// Minimal RFC 4180 CSV: quoted fields with "" escapes and embedded commas/newlines.
#include <filesystem>
#include <string>
#include <vector>

namespace actlens::io {

struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  // Index of column `name`, or -1.
  int column(const std::string& name) const;
};

// Throws actlens::Error naming the file (missing, ragged row with its line number).
CsvTable read_csv(const std::filesystem::path& path);
// Quotes a field when it needs it.
std::string csv_field(const std::string& s);
// One CSV line (with trailing newline) from fields.
std::string csv_line(const std::vector<std::string>& fields);

}  // namespace actlens::io
