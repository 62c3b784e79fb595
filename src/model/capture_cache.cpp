#include "actlens/model/capture_cache.hpp"

#include <set>

#include "actlens/error.hpp"
#include "actlens/io/content_hash.hpp"
#include "actlens/io/hf_folder.hpp"
#include "actlens/io/json_file.hpp"

namespace actlens::model {
namespace fs = std::filesystem;

namespace {

nlohmann::json read_json_file(const fs::path& p) {
  return io::read_json_file(p, "a JSON file of the model folder");
}

// The cache section of an earlier capture's run.json in `out` (empty when there is none).
nlohmann::json previous_cache(const fs::path& out) {
  if (!fs::exists(out / "run.json")) return nlohmann::json::object();
  nlohmann::json j;
  try {
    j = read_json_file(out / "run.json");
  } catch (const Error&) {
    return nlohmann::json::object();
  }
  if (j.value("command", "") != "capture")
    throw UsageError("--out " + out.string() + ": holds the results of `actlens " +
                     j.value("command", "?") + "`; choose another folder for the capture");
  const auto& c = j["summary"]["cache"];
  return c.is_object() ? c : nlohmann::json::object();
}

// The "files" of one hook's cache entry; empty when the entry is malformed.
nlohmann::json files_of(const nlohmann::json& entry) {
  if (!entry.is_object()) return nlohmann::json::array();
  const auto f = entry.find("files");
  return f != entry.end() && f->is_array() ? *f : nlohmann::json::array();
}

// True when `out` holds anything but the shards of interrupted runs.
bool holds_other_files(const fs::path& out) {
  for (const auto& e : fs::directory_iterator(out))
    if (e.path().filename().string().rfind(".partial-", 0) != 0) return true;
  return false;
}

}  // namespace

std::vector<fs::path> weight_files(const fs::path& dir) {
  // Exactly the files model::load_hf_checkpoint reads (io/hf_folder), index first.
  const io::HfWeights w = io::hf_weights(dir, "; --model takes a Hugging Face GPT-2 folder");
  std::vector<fs::path> files;
  if (!w.index.empty()) files.push_back(w.index);
  files.insert(files.end(), w.files.begin(), w.files.end());
  return files;
}

std::vector<fs::path> tokenizer_files(const fs::path& dir) {
  if (const auto t = io::find_hf_tokenizer(dir)) return {t->vocab, t->merges};
  throw Error(dir.string() +
              ": no GPT-2 tokenizer files (vocab.json + merges.txt, or encoder.json + vocab.bpe); "
              "point --tokenizer at a folder that has them");
}

std::string CaptureKey::hook(const std::string& h) const {
  return io::hash_bytes(base + "|" + h);
}

std::string CaptureKey::partial_dir(const std::vector<std::string>& todo) const {
  std::string s;
  for (const auto& h : todo) s += h + ";";
  return ".partial-" + io::hash_bytes(base + "|" + s);
}

CaptureKey capture_key(const fs::path& model_dir, const fs::path& tokenizer_dir,
                       const fs::path& input, const CaptureKeyOptions& o) {
  // The layout of `parts` is the cache key of every existing capture folder: see the header.
  CaptureKey k;
  k.parts["config"] = io::hash_file(io::hf_config_file(model_dir));
  k.weights = weight_files(model_dir);
  for (const auto& f : k.weights) k.parts["weights"].push_back(io::hash_file(f));
  for (const auto& f : tokenizer_files(tokenizer_dir))
    k.parts["tokenizer"].push_back(io::hash_file(f));
  k.parts["input"] = io::hash_file(input);
  k.parts["options"] = {{"text_column", o.text_column},
                        {"label_column", o.label_column},
                        {"aggregate", o.aggregate},
                        {"max_length", o.max_length},
                        {"dtype", o.dtype},
                        {"skip_unmatched", o.skip_unmatched},
                        {"ids_column", o.ids_column}};
  k.base = io::hash_bytes(k.parts.dump());
  return k;
}

CaptureCache CaptureCache::open(const fs::path& out, const CaptureKey& key, bool force) {
  if (fs::exists(out) && !fs::is_directory(out))
    throw UsageError("--out " + out.string() + ": exists and is not a folder");
  if (fs::exists(out) && !fs::is_empty(out) && !fs::exists(out / "run.json") &&
      holds_other_files(out))
    throw UsageError("--out " + out.string() +
                     ": folder exists and is not an actlens result (no run.json); choose a new "
                     "folder or empty it");
  CaptureCache c;
  c.out_ = out;
  c.key_ = key;
  c.before_ = previous_cache(out);
  // Hooks of an earlier run with the same model, tokenizer, input and options stay valid.
  if (!force && c.before_.value("key", "") == key.base) {
    const auto h = c.before_.find("hooks");
    if (h != c.before_.end() && h->is_object()) c.hooks_ = *h;
  }
  return c;
}

std::vector<std::string> CaptureCache::stale(const std::vector<std::string>& hooks) const {
  std::vector<std::string> todo;
  for (const auto& h : hooks) {
    const auto e = hooks_.find(h);
    bool ok = e != hooks_.end() && e->is_object() && e->value("key", "") == key_.hook(h);
    if (ok)
      for (const auto& f : files_of(*e))
        ok = ok && f.is_string() && fs::exists(out_ / f.get<std::string>());
    if (!ok) todo.push_back(h);
  }
  return todo;
}

void CaptureCache::add(const std::string& hook, const std::vector<std::string>& files) {
  hooks_[hook] = {{"key", key_.hook(hook)}, {"files", files}};
}

const nlohmann::json& CaptureCache::files(const std::string& hook) const {
  static const nlohmann::json none;
  const auto it = hooks_.find(hook);
  if (it == hooks_.end() || !it->is_object()) return none;
  const auto f = it->find("files");
  return f == it->end() ? none : *f;
}

nlohmann::json CaptureCache::summary() const {
  return {{"key", key_.base}, {"parts", key_.parts}, {"hooks", hooks_}};
}

void CaptureCache::remove_unlisted_files() const {
  std::set<std::string> keep;
  for (const auto& [h, e] : hooks_.items())
    for (const auto& f : files_of(e))
      if (f.is_string()) keep.insert(f.get<std::string>());
  const auto before_hooks = before_.find("hooks");
  if (before_hooks == before_.end() || !before_hooks->is_object()) return;
  for (const auto& [h, e] : before_hooks->items()) {
    for (const auto& f : files_of(e))
      if (f.is_string() && !keep.count(f.get<std::string>()) &&
          f.get<std::string>().find('/') == std::string::npos) {
        std::error_code ec;
        fs::remove(out_ / f.get<std::string>(), ec);
      }
  }
}

}  // namespace actlens::model
