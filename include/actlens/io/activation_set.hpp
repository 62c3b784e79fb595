#pragma once
// An activation input as the command line names it: one array file ([N, d] or [N, n_layers, d]
// in .npy/.npz/.safetensors/.pt) or a folder with one [N, d] file per layer, such as the output
// of `actlens capture` (one file per hook, plus labels.csv and run.json). Layers are addressed by
// name: the hook name (file stem) for folders, "layer<L>" for a file with a layer axis, "" for a
// single [N, d] file.
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "actlens/io/array.hpp"

namespace actlens::io {

struct LayerRef {
  std::string name;  // "blocks.3.mlp.hook_pre", "layer3" or ""
  std::filesystem::path file;
  int index = -1;  // position on the layer axis of `file`; -1 for an [N, d] file
};

class ActivationSet {
 public:
  // `key` picks the array inside multi-array files (.npz/.safetensors/.pt).
  static ActivationSet open(const std::filesystem::path& path, const std::string& key);

  const std::filesystem::path& path() const { return path_; }
  bool is_folder() const { return folder_; }
  // Layers in natural order (blocks.2 before blocks.10).
  const std::vector<LayerRef>& layers() const { return layers_; }
  // labels.csv beside the per-layer files of a folder (as `actlens capture` writes), or empty.
  std::filesystem::path labels_file() const;

  // Layers whose name matches one of the comma-separated globs ("blocks.*.mlp.hook_pre"); throws
  // actlens::Error listing the available names when none matches. Folders only.
  std::vector<LayerRef> select_names(const std::string& globs, const std::string& flag) const;
  // Layers by position on the layer axis (files with one only).
  std::vector<LayerRef> select_indices(const std::vector<int>& indices) const;
  // The number of layers on the axis of a single file (0 for folders and [N, d] files).
  int axis_layers() const { return axis_layers_; }

  // One layer as a float64 [N, d] matrix. Files with a layer axis are read once and kept.
  RowMatrixD read(const LayerRef& layer) const;

 private:
  std::filesystem::path path_;
  std::string key_;
  bool folder_ = false;
  int axis_layers_ = 0;
  std::vector<LayerRef> layers_;
  mutable std::map<std::filesystem::path, std::shared_ptr<const Array>> cache_;
};

// Natural order of names: digit runs compare as numbers ("blocks.2" < "blocks.10").
bool natural_less(const std::string& a, const std::string& b);

}  // namespace actlens::io
