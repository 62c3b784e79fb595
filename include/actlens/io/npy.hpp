#pragma once
// NumPy .npy (format versions 1.0, 2.0, 3.0) and .npz (stored or deflated, as np.savez /
// np.savez_compressed write them). Writers are atomic (see atomic_file.hpp) and write what
// np.load reads: little-endian, C order, version 1.0 unless the header needs 2.0.
#include <cstdint>
#include <filesystem>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "actlens/io/array.hpp"

namespace actlens::io {

// Throws actlens::Error naming the file: missing, not .npy, unsupported dtype (e.g. object or
// big-endian is converted, object arrays are refused), Fortran order is converted to C order,
// truncated data.
Array read_npy(const std::filesystem::path& path);
void write_npy(const std::filesystem::path& path, const Array& a);

// Where the data of a .npy file lies, without reading it: lets callers stream rows with pread.
// Validates the header and that the file holds all the data.
struct NpyLayout {
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;
  bool fortran_order = false;
  bool big_endian = false;
  std::uint64_t data_offset = 0;
};
NpyLayout read_npy_layout(const std::filesystem::path& path);

// Keys without the ".npy" suffix, as np.load(...).files lists them.
std::map<std::string, Array> read_npz(const std::filesystem::path& path);
void write_npz(const std::filesystem::path& path, const std::map<std::string, Array>& arrays);

// Writes an .npz image (stored members, as np.savez writes them) to `out`; `what` names the
// target in errors. ZIP64 records are used only when a member or the archive passes 4 GiB, or
// always with `force_zip64` (so tests can cover that path with small data).
void write_npz_stream(std::ostream& out, const std::map<std::string, Array>& arrays,
                      const std::string& what, bool force_zip64 = false);

// Parses a .npy image held in memory (an .npz member); `what` names it in errors.
Array parse_npy(const std::byte* data, std::size_t size, const std::string& what);
std::string serialize_npy(const Array& a);

}  // namespace actlens::io
