#include "actlens/io/content_hash.hpp"

#include <cstdio>
#include <fstream>
#include <vector>

#include <xxhash.h>

#include "actlens/core/error.hpp"

namespace actlens::io {
namespace {

std::string hex64(std::uint64_t h) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace

std::string hash_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open for hashing; check the path");
  XXH3_state_t* st = XXH3_createState();
  if (st == nullptr) throw Error("out of memory");
  XXH3_64bits_reset(st);
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto got = in.gcount();
    if (got > 0) XXH3_64bits_update(st, buf.data(), static_cast<std::size_t>(got));
  }
  const bool bad = in.bad();
  const std::uint64_t h = XXH3_64bits_digest(st);
  XXH3_freeState(st);
  if (bad) throw Error(path.string() + ": read error while hashing");
  return hex64(h);
}

std::string hash_bytes(std::string_view bytes) {
  return hex64(XXH3_64bits(bytes.data(), bytes.size()));
}

}  // namespace actlens::io
