#pragma once
// The layout of a Hugging Face model folder, in one place: which files a model is read from, in
// which order, so that the model loader, the token-embedding reader and the capture cache key
// (which hashes exactly the files the model loads) can never disagree. Only paths are resolved
// here: no weight is read.
//
//   config.json                     the model config (always this name)
//   weights, the first that exists:
//     model.safetensors               one safetensors file
//     model.safetensors.index.json    sharded safetensors: {"weight_map": {tensor: shard file}}
//     pytorch_model.bin               one torch.save zip (a state dict)
//     pytorch_model.bin.index.json    sharded torch.save files, the same index format
//   tokenizer, the first complete pair:
//     vocab.json + merges.txt         Hugging Face's names
//     encoder.json + vocab.bpe        OpenAI's names (the original GPT-2 release)
#include <array>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace actlens::io {

// The weight file names looked for, in this order (the first that exists is used).
inline constexpr std::array<std::string_view, 4> kHfWeightNames = {
    "model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
    "pytorch_model.bin.index.json"};

// How a folder's weights are stored.
struct HfWeights {
  bool safetensors = true;  // safetensors files; false: torch.save zips (pytorch_model*.bin)
  // The *.index.json of a sharded checkpoint; empty for a single weight file.
  std::filesystem::path index;
  // The weight files in load order: the single file, or the shards of the index (its weight_map
  // values, sorted by name, each once, relative to the index's folder). Shards are NOT checked to
  // exist: a reader that needs only some of them (the token embedding) must not fail on the
  // others.
  std::vector<std::filesystem::path> files;
  // Sharded: tensor name -> its shard (the weight_map's string values); empty for one file.
  std::map<std::string, std::filesystem::path> shard_of;

  // The file that describes the checkpoint, as messages name it: the index, else the one file.
  const std::filesystem::path& source() const { return index.empty() ? files.front() : index; }
};

// The weights of model folder `dir` (kHfWeightNames, the first that exists), or nullopt when
// there are none. An index is read (io::read_json_file, "a sharded checkpoint index (JSON)") and
// must hold a "weight_map" object, else actlens::Error naming the index.
std::optional<HfWeights> find_hf_weights(const std::filesystem::path& dir);

// find_hf_weights, throwing actlens::Error when the folder has none:
//   "<dir>: no weights (looked for model.safetensors, model.safetensors.index.json,
//    pytorch_model.bin, pytorch_model.bin.index.json)" followed by `hint` (e.g. "; give a GPT-2
//   model folder").
HfWeights hf_weights(const std::filesystem::path& dir, std::string_view hint = "");

// dir / "config.json", whether or not it exists.
std::filesystem::path hf_config_file(const std::filesystem::path& dir);

// dir / "config.json" after checking that it exists; else actlens::Error
// "<dir>/config.json: missing; <hint>" (e.g. "is --model a Hugging Face model folder?").
std::filesystem::path require_hf_config(const std::filesystem::path& dir, std::string_view hint);

// Throws actlens::Error unless `dir` is a folder:
//   "<dir>: not a folder; --model takes a Hugging Face <kind> folder (config.json +
//    model.safetensors or pytorch_model.bin)", `kind` being "model" or "GPT-2".
void require_hf_folder(const std::filesystem::path& dir, std::string_view kind);

// The tokenizer files of `dir`: vocab.json + merges.txt, else encoder.json + vocab.bpe (both
// regular files); nullopt when the folder has neither pair.
struct HfTokenizerFiles {
  std::filesystem::path vocab;   // vocab.json / encoder.json: {"token": id}
  std::filesystem::path merges;  // merges.txt / vocab.bpe: BPE merges by rank
};
std::optional<HfTokenizerFiles> find_hf_tokenizer(const std::filesystem::path& dir);

}  // namespace actlens::io
