// libFuzzer target: io::read_npz (.npz archives, stored or deflated members) and
// io::read_array_file on the same file (the path the CLI's --x/--labels arrays take).
// Feeds: the input as an .npz file; every array read is converted to doubles.
// Failure: anything but success or actlens::Error / UsageError / std::invalid_argument: a crash,
// a sanitizer report, another exception, a hang or unbounded memory.
#include <cstddef>
#include <cstdint>

#include "actlens/io/npy.hpp"
#include "actlens/io/plain_activations.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = actlens::fuzz::write_file("input.npz", data, size);
  actlens::fuzz::expect_ok_or_rejected([&] {
    for (const auto& [key, a] : actlens::io::read_npz(path)) {
      (void)key;
      (void)actlens::io::to_double_vector(a);
    }
  });
  actlens::fuzz::expect_ok_or_rejected([&] { (void)actlens::io::read_array_file(path, "X"); });
  return 0;
}
