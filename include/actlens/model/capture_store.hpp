#pragma once
// Where `actlens capture` keeps its work: finished hooks as one file each in the output folder,
// and, while a run is going, shards of texts under OUT/.partial-<key>/ so that an interrupted
// run picks up where it stopped. Files are written atomically (temporary + rename).
// capture_sharded() is the capture of many texts in such shards (model::capture on each).
#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "actlens/model/capture.hpp"

namespace actlens::model {

// One output per hook name.
using HookOutputs = std::map<std::string, HookOutput>;

// The shards of one capture (one set of hooks over one list of texts), in `dir`:
// shard-000000.safetensors, ... with one tensor per hook (float32 [rows, row...]) and, for
// `all`, "<hook>::offsets" (int64 [texts + 1], relative to the shard).
class ShardStore {
 public:
  explicit ShardStore(std::filesystem::path dir) : dir_(std::move(dir)) {}
  const std::filesystem::path& dir() const { return dir_; }
  // Shard `i` into `out` if it was saved with (at least) every hook in `hooks`; false when it was
  // not saved, lacks a hook or cannot be read (a damaged shard is computed again).
  bool load(std::size_t i, const std::vector<std::string>& hooks, HookOutputs& out) const;
  // Saves shard `i` (creates the folder).
  void save(std::size_t i, const HookOutputs& shard) const;
  // Removes the folder and every shard in it (no error when it is gone).
  void remove() const;

 private:
  std::filesystem::path shard_path(std::size_t i) const;
  std::filesystem::path dir_;
};

// Joins shards (in text order) into one output per hook in `hooks`; `all` offsets are re-based so
// that they index the joined rows. Every shard must hold every hook with one row shape. Frees the
// shards' data as it goes (they are left empty).
HookOutputs concat_shards(std::vector<HookOutputs>& shards, const std::vector<std::string>& hooks);

// OUT/<hook>.safetensors (key "activations" [rows, row...] float32, plus "offsets" int64
// [n_texts + 1] for `all`, with `metadata` in the header) or, for `format` "npy",
// OUT/<hook>.npy (+ <hook>.offsets.npy). Returns the file names (relative to `out_dir`).
std::vector<std::string> write_hook_output(const std::filesystem::path& out_dir,
                                           const std::string& hook, const HookOutput& o,
                                           const std::string& format,
                                           const std::map<std::string, std::string>& metadata);

struct ShardedCaptureResult {
  HookOutputs outputs;       // every hook over every text, as one capture() of all would give
  std::size_t n_shards = 0;  // ceil(texts / shard_size)
  std::size_t resumed = 0;   // shards that were loaded from the store instead of computed
};

// capture() of `texts` in shards of `shard_size` texts (>= 1), in order: a shard already in
// `store` (with every hook) is loaded, else computed and, when there is more than one shard,
// saved there, so an interruption loses at most one shard. `progress(n)` is called with the number
// of texts done (a whole shard when it was loaded, each batch otherwise) and may throw to stop
// (e.g. on Ctrl-C); the saved shards stay. The results do not depend on shard_size or on
// options.batch_size. Must be called under torch::InferenceMode.
ShardedCaptureResult capture_sharded(const Gpt2Model& model, const std::vector<CaptureText>& texts,
                                     const std::vector<std::string>& hooks,
                                     const Aggregation& aggregation, const CaptureOptions& options,
                                     std::size_t shard_size, const ShardStore& store,
                                     const std::function<void(std::size_t)>& progress = {});

}  // namespace actlens::model
