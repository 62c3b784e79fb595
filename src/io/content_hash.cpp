#include "actlens/io/content_hash.hpp"

#include <cstdio>
#include <memory>
#include <vector>

#include <xxhash.h>

#include "actlens/error.hpp"
#include "input_file.hpp"

namespace actlens::io {
namespace {

std::string hex64(std::uint64_t h) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace

std::string hash_file(const std::filesystem::path& path) {
  // InputFile: a FIFO, a device or a folder is refused rather than read forever.
  const InputFile in(path, "a file to hash");
  std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> st(XXH3_createState(), &XXH3_freeState);
  if (st == nullptr) throw Error("out of memory");
  XXH3_64bits_reset(st.get());
  std::vector<char> buf(1 << 20);
  for (std::uint64_t pos = 0;;) {
    const std::size_t got = in.read_up_to(pos, buf.data(), buf.size());
    if (got == 0) break;
    XXH3_64bits_update(st.get(), buf.data(), got);
    pos += got;
  }
  return hex64(XXH3_64bits_digest(st.get()));
}

std::string hash_bytes(std::string_view bytes) {
  return hex64(XXH3_64bits(bytes.data(), bytes.size()));
}

}  // namespace actlens::io
