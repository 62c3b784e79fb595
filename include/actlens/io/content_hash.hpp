#pragma once
// Content hashes (XXH3, 64-bit, from libxxhash) used as cache keys: capture skips work whose
// output was made from the same model bytes, input bytes and options.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace actlens::io {

// XXH3-64 of the whole file, read in 1 MiB blocks; 16 hex digits. Throws actlens::Error naming
// the file when it cannot be read.
std::string hash_file(const std::filesystem::path& path);
// XXH3-64 of `bytes`, 16 hex digits.
std::string hash_bytes(std::string_view bytes);

}  // namespace actlens::io
