// The file layout of a Hugging Face model folder. See actlens/io/hf_folder.hpp.
#include "actlens/io/hf_folder.hpp"

#include <set>

#include <nlohmann/json.hpp>

#include "actlens/error.hpp"
#include "actlens/io/json_file.hpp"

namespace actlens::io {
namespace fs = std::filesystem;

std::optional<HfWeights> find_hf_weights(const fs::path& dir) {
  for (const std::string_view name : kHfWeightNames) {
    const fs::path p = dir / name;
    if (!fs::exists(p)) continue;
    HfWeights w;
    w.safetensors = name.rfind("model.safetensors", 0) == 0;
    if (!name.ends_with(".index.json")) {
      w.files = {p};
      return w;
    }
    w.index = p;
    const nlohmann::json j = read_json_file(p, "a sharded checkpoint index (JSON)");
    if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
      throw Error(p.string() + ": no \"weight_map\" object; is this a sharded checkpoint index?");
    std::set<std::string> shards;
    for (const auto& [tensor, shard] : j["weight_map"].items()) {
      if (!shard.is_string()) continue;
      shards.insert(shard.get<std::string>());
      w.shard_of[tensor] = p.parent_path() / shard.get<std::string>();
    }
    for (const auto& s : shards) w.files.push_back(p.parent_path() / s);
    return w;
  }
  return std::nullopt;
}

HfWeights hf_weights(const fs::path& dir, std::string_view hint) {
  if (auto w = find_hf_weights(dir)) return std::move(*w);
  throw Error(dir.string() +
              ": no weights (looked for model.safetensors, model.safetensors.index.json, "
              "pytorch_model.bin, pytorch_model.bin.index.json)" +
              std::string(hint));
}

fs::path hf_config_file(const fs::path& dir) {
  return dir / "config.json";
}

fs::path require_hf_config(const fs::path& dir, std::string_view hint) {
  const fs::path p = hf_config_file(dir);
  std::error_code ec;
  if (!fs::exists(p, ec)) throw Error(p.string() + ": missing; " + std::string(hint));
  return p;
}

void require_hf_folder(const fs::path& dir, std::string_view kind) {
  if (!fs::is_directory(dir))
    throw Error(dir.string() + ": not a folder; --model takes a Hugging Face " + std::string(kind) +
                " folder (config.json + model.safetensors or pytorch_model.bin)");
}

std::optional<HfTokenizerFiles> find_hf_tokenizer(const fs::path& dir) {
  for (const auto& [vocab, merges] :
       {std::pair{"vocab.json", "merges.txt"}, std::pair{"encoder.json", "vocab.bpe"}})
    if (fs::is_regular_file(dir / vocab) && fs::is_regular_file(dir / merges))
      return HfTokenizerFiles{dir / vocab, dir / merges};
  return std::nullopt;
}

}  // namespace actlens::io
