#pragma once
// safetensors files (8-byte little-endian header length, JSON header, raw data) as the Python
// `safetensors` package and Hugging Face write them. Opening reads only the header; tensors are
// read one at a time with pread, so selecting one key of a big file reads only its bytes. The
// file stays open while the object (or a copy of it) lives.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "actlens/io/array.hpp"

namespace actlens::io {

class InputFile;  // internal (src/io/input_file.hpp)

struct SafetensorsInfo {
  DType dtype;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0;  // offsets into the data section, as in the header
  std::uint64_t end = 0;
};

class SafetensorsFile {
 public:
  // Throws actlens::Error naming the file for a missing file, a bad header (over 100 MB, not a
  // JSON object, a repeated key, offsets out of range, overlapping or not matching shape x dtype
  // size, a shape whose product overflows, unknown dtype) or a truncated data section. Nothing
  // is allocated for a tensor before its size is checked against the file.
  static SafetensorsFile open(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  // Names in file order (sorted, as the format stores them).
  std::vector<std::string> keys() const;
  bool contains(const std::string& key) const;
  const SafetensorsInfo& info(const std::string& key) const;  // throws naming the key if absent
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  Array read(const std::string& key) const;
  // Row `row` of a tensor whose first dimension indexes rows (numel/shape[0] elements), as floats.
  void read_row_float(const std::string& key, std::int64_t row, float* dst) const;

 private:
  std::filesystem::path path_;
  std::shared_ptr<const InputFile> file_;  // open for the object's lifetime; shared by copies
  std::uint64_t data_start_ = 0;
  std::map<std::string, SafetensorsInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

void write_safetensors(const std::filesystem::path& path,
                       const std::map<std::string, Array>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace actlens::io
