#pragma once
// Result writers shared by every command: JSON and CSV files, written atomically.
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace actlens::report {

void write_json(const std::filesystem::path& path, const nlohmann::json& j);

// The object `j` as JSON with one element of its array `rows_key` per line (each compact) and
// every other member compact on its own line: a table of many small rows stays one line a row
// (tokens.json: one text a line, not one token id a line) and is still plain JSON.
std::string json_with_rows(const nlohmann::json& j, const std::string& rows_key);
void write_json_rows(const std::filesystem::path& path, const nlohmann::json& j,
                     const std::string& rows_key);

// A CSV file with a header and rows of already formatted fields.
void write_csv(const std::filesystem::path& path, const std::vector<std::string>& header,
               const std::vector<std::vector<std::string>>& rows);

// Shortest text that reads back as the same double ("%.17g" trimmed).
std::string format_double(double v);

}  // namespace actlens::report
