#pragma once
// Files written by torch.save (the zip format, torch >= 1.6): the pickled object tree is parsed
// with the safe reader, and tensor bytes are read lazily from the stored zip entries, so reading
// one layer of a [n_layers, d] tensor reads d elements and nothing else.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "actlens/io/array.hpp"
#include "actlens/io/pickle.hpp"
#include "actlens/io/zip_archive.hpp"

namespace actlens::io {

class TorchFile {
 public:
  // Throws actlens::Error naming the file: missing, legacy (pre-1.6) format with how to re-save,
  // truncated/corrupt archive (overlapping entries included), a data.pkl over its size cap, a
  // byteorder record other than "little"/"big", a pickle naming a global off the allow-list,
  // storage entries missing, compressed or shorter than their storage.
  static TorchFile open(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return zip_.path(); }
  const pickle::ValuePtr& root() const { return root_; }

  // The whole tensor (any strides/offset), densely in C order, original dtype, little-endian.
  // Throws, before allocating, for a view reaching outside its storage (overflow included), of
  // more than 2^40 elements, or repeating its storage (stride 0) into more than 1 GiB.
  Array read(const pickle::Tensor& t) const;
  // Elements t[index, :, ...] (the slice along dimension 0, flattened) converted to float32;
  // `dst` holds numel / shape[0] floats. Contiguous rows are one pread.
  void read_slice_float(const pickle::Tensor& t, std::int64_t index, float* dst) const;

 private:
  TorchFile(ZipArchive zip, std::string prefix)
      : zip_(std::move(zip)), prefix_(std::move(prefix)) {}
  const ZipEntry& storage_entry(const pickle::Storage& s) const;

  ZipArchive zip_;
  std::string prefix_;  // "archive" or the saved file's stem: entries are prefix/data/<key>
  pickle::ValuePtr root_;
  bool big_endian_ = false;  // byteorder record "big": storages hold big-endian elements
};

// Numeric content of a pickle value (a tensor or a numpy array) as a dense Array.
// `what` names it in errors ("pca/layer22_pos23.pt: pca.components_").
Array to_array(const TorchFile& file, const pickle::ValuePtr& v, const std::string& what);
bool is_numeric(const pickle::ValuePtr& v);

}  // namespace actlens::io
