#pragma once
// The output folder of `actlens capture` is also a cache: a hook whose file was made from the
// same model, tokenizer, input and options is not computed again. What "the same" means is the
// cache key: content hashes (io::hash_file) of every file the results depend on plus the options
// that change them, recorded in run.json's summary.cache as
//   {"key": <base key>, "parts": <what it hashes>, "hooks": {<hook>: {"key", "files"}}}
// CHANGING WHAT CaptureKey HASHES (the names, order or types of `parts`) INVALIDATES EVERY
// EXISTING CACHE: users' folders would be recomputed. Keep it byte for byte.
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace actlens::model {

// The weight files a Hugging Face GPT-2 folder's model loads from, without reading them: the
// first of model.safetensors, model.safetensors.index.json, pytorch_model.bin,
// pytorch_model.bin.index.json that exists (the order of load_hf_checkpoint); for an index, the
// index itself and then its shards (weight_map values, sorted, each once). Throws Error when there
// is none.
std::vector<std::filesystem::path> weight_files(const std::filesystem::path& dir);
// vocab.json + merges.txt, else encoder.json + vocab.bpe (OpenAI's names); throws Error naming
// --tokenizer when the folder has neither pair.
std::vector<std::filesystem::path> tokenizer_files(const std::filesystem::path& dir);

// The options that change a capture's results (the others, such as batch size or threads, do
// not).
struct CaptureKeyOptions {
  std::string text_column, label_column, ids_column;
  std::string aggregate;       // Aggregation::spec()
  std::size_t max_length = 0;  // resolved: never 0
  std::string dtype;           // dtype_name()
  bool skip_unmatched = false;
};

struct CaptureKey {
  // {"config": hash, "weights": [hash per weight_files()], "tokenizer": [hash per
  //  tokenizer_files()], "input": hash, "options": {the CaptureKeyOptions by field name}}
  nlohmann::json parts;
  std::string base;                            // io::hash_bytes(parts.dump())
  std::vector<std::filesystem::path> weights;  // weight_files(), in the order of parts.weights

  // The key of one hook's file: hash_bytes(base + "|" + hook).
  std::string hook(const std::string& hook) const;
  // The folder name of the shards of a run that computes `todo` (in that order):
  // ".partial-" + hash_bytes(base + "|" + each hook followed by ';').
  std::string partial_dir(const std::vector<std::string>& todo) const;
};

// Hashes the files (config.json and the weights of `model_dir`, the tokenizer files of
// `tokenizer_dir`, `input`). Throws Error when one is missing or unreadable.
CaptureKey capture_key(const std::filesystem::path& model_dir,
                       const std::filesystem::path& tokenizer_dir,
                       const std::filesystem::path& input, const CaptureKeyOptions& options);

// What an output folder holds for one run (the caller holds the folder's lock).
class CaptureCache {
 public:
  // Reads `out`/run.json when there is one. Throws UsageError (naming --out) when `out` exists
  // but is not a folder, holds files but no run.json (other than .partial-* shards), or holds
  // another command's results. An unreadable run.json counts as no cache. `force`: every hook is
  // stale.
  static CaptureCache open(const std::filesystem::path& out, const CaptureKey& key, bool force);

  // The hooks of `hooks` (in order) that must be computed: not recorded with this key's hook key,
  // or a recorded file is gone.
  std::vector<std::string> stale(const std::vector<std::string>& hooks) const;
  // Records hook `hook`'s new files (names relative to the folder), made with this key.
  void add(const std::string& hook, const std::vector<std::string>& files);
  // The files recorded for `hook` (an array of names; null when it is not recorded).
  const nlohmann::json& files(const std::string& hook) const;
  // run.json's summary.cache: {"key", "parts", "hooks"}, where "hooks" holds the hooks an earlier
  // run recorded with the same base key (requested now or not) and those add()ed.
  nlohmann::json summary() const;
  // Once the new run.json is written: removes the files the earlier run.json listed that are no
  // longer recorded (they would be stale next to the new labels.csv). Errors are ignored.
  void remove_unlisted_files() const;

 private:
  std::filesystem::path out_;
  CaptureKey key_;
  nlohmann::json before_ = nlohmann::json::object();  // the earlier summary.cache
  nlohmann::json hooks_ = nlohmann::json::object();   // valid and new hooks
};

}  // namespace actlens::model
