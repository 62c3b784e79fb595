#pragma once
// Partial statistics (issue 19): what a shard of an analysis writes instead of a result, merged
// exactly later (core::ScatterAccumulator::merge, Chan et al.). One file, `<name>.safetensors`:
//  - tensors per group G (a group is one accumulator; lda/pca use one per layer, "layer{L}"):
//      G.class_counts  int64 [C]
//      G.shift         float64 [d]
//      G.class_sums    float64 [C, d]      sum over the class of (x - shift)
//      G.gram          float64 [d(d+1)/2]  lower triangle of sum (x - shift)(x - shift)^T, row by
//                                          row: numpy's g[np.tril_indices(d)]
//  - the manifest, one JSON string under the key "actlens_partial" of the safetensors
//    __metadata__ (docs/formats.md, "Partial statistics", has an example): format, analysis,
//    program version, options that affect the result, layers, d, class names, input
//    fingerprints, the shard(s) K of N it covers, group names and an XXH3 of every tensor's
//    bytes (so a flipped bit in the data is refused, not merged).
// The file is written atomically (tmp + rename), so a retried shard task never leaves half a
// file. Every error is an actlens::Error whose one line names the file(s) and the field at fault.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actlens/core/scatter.hpp"

namespace actlens::io {

inline constexpr int kPartialFormat = 1;
inline constexpr char kPartialMetadataKey[] = "actlens_partial";

// One input file as the shard read it. Identity is (size, xxh3): a copy under another name is
// the same input.
struct InputFingerprint {
  std::string file;  // the path as given to the command (shown in messages)
  std::uint64_t size = 0;
  std::string xxh3;  // io::hash_file, 16 hex digits
};
InputFingerprint fingerprint_file(const std::filesystem::path& path);

struct PartialManifest {
  std::string analysis;                               // "lda", "pca", ...
  std::string program_version;                        // the writer's actlens version
  nlohmann::json options = nlohmann::json::object();  // every option that affects the result
  std::vector<int> layers;
  std::int64_t dim = 0;              // d, the activation width
  std::vector<std::string> classes;  // class names, in class-id order
  std::vector<InputFingerprint> inputs;
  int shard_count = 0;      // N of --shard K/N; 0: not sharded (an explicit input list)
  std::vector<int> shards;  // the K in 1..N covered: one per shard, several after a merge
};

struct PartialGroup {
  std::string name;  // [A-Za-z0-9_-]+, e.g. "layer12"
  core::ScatterState state;
};

struct PartialStats {
  std::filesystem::path path;  // set by read_partial (shown in messages)
  PartialManifest manifest;
  std::vector<PartialGroup> groups;
};

// "layer{L}": the group name lda/pca use for a layer.
std::string layer_group(int layer);

// Writes `partial` to `path` atomically (the manifest as given; checksums are computed here).
void write_partial(const std::filesystem::path& path, const PartialStats& partial);

// Reads and validates one partial file: it parses (corrupt or truncated -> the file named), its
// manifest is complete, its tensors match their checksums and shapes, and it was written by
// `program_version` (another version is refused: rerun the shard with this one).
PartialStats read_partial(const std::filesystem::path& path, const std::string& program_version);

// Refuses, with one line naming two files and the differing field, parts that cannot be merged:
// another analysis, program version, option, layers, d, class names or groups; mixed N; the same
// shard twice (the same K of N, or for parts not split by K/N the same input content twice).
// With `require_complete` (finishing an analysis), also a K/N split with shards missing (listed).
void check_compatible(const std::vector<PartialStats>& parts, bool require_complete);

// check_compatible(parts, false), then one partial covering all of them: states merged group by
// group in the given order, shards and inputs united (for tree reductions).
PartialStats merge_partials(const std::vector<PartialStats>& parts);

}  // namespace actlens::io
