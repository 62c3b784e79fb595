#pragma once
// How analysis commands turn their input flags into files: an activation path (one array file or
// a folder of per-layer files such as `actlens capture` writes), the layer to use in it, and the
// labels (a file given with --labels, or the folder's labels.csv).
#include <filesystem>
#include <string>
#include <vector>

#include "actlens/io/activation_set.hpp"

namespace actlens::cli {

struct SingleLayerInput {
  std::filesystem::path file;    // the array file
  int layer = -1;                // index on its layer axis, -1 for [N, d]
  std::string name;              // hook name, "layer<L>" or "" (for run.json and messages)
  std::filesystem::path labels;  // the labels file to use, or empty
};

// One layer of `path`: `hook` picks a file of a folder (required when it has several), `layer`
// an index of a [N, n_layers, d] file (required then). `labels` overrides the folder's
// labels.csv. Flags are named in errors (`flag_prefix` "" or "apply-").
SingleLayerInput resolve_single_layer(const std::filesystem::path& path, const std::string& key,
                                      const std::string& hook, int layer,
                                      const std::filesystem::path& labels,
                                      const std::string& flag_prefix);

// A column of a labels CSV (e.g. the capture's `text`), or empty when the file is not a CSV or
// lacks the column.
std::vector<std::string> read_optional_column(const std::filesystem::path& csv,
                                              const std::string& column);

}  // namespace actlens::cli
