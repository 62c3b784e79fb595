#pragma once
// Where `actlens capture` keeps its work: finished hooks as one file each in the output folder,
// and, while a run is going, shards of texts under OUT/.partial-<key>/ so that an interrupted
// run picks up where it stopped. Files are written atomically (temporary + rename).
#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "actlens/model/capture.hpp"

namespace actlens::cli {

using HookOutputs = std::map<std::string, model::HookOutput>;

class ShardStore {
 public:
  explicit ShardStore(std::filesystem::path dir) : dir_(std::move(dir)) {}
  const std::filesystem::path& dir() const { return dir_; }
  // Shard `i` if it was saved with (at least) every hook in `hooks`.
  bool load(std::size_t i, const std::vector<std::string>& hooks, HookOutputs& out) const;
  void save(std::size_t i, const HookOutputs& shard) const;
  void remove() const;

 private:
  std::filesystem::path shard_path(std::size_t i) const;
  std::filesystem::path dir_;
};

// Joins shards (in text order) into one output per hook; `all` offsets are re-based.
HookOutputs concat_shards(std::vector<HookOutputs>& shards, const std::vector<std::string>& hooks);

// OUT/<hook>.safetensors (key "activations" [rows, row...] float32, plus "offsets" int64
// [n_texts + 1] for `all`) or OUT/<hook>.npy (+ <hook>.offsets.npy). Returns the file names.
std::vector<std::string> write_hook_output(const std::filesystem::path& out_dir,
                                           const std::string& hook, const model::HookOutput& o,
                                           const std::string& format,
                                           const std::map<std::string, std::string>& metadata);

}  // namespace actlens::cli
