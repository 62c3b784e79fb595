#pragma once
// Shared by the libFuzzer targets (tests/fuzz/fuzz_*.cpp) and their replay driver: a scratch
// folder per process for readers that take a path, and the one rule of what is a finding.
//
// Expected rejections: actlens::Error, actlens::UsageError and std::invalid_argument (the core
// layer's validation errors). Anything else is a finding: a crash, an ASan/UBSan report, any other
// exception escaping the reader (std::bad_alloc, std::out_of_range, nlohmann::json::exception...),
// a hang (libFuzzer -timeout) or a memory blow-up (libFuzzer -rss_limit_mb / -malloc_limit_mb).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "actlens/error.hpp"

namespace actlens::fuzz {

// A fresh folder of this process, removed at exit: $TMPDIR/actlens-fuzz-<pid>.
inline const std::filesystem::path& scratch_dir() {
  struct Scratch {
    std::filesystem::path path;
    Scratch() {
      std::error_code ec;
      std::filesystem::path base = std::filesystem::temp_directory_path(ec);
      if (ec) base = "/tmp";
      path = base / ("actlens-fuzz-" + std::to_string(::getpid()));
      std::filesystem::remove_all(path, ec);
      std::filesystem::create_directories(path);
    }
    ~Scratch() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  };
  static const Scratch scratch;
  return scratch.path;
}

// Writes `size` bytes to `name` inside the scratch folder (replacing it) and returns its path.
inline std::filesystem::path write_file(const std::string& name, const std::uint8_t* data,
                                        std::size_t size) {
  const auto path = scratch_dir() / name;
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  if (!out) {
    std::fprintf(stderr, "fuzz: cannot write %s\n", path.c_str());
    std::abort();
  }
  return path;
}
inline std::filesystem::path write_file(const std::string& name, std::string_view bytes) {
  return write_file(name, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
}

// Runs `f`, swallowing the expected rejections; every other exception escapes to libFuzzer (which
// reports it as a crash) or to the replay driver (which fails).
template <class F>
void expect_ok_or_rejected(F&& f) {
  try {
    f();
  } catch (const actlens::Error&) {
  } catch (const actlens::UsageError&) {
  } catch (const std::invalid_argument&) {
  }
}

// The first byte of the input as a selector (0 when empty); advances data/size past it.
inline std::uint8_t take_byte(const std::uint8_t*& data, std::size_t& size) {
  if (size == 0) return 0;
  const std::uint8_t b = data[0];
  ++data;
  --size;
  return b;
}

// Splits the input at the first occurrence of `sep` (the separator is dropped); no separator:
// everything goes to the first part.
inline std::pair<std::string_view, std::string_view> split(const std::uint8_t* data,
                                                           std::size_t size, std::string_view sep) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const auto at = all.find(sep);
  if (at == std::string_view::npos) return {all, {}};
  return {all.substr(0, at), all.substr(at + sep.size())};
}

}  // namespace actlens::fuzz
