#pragma once
// Whole small text files and JSON documents read safely: only regular files (a FIFO, a device or
// a folder is refused without blocking), a size cap, a nesting-depth cap checked before parsing
// (a 100k-deep "[[[[..." would otherwise overflow the stack), and parse errors in plain words
// ("not valid JSON at line L, column C: ..."). Every error is an actlens::Error naming the file.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace actlens::io {

inline constexpr std::uint64_t kMaxJsonBytes = std::uint64_t{1} << 30;  // 1 GiB
inline constexpr std::size_t kMaxJsonDepth = 512;
inline constexpr std::uint64_t kMaxTextBytes = std::uint64_t{2} << 30;  // CSV, label, text files

// The lines of a text file (read_text_file, at most kMaxTextBytes), without their "\n" or
// "\r\n"; no final empty line for a file ending in a newline.
std::vector<std::string> read_text_lines(const std::filesystem::path& path,
                                         const std::string& what);

// The whole file as bytes. `what` names what the path should be, for the messages ("a score
// file"); a file larger than `max_bytes` is refused.
std::string read_text_file(const std::filesystem::path& path, const std::string& what,
                           std::uint64_t max_bytes);

// read_text_file (at most kMaxJsonBytes) + parse_json_text.
nlohmann::json read_json_file(const std::filesystem::path& path, const std::string& what);

// Parses `text`; `where` starts every message ("<file>", "<file> line 3").
nlohmann::json parse_json_text(std::string_view text, const std::string& where);

// Throws when brackets ('[' and '{', outside strings) nest deeper than `max_depth`. `toml`: also
// skip '...' strings and # comments (TOML syntax) rather than JSON's "..." strings only.
void check_nesting_depth(std::string_view text, const std::string& where, bool toml = false,
                         std::size_t max_depth = kMaxJsonDepth);

// "<where>: <plain words>" for an exception nlohmann::json threw while parsing `text` (no
// "[json.exception...]" prefix; line and column where it has them).
std::string json_error_message(const std::exception& e, std::string_view text,
                               const std::string& where);

}  // namespace actlens::io
