#pragma once
// Activations from one array file plus labels: X [N, d] (or [N, n_layers, d]) in .npy,
// .safetensors (key `activations` or the only tensor) or torch .pt (a tensor, or a dict with
// `activations`), and labels from .csv (column `label`, or the only column), .npy or .txt
// (one per line). Classes are the distinct labels in order of first appearance; an empty labels
// path puts every row in one class named "".
#include <filesystem>
#include <memory>
#include <string>

#include "actlens/io/labeled_rows.hpp"

namespace actlens::io {

class InputFile;  // internal (src/io/input_file.hpp)

struct PlainActivationsOptions {
  std::string key = "activations";  // array name inside .safetensors/.npz/.pt
  std::string label_column = "label";
  int min_samples = 1;
  std::int64_t chunk_rows = 4096;
};

class PlainActivations final : public LabeledRows {
 public:
  static std::unique_ptr<PlainActivations> open(const std::filesystem::path& activations,
                                                const std::filesystem::path& labels,
                                                const PlainActivationsOptions& options);
  int n_layers() const override { return n_layers_; }
  std::int64_t dim() const override { return dim_; }
  const std::vector<ClassInfo>& classes() const override { return classes_; }
  std::int64_t n_samples() const override { return static_cast<std::int64_t>(rows_.size()); }
  std::size_t n_chunks() const override;
  Chunk read_chunk(std::size_t i, const std::vector<int>& layers) const override;
  std::string describe() const override;
  std::uint64_t input_bytes() const override { return bytes_; }
  // Chunk `i` of one layer as float64 rows: exact for float64 files (read_chunk gives float32).
  RowMatrixD read_chunk_double(std::size_t i, int layer) const;
  // True for [N, d] input (no layer axis).
  bool flat() const { return flat_; }

 private:
  // Bytes covering selected rows [begin, end): returns the address at which row 0 of X would
  // start, reading the span into `span` when streamed.
  const std::byte* span_of(std::int64_t begin, std::int64_t end,
                           std::vector<std::byte>& span) const;
  std::filesystem::path path_;
  Array x_;                // the whole array, unless streamed
  bool streamed_ = false;  // C-order little-endian .npy: rows are read with pread per chunk
  std::shared_ptr<const InputFile> file_;  // open while streamed_
  DType dtype_ = DType::F32;
  std::uint64_t data_offset_ = 0;
  bool flat_ = true;
  int n_layers_ = 1;
  std::int64_t dim_ = 0;
  std::vector<std::int64_t> rows_;  // selected sample indices into X
  std::vector<int> class_ids_;      // per selected sample
  std::vector<ClassInfo> classes_;
  std::int64_t chunk_rows_ = 4096;
  std::uint64_t bytes_ = 0;
};

// Reads an array file by extension (.npy, .npz, .safetensors, .pt); `key` picks the array in
// multi-array files (ignored when the file holds exactly one).
Array read_array_file(const std::filesystem::path& path, const std::string& key);
// Labels as strings, one per sample.
std::vector<std::string> read_labels(const std::filesystem::path& path, const std::string& column);

}  // namespace actlens::io
