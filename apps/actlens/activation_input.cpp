#include "activation_input.hpp"

#include "actlens/error.hpp"
#include "actlens/io/csv.hpp"

namespace actlens::cli {
namespace fs = std::filesystem;

SingleLayerInput resolve_single_layer(const fs::path& path, const std::string& key,
                                      const std::string& hook, int layer, const fs::path& labels,
                                      const std::string& flag_prefix) {
  const std::string hook_flag = "--" + flag_prefix + "hook";
  const std::string layer_flag = "--" + flag_prefix + "layer";
  const io::ActivationSet set = io::ActivationSet::open(path, key);
  SingleLayerInput in;
  in.labels = labels.empty() ? set.labels_file() : labels;
  if (set.is_folder()) {
    if (layer >= 0)
      throw UsageError(layer_flag + ": " + path.string() +
                       " is a folder of per-layer files; pick one with " + hook_flag);
    std::vector<io::LayerRef> picked;
    if (!hook.empty()) {
      picked = set.select_names(hook, hook_flag);
    } else if (set.layers().size() == 1) {
      picked = set.layers();
    } else {
      std::string names;
      for (const auto& l : set.layers()) names += (names.empty() ? "" : ", ") + l.name;
      throw UsageError(hook_flag + ": " + path.string() + " has " +
                       std::to_string(set.layers().size()) + " layers; choose one (" + names + ")");
    }
    if (picked.size() != 1)
      throw UsageError(hook_flag + " '" + hook + "' matches " + std::to_string(picked.size()) +
                       " layers; name exactly one");
    in.file = picked[0].file;
    in.name = picked[0].name;
    return in;
  }
  if (!hook.empty())
    throw UsageError(hook_flag + ": " + path.string() + " is one file, not a folder of hooks");
  in.file = path;
  if (set.axis_layers() > 0) {
    if (layer < 0)
      throw UsageError(layer_flag + ": " + path.string() + " holds " +
                       std::to_string(set.axis_layers()) +
                       " layers ([N, n_layers, d]); choose one (0.." +
                       std::to_string(set.axis_layers() - 1) + ")");
    in.layer = set.select_indices({layer})[0].index;
    in.name = "layer" + std::to_string(layer);
  } else if (layer >= 0) {
    throw UsageError(layer_flag + ": " + path.string() + " is [N, d] with no layer axis");
  }
  return in;
}

std::vector<std::string> read_optional_column(const fs::path& csv, const std::string& column) {
  if (csv.empty() || csv.extension() != ".csv") return {};
  const io::CsvTable t = io::read_csv(csv);
  const int c = t.column(column);
  if (c < 0) return {};
  std::vector<std::string> out;
  out.reserve(t.rows.size());
  for (const auto& r : t.rows) out.push_back(r[static_cast<std::size_t>(c)]);
  return out;
}

}  // namespace actlens::cli
