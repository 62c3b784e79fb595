#include "actlens/report/writers.hpp"

#include <cstdio>
#include <cstdlib>

#include "actlens/io/atomic_file.hpp"
#include "actlens/io/csv.hpp"

namespace actlens::report {

void write_json(const std::filesystem::path& path, const nlohmann::json& j) {
  io::write_file_atomic(path, j.dump(2) + "\n");
}

std::string json_with_rows(const nlohmann::json& j, const std::string& rows_key) {
  std::string text = "{\n";
  bool first = true;
  for (const auto& [k, v] : j.items()) {
    text += first ? "  " : ",\n  ";
    first = false;
    text += nlohmann::json(k).dump() + ": ";
    if (k == rows_key && v.is_array()) {
      text += "[";
      for (std::size_t i = 0; i < v.size(); ++i) text += (i ? ",\n    " : "\n    ") + v[i].dump();
      text += v.empty() ? "]" : "\n  ]";
    } else {
      text += v.dump();
    }
  }
  return text + (first ? "}\n" : "\n}\n");
}

void write_json_rows(const std::filesystem::path& path, const nlohmann::json& j,
                     const std::string& rows_key) {
  io::write_file_atomic(path, json_with_rows(j, rows_key));
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
