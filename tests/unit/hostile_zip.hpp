#pragma once
// Helpers for the hostile-input tests of the binary readers: a minimal ZIP writer that can
// deflate entries and record any uncompressed size (to build decompression bombs and lying
// archives in the test itself), and a check that an actlens::Error comes quickly and without a
// large allocation.
#include <sys/resource.h>
#include <zlib.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "actlens/error.hpp"

namespace actlens::test {

// `v` as `n` little-endian bytes.
inline std::string le_bytes(std::uint64_t v, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  return out;
}

// Raw deflate (as ZIP stores it) of `data`, at the fastest level (runs still compress ~1000:1).
inline std::string deflate_raw(const std::string& data) {
  z_stream zs{};
  REQUIRE(deflateInit2(&zs, 1, Z_DEFLATED, -MAX_WBITS, 9, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&zs, data.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

struct ZipItem {
  std::string name, data;  // data uncompressed
  bool deflated = false;
  std::int64_t declared = -1;  // recorded uncompressed size; -1: the true one
  std::string padding = {};    // bytes after the compressed stream, counted as compressed data
};

// A minimal ZIP archive (no ZIP64), entries in order; deflated ones are compressed here.
inline std::string make_zip(const std::vector<ZipItem>& items) {
  std::string out, central;
  for (const auto& item : items) {
    const std::string& name = item.name;
    const auto crc = static_cast<std::uint32_t>(::crc32(
        0L, reinterpret_cast<const Bytef*>(item.data.data()), static_cast<uInt>(item.data.size())));
    const std::string stored = (item.deflated ? deflate_raw(item.data) : item.data) + item.padding;
    const std::uint64_t size =
        item.declared >= 0 ? static_cast<std::uint64_t>(item.declared) : item.data.size();
    const int method = item.deflated ? 8 : 0;
    const std::uint64_t offset = out.size();
    out += le_bytes(0x04034b50, 4) + le_bytes(20, 2) + le_bytes(0, 2) + le_bytes(method, 2) +
           le_bytes(0, 2) + le_bytes(0x21, 2) + le_bytes(crc, 4) + le_bytes(stored.size(), 4) +
           le_bytes(size, 4) + le_bytes(name.size(), 2) + le_bytes(0, 2) + name + stored;
    central += le_bytes(0x02014b50, 4) + le_bytes(20, 2) + le_bytes(20, 2) + le_bytes(0, 2) +
               le_bytes(method, 2) + le_bytes(0, 2) + le_bytes(0x21, 2) + le_bytes(crc, 4) +
               le_bytes(stored.size(), 4) + le_bytes(size, 4) + le_bytes(name.size(), 2) +
               le_bytes(0, 2) + le_bytes(0, 2) + le_bytes(0, 2) + le_bytes(0, 2) + le_bytes(0, 4) +
               le_bytes(offset, 4) + name;
  }
  const std::uint64_t cd_offset = out.size();
  out += central;
  out += le_bytes(0x06054b50, 4) + le_bytes(0, 2) + le_bytes(0, 2) + le_bytes(items.size(), 2) +
         le_bytes(items.size(), 2) + le_bytes(central.size(), 4) + le_bytes(cd_offset, 4) +
         le_bytes(0, 2);
  return out;
}

// Peak resident memory of this process so far, in MiB (it only grows).
inline double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

// How long a refusal may take: a bomb that is actually inflated takes many seconds (gigabytes
// at ~1 GB/s), a refusal from the headers milliseconds. AddressSanitizer slows the code 2-5x and
// CI shares 2 cores with other jobs, so the bound is wider there (1.2 s was seen under ASan).
#if defined(__SANITIZE_ADDRESS__)
inline constexpr auto kFastErrorBound = std::chrono::seconds(5);
#else
inline constexpr auto kFastErrorBound = std::chrono::seconds(1);
#endif

// Runs `f`, which must throw actlens::Error: one line holding every needle, thrown within
// kFastErrorBound, without raising the process's peak memory by 100 MiB.
template <class F>
void expect_fast_error(F&& f, const std::vector<std::string>& needles) {
  const double rss_before = peak_rss_mib();
  const auto start = std::chrono::steady_clock::now();
  try {
    f();
    FAIL("no error");
  } catch (const actlens::Error& e) {
    const std::string msg = e.what();
    INFO(msg);
    for (const auto& n : needles) CHECK(msg.find(n) != std::string::npos);
    CHECK(msg.find('\n') == std::string::npos);
  }
  CHECK(std::chrono::steady_clock::now() - start < kFastErrorBound);
  CHECK(peak_rss_mib() - rss_before < 100.0);
}

}  // namespace actlens::test
