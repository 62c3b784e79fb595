#include "actlens/io/text_corpus.hpp"

#include <sstream>

#include <nlohmann/json.hpp>

#include "actlens/error.hpp"
#include "actlens/io/csv.hpp"
#include "actlens/io/json_file.hpp"

namespace actlens::io {

std::string name_list(const std::vector<std::string>& names) {
  if (names.empty()) return "none";
  std::string s;
  for (std::size_t i = 0; i < names.size() && i < 20; ++i) s += (i ? ", " : "") + names[i];
  if (names.size() > 20) s += ", ... (" + std::to_string(names.size()) + " in all)";
  return s;
}

namespace {

std::string lower_extension(const std::filesystem::path& p) {
  std::string e = p.extension().string();
  for (char& c : e) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return e;
}

std::vector<std::string> read_lines(const std::filesystem::path& path) {
  return read_text_lines(path, "a text file (JSON lines or plain text)");
}

std::vector<std::string> object_keys(const nlohmann::json& j) {
  std::vector<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.push_back(k);
  return keys;
}

std::vector<TextRecord> read_csv_corpus(const std::filesystem::path& path,
                                        const TextCorpusOptions& o) {
  const CsvTable t = read_csv(path);
  const int tc = t.column(o.text_column);
  if (tc < 0)
    throw Error(path.string() + ": no column '" + o.text_column + "' in the header (columns: " +
                name_list(t.header) + "); name the text column with --text-column");
  const int lc = t.column(o.label_column);
  if (lc < 0 && o.label_required)
    throw Error(path.string() + ": no column '" + o.label_column + "' in the header (columns: " +
                name_list(t.header) + "); name the label column with --label-column");
  std::vector<TextRecord> out;
  out.reserve(t.rows.size());
  for (const auto& row : t.rows)
    out.push_back(
        {row[static_cast<std::size_t>(tc)], lc >= 0 ? row[static_cast<std::size_t>(lc)] : ""});
  return out;
}

std::vector<TextRecord> read_jsonl_corpus(const std::filesystem::path& path,
                                          const TextCorpusOptions& o) {
  std::vector<TextRecord> out;
  const auto lines = read_lines(path);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string where = path.string() + " line " + std::to_string(i + 1);
    // Every line is one record (so a record's index is its line number): a blank line is an
    // empty record, refused like an empty text rather than skipped.
    if (lines[i].find_first_not_of(" \t") == std::string::npos)
      throw Error(where + ": empty line; every line is one text, so remove the line");
    const nlohmann::json j = parse_json_text(lines[i], where);
    TextRecord r;
    if (j.is_string()) {
      r.text = j.get<std::string>();
    } else if (j.is_object()) {
      if (!j.contains(o.text_column) || !j[o.text_column].is_string())
        throw Error(where + ": no string field '" + o.text_column + "' (keys: " +
                    name_list(object_keys(j)) + "); name the text field with --text-column");
      r.text = j[o.text_column].get<std::string>();
      if (j.contains(o.label_column)) {
        const auto& l = j[o.label_column];
        r.label = l.is_string() ? l.get<std::string>() : l.dump();
      } else if (o.label_required) {
        throw Error(where + ": no field '" + o.label_column + "' (keys: " +
                    name_list(object_keys(j)) + "); name the label field with --label-column");
      }
    } else {
      throw Error(where + ": expected a JSON object or string");
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

bool is_valid_utf8(const std::string& s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    unsigned cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (std::size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    const unsigned min_cp = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
    if (cp < min_cp || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

std::vector<TextRecord> read_text_corpus(const std::filesystem::path& path,
                                         const TextCorpusOptions& options) {
  if (!std::filesystem::exists(path)) throw Error(path.string() + ": no such file; check --input");
  const std::string ext = lower_extension(path);
  std::vector<TextRecord> out;
  if (ext == ".csv") {
    out = read_csv_corpus(path, options);
  } else if (ext == ".jsonl" || ext == ".ndjson") {
    out = read_jsonl_corpus(path, options);
  } else if (ext == ".txt") {
    if (options.label_required)
      throw Error(path.string() + ": a .txt input has no labels; use .csv or .jsonl");
    // Every line is one text, whitespace-only ones included (" " is a text: GPT-2 encodes it as
    // one token), so a text's index is its line number - 1.
    for (auto& line : read_lines(path)) out.push_back({std::move(line), ""});
  } else {
    throw Error(path.string() + ": unknown text input type '" + ext +
                "'; expected .csv (label,text columns), .jsonl or .txt (one text per line)");
  }
  // A record is a line of .txt/.jsonl and a data row of .csv (1-based in messages).
  const std::string unit = ext == ".csv" ? " row " : " line ";
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (!is_valid_utf8(out[i].text) || !is_valid_utf8(out[i].label))
      throw Error(path.string() + unit + std::to_string(i + 1) +
                  ": not valid UTF-8; re-encode the file as UTF-8");
    // Refused, not skipped: skipping would shift every later index away from its line/row.
    if (out[i].text.empty())
      throw Error(path.string() + unit + std::to_string(i + 1) +
                  ": empty text; every record must hold a text (whitespace counts), so remove "
                  "the " +
                  (ext == ".csv" ? "row" : "line") + " or give it text");
  }
  return out;
}

}  // namespace actlens::io
