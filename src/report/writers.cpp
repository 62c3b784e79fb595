#include "actlens/report/writers.hpp"

#include <cstdio>
#include <cstdlib>

#include "actlens/io/atomic_file.hpp"
#include "actlens/io/csv.hpp"

namespace actlens::report {

void write_json(const std::filesystem::path& path, const nlohmann::json& j) {
  io::write_file_atomic(path, j.dump(2) + "\n");
}

void write_csv(const std::filesystem::path& path, const std::vector<std::string>& header,
               const std::vector<std::vector<std::string>>& rows) {
  std::string text = io::csv_line(header);
  for (const auto& r : rows) text += io::csv_line(r);
  io::write_file_atomic(path, text);
}

std::string format_double(double v) {
  char buf[32];
  for (int prec = 15; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

}  // namespace actlens::report
