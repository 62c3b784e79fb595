// libFuzzer target: io::ZipArchive (the container of torch.save files and .npz archives).
// Feeds: the input as a file; opens it, looks every entry up by name, reads every entry whole
// (inflate + CRC check) and, for stored entries, a few bytes at the start and end with read_at.
// Failure: anything but success or actlens::Error / UsageError / std::invalid_argument: a crash,
// a sanitizer report, another exception, a hang or unbounded memory.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "actlens/io/zip_archive.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = actlens::fuzz::write_file("input.zip", data, size);
  actlens::fuzz::expect_ok_or_rejected([&] {
    const auto zip = actlens::io::ZipArchive::open(path);
    (void)zip.file_size();
    for (const auto& e : zip.entries()) {
      (void)zip.find(e.name);
      actlens::fuzz::expect_ok_or_rejected([&] { (void)zip.read(e); });
      if (e.method == 0 && e.size > 0) {
        unsigned char buf[8];
        const std::size_t n = e.size < sizeof buf ? static_cast<std::size_t>(e.size) : sizeof buf;
        actlens::fuzz::expect_ok_or_rejected([&] { zip.read_at(e, 0, buf, n); });
        actlens::fuzz::expect_ok_or_rejected([&] { zip.read_at(e, e.size - n, buf, n); });
      }
    }
  });
  return 0;
}
