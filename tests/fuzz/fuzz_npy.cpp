// libFuzzer target: io::read_npy, io::read_npy_layout and io::parse_npy (.npy files, versions
// 1.0-3.0, any dtype, Fortran order, big-endian).
// Feeds: the input as a .npy file to read_npy_layout and read_npy, and as memory to parse_npy;
// a successfully read array is converted to doubles (to_double_vector, and to_double_matrix for
// 1-D/2-D).
// Failure: anything but success or actlens::Error / UsageError / std::invalid_argument: a crash,
// a sanitizer report, another exception, a hang or unbounded memory.
#include <cstddef>
#include <cstdint>

#include "actlens/io/npy.hpp"
#include "fuzz_common.hpp"

namespace {

void use(const actlens::io::Array& a) {
  (void)actlens::io::to_double_vector(a);
  if (a.shape.size() == 1 || a.shape.size() == 2)
    (void)actlens::io::to_double_matrix(a, "fuzz.npy");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = actlens::fuzz::write_file("input.npy", data, size);
  actlens::fuzz::expect_ok_or_rejected([&] { (void)actlens::io::read_npy_layout(path); });
  actlens::fuzz::expect_ok_or_rejected([&] { use(actlens::io::read_npy(path)); });
  actlens::fuzz::expect_ok_or_rejected([&] {
    use(actlens::io::parse_npy(reinterpret_cast<const std::byte*>(data), size, "fuzz.npy"));
  });
  return 0;
}
