#include "actlens/io/json_file.hpp"

#include <algorithm>
#include <cstdio>

#include "actlens/error.hpp"
#include "input_file.hpp"

namespace actlens::io {
namespace fs = std::filesystem;

namespace {

std::string size_words(std::uint64_t bytes) {
  char buf[64];
  if (bytes >= (std::uint64_t{1} << 30))
    std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(bytes) / (1ull << 30));
  else if (bytes >= (std::uint64_t{1} << 20))
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1ull << 20));
  else
    std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(bytes));
  return buf;
}

std::size_t line_of(std::string_view text, std::size_t pos) {
  return 1 + static_cast<std::size_t>(std::count(
                 text.begin(),
                 text.begin() + static_cast<std::ptrdiff_t>(std::min(pos, text.size())), '\n'));
}

constexpr std::size_t kMaxDetail = 200;  // characters of nlohmann's detail kept in a message

}  // namespace

std::string read_text_file(const fs::path& path, const std::string& what, std::uint64_t max_bytes) {
  const InputFile in(path, what);
  if (in.size() > max_bytes)
    throw Error(path.string() + ": " + size_words(in.size()) + ", more than the " +
                size_words(max_bytes) + " accepted for " + what +
                "; check that this is the right file");
  std::string bytes(static_cast<std::size_t>(in.size()), '\0');
  // A file that shrank since it was opened ends early: keep what is there.
  bytes.resize(in.read_up_to(0, bytes.data(), bytes.size()));
  return bytes;
}

std::vector<std::string> read_text_lines(const fs::path& path, const std::string& what) {
  const std::string text = read_text_file(path, what, kMaxTextBytes);
  std::vector<std::string> lines;
  for (std::size_t start = 0; start < text.size();) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::size_t stop = end;
    if (stop > start && text[stop - 1] == '\r') --stop;
    lines.emplace_back(text, start, stop - start);
    start = end + 1;
  }
  return lines;
}

void check_nesting_depth(std::string_view text, const std::string& where, bool toml,
                         std::size_t max_depth) {
  std::size_t depth = 0;
  char quote = 0;  // the quote character of the string we are in, 0 outside strings
  bool escaped = false, comment = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (comment) {
      if (c == '\n') comment = false;
      continue;
    }
    if (quote != 0) {
      if (escaped)
        escaped = false;
      else if (c == '\\' && quote == '"')
        escaped = true;
      else if (c == quote || (toml && c == '\n' && quote == '\''))
        quote = 0;
      continue;
    }
    if (c == '"' || (toml && c == '\'')) {
      quote = c;
    } else if (toml && c == '#') {
      comment = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth)
        throw Error(where + ": nested deeper than " + std::to_string(max_depth) +
                    " levels at line " + std::to_string(line_of(text, i)) + "; actlens reads " +
                    (toml ? "TOML" : "JSON") + " up to " + std::to_string(max_depth) +
                    " levels deep, check that this is the right file");
    } else if (c == ']' || c == '}') {
      if (depth > 0) --depth;
    }
  }
}

std::string json_error_message(const std::exception& e, std::string_view text,
                               const std::string& where) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos)
    return where + ": not valid JSON: the file is empty; expected a JSON document";
  std::string m = e.what();
  // "[json.exception.parse_error.101] parse error at line 1, column 5: syntax error ..."
  if (m.rfind("[json.exception.", 0) == 0) {
    const auto close = m.find("] ");
    if (close != std::string::npos) m.erase(0, close + 2);
  }
  std::string at;
  if (m.rfind("parse error at ", 0) == 0) {
    const auto colon = m.find(": ");
    if (colon != std::string::npos) {
      at = " at " + m.substr(15, colon - 15);
      m.erase(0, colon + 2);
    }
  } else if (m.rfind("parse error: ", 0) == 0) {
    m.erase(0, 13);
  }
  if (m.size() > kMaxDetail) m = m.substr(0, kMaxDetail) + "...";
  return where + ": not valid JSON" + at + ": " + m + "; fix the file";
}

nlohmann::json parse_json_text(std::string_view text, const std::string& where) {
  check_nesting_depth(text, where);
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {
    throw Error(json_error_message(e, text, where));
  }
}

nlohmann::json read_json_file(const fs::path& path, const std::string& what) {
  const std::string text = read_text_file(path, what, kMaxJsonBytes);
  return parse_json_text(text, path.string());
}

}  // namespace actlens::io
