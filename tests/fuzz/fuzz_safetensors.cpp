// libFuzzer target: io::SafetensorsFile (8-byte header length, JSON header, raw data).
// Feeds: the input as a .safetensors file; opens it, lists keys and metadata, reads every tensor
// whole (when its dense size is at most 64 MiB) and its first and last rows as float32.
// Failure: anything but success or actlens::Error / UsageError / std::invalid_argument: a crash,
// a sanitizer report, another exception, a hang or unbounded memory.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "actlens/io/safetensors.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = actlens::fuzz::write_file("input.safetensors", data, size);
  actlens::fuzz::expect_ok_or_rejected([&] {
    const auto f = actlens::io::SafetensorsFile::open(path);
    (void)f.metadata();
    for (const auto& key : f.keys()) {
      (void)f.contains(key);
      const auto& info = f.info(key);
      if (info.end - info.begin > (64u << 20)) continue;
      actlens::fuzz::expect_ok_or_rejected([&] { (void)f.read(key); });
      if (!info.shape.empty() && info.shape[0] > 0) {
        // open() checked that the shape matches the byte range, so this product is small.
        const auto numel = actlens::io::checked_numel(info.shape, "fuzz tensor");
        std::vector<float> row(static_cast<std::size_t>(numel / info.shape[0]) + 1);
        actlens::fuzz::expect_ok_or_rejected([&] { f.read_row_float(key, 0, row.data()); });
        actlens::fuzz::expect_ok_or_rejected(
            [&] { f.read_row_float(key, info.shape[0] - 1, row.data()); });
      }
    }
  });
  return 0;
}
