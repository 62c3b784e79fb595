#pragma once
// Result writers shared by every command: JSON and CSV files, written atomically.
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace actlens::report {

void write_json(const std::filesystem::path& path, const nlohmann::json& j);

// A CSV file with a header and rows of already formatted fields.
void write_csv(const std::filesystem::path& path, const std::vector<std::string>& header,
               const std::vector<std::vector<std::string>>& rows);

// Shortest text that reads back as the same double ("%.17g" trimmed).
std::string format_double(double v);

}  // namespace actlens::report
