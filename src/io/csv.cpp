#include "actlens/io/csv.hpp"

#include "actlens/error.hpp"
#include "actlens/io/json_file.hpp"

namespace actlens::io {

int CsvTable::column(const std::string& name) const {
  for (std::size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return static_cast<int>(i);
  return -1;
}

CsvTable read_csv(const std::filesystem::path& path) {
  const std::string text = read_text_file(path, "a CSV file", kMaxTextBytes);

  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string field;
  bool in_quotes = false, field_started = false;
  std::size_t line = 1;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    if (in_quotes) {
      if (ch == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        if (ch == '\n') ++line;
        field += ch;
      }
      continue;
    }
    if (ch == '"' && field.empty()) {
      in_quotes = field_started = true;
    } else if (ch == ',') {
      record.push_back(std::move(field));
      field.clear();
      field_started = true;
    } else if (ch == '\n' || ch == '\r') {
      if (ch == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      if (field_started || !field.empty() || !record.empty()) {
        record.push_back(std::move(field));
        records.push_back(std::move(record));
      }
      record.clear();
      field.clear();
      field_started = false;
      ++line;
    } else {
      field += ch;
      field_started = true;
    }
  }
  if (in_quotes) throw Error(path.string() + ": unterminated quoted field; fix the CSV");
  if (field_started || !field.empty() || !record.empty()) {
    record.push_back(std::move(field));
    records.push_back(std::move(record));
  }
  if (records.empty()) throw Error(path.string() + ": empty CSV file (expected a header line)");

  CsvTable t;
  t.header = std::move(records.front());
  for (std::size_t r = 1; r < records.size(); ++r) {
    if (records[r].size() != t.header.size())
      throw Error(path.string() + ": row " + std::to_string(r + 1) + " has " +
                  std::to_string(records[r].size()) + " fields, the header has " +
                  std::to_string(t.header.size()));
    t.rows.push_back(std::move(records[r]));
  }
  return t;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

std::string csv_line(const std::vector<std::string>& fields) {
  std::string out;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i) out += ',';
    out += csv_field(fields[i]);
  }
  return out + "\n";
}

}  // namespace actlens::io
