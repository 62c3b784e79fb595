// A Hugging Face GPT-2 folder's token embedding (wte): the rows of words that are one token. See
// actlens/io/embeddings.hpp and embeddings_detail.hpp.
#include <cmath>
#include <initializer_list>
#include <memory>
#include <nlohmann/json.hpp>
#include <utility>

#include "actlens/error.hpp"
#include "actlens/io/gpt2_tokenizer.hpp"
#include "actlens/io/hf_folder.hpp"
#include "actlens/io/json_file.hpp"
#include "actlens/io/safetensors.hpp"
#include "actlens/io/shape.hpp"
#include "actlens/io/torch_file.hpp"
#include "embeddings_detail.hpp"

namespace actlens::io::embeddings_detail {

namespace fs = std::filesystem;

namespace {

struct TokenTable {
  std::string what;  // "<file>: wte.weight" for messages
  std::int64_t rows = 0, dim = 0;
  std::function<void(std::int64_t, float*)> read_row;
};

constexpr const char* kWteKeys[] = {"wte.weight", "transformer.wte.weight"};

std::optional<TokenTable> wte_from_safetensors(const fs::path& file) {
  const auto st = std::make_shared<SafetensorsFile>(SafetensorsFile::open(file));
  for (const char* key : kWteKeys) {
    if (!st->contains(key)) continue;
    const auto& info = st->info(key);
    if (info.shape.size() != 2 || !is_float_dtype(info.dtype))
      throw Error(file.string() + ": " + key + " is " + dtype_name(info.dtype) + " with " +
                  std::to_string(info.shape.size()) +
                  " dims; expected a float [vocab, d_model] matrix");
    const std::string k = key;
    return TokenTable{file.string() + ": " + key, info.shape[0], info.shape[1],
                      [st, k](std::int64_t row, float* dst) { st->read_row_float(k, row, dst); }};
  }
  return std::nullopt;
}

std::optional<TokenTable> wte_from_torch(const fs::path& file) {
  const auto tf = std::make_shared<TorchFile>(TorchFile::open(file));
  const auto& root = tf->root();
  if (!root || !root->is<pickle::Dict>())
    throw Error(file.string() + ": expected a state dict (name -> tensor), found " +
                (root ? root->type_name() : std::string("nothing")));
  for (const char* key : kWteKeys) {
    const pickle::ValuePtr v = root->get(key);
    if (!v) continue;
    if (!v->is<pickle::Tensor>())
      throw Error(file.string() + ": " + key + " is a " + v->type_name() + ", not a tensor");
    const pickle::Tensor t = v->as<pickle::Tensor>();
    if (t.shape.size() != 2 || !t.storage || !is_float_dtype(t.storage->dtype))
      throw Error(file.string() + ": " + key + " is not a float [vocab, d_model] matrix");
    return TokenTable{file.string() + ": " + key, t.shape[0], t.shape[1],
                      [tf, t](std::int64_t row, float* dst) { tf->read_slice_float(t, row, dst); }};
  }
  return std::nullopt;
}

// The folder's config.json (when it has one) fixes the embedding's shape: [vocab_size, n_embd].
// A table of another shape belongs to another model (or is damaged): refused, naming both.
void check_wte_shape(const TokenTable& t, const fs::path& dir) {
  if (t.rows < 1 || t.dim < 1 || t.dim > kMaxDim)
    throw Error(t.what + ": shape " + shape_str({t.rows, t.dim}) +
                " is no token embedding [vocab, d_model]; the checkpoint is damaged");
  const fs::path cfg_path = hf_config_file(dir);
  std::error_code ec;
  if (!fs::exists(cfg_path, ec)) return;
  const nlohmann::json cfg = read_json_file(cfg_path, "a config.json file");
  if (!cfg.is_object())
    throw Error(cfg_path.string() + ": expected a JSON object (a Hugging Face model config)");
  auto size = [&](std::initializer_list<const char*> keys, std::int64_t fallback) {
    for (const char* key : keys) {
      const auto it = cfg.find(key);
      if (it == cfg.end() || it->is_null()) continue;
      const bool ok = it->is_number_integer() &&
                      !(it->is_number_unsigned() && it->get<std::uint64_t>() > (1ull << 40)) &&
                      it->get<std::int64_t>() >= 1 && it->get<std::int64_t>() <= (1ll << 40);
      if (!ok) {
        std::string got = it->dump();
        if (got.size() > 60) got = got.substr(0, 60) + "...";
        throw Error(cfg_path.string() + ": key '" + key + "' must be a positive integer, got " +
                    got + "; fix the config");
      }
      return it->get<std::int64_t>();
    }
    return fallback;
  };
  const std::int64_t vocab = size({"vocab_size"}, t.rows);
  const std::int64_t d = size({"n_embd", "hidden_size"}, t.dim);
  if (t.rows != vocab || t.dim != d)
    throw Error(t.what + ": shape " + shape_str({t.rows, t.dim}) + ", but " + cfg_path.string() +
                " says [vocab_size, n_embd] = " + shape_str({vocab, d}) +
                "; the weights and config.json do not belong together");
}

TokenTable open_wte(const fs::path& dir) {
  const HfWeights w = hf_weights(dir, "; give a GPT-2 model folder");
  // The one weight file, or the shard the index names for the embedding.
  std::optional<fs::path> file;
  if (w.index.empty()) {
    file = w.files.front();
  } else {
    for (const char* key : kWteKeys) {
      const auto it = w.shard_of.find(key);
      if (it == w.shard_of.end()) continue;
      file = it->second;
      break;
    }
  }
  std::optional<TokenTable> t;
  if (file) t = w.safetensors ? wte_from_safetensors(*file) : wte_from_torch(*file);
  if (!t)
    throw Error(w.source().string() +
                ": no token embedding (wte.weight or transformer.wte.weight); is this a GPT-2 "
                "model?");
  check_wte_shape(*t, dir);
  return std::move(*t);
}

}  // namespace

Embeddings read_gpt2(const fs::path& dir, const EmbeddingQuery& q) {
  if (q.words.empty())
    throw UsageError(
        dir.string() +
        ": a GPT-2 folder needs the words to look up; give --words (a list or a file)");
  const TokenTable wte = open_wte(dir);
  const Gpt2Tokenizer tok = Gpt2Tokenizer::from_folder(dir);
  Collector rows(q.words, wte.dim);
  std::unordered_map<std::string, std::string> reasons;
  std::vector<float> buf(static_cast<std::size_t>(wte.dim));
  std::int64_t index = 0;
  for (const auto& w : q.words) {
    ++index;
    if (w.empty()) throw UsageError("the word list holds an empty word; remove it");
    if (rows.found(w) || reasons.count(w) != 0) continue;  // a repeated query word
    const std::vector<std::int32_t> ids = tok.encode_ordinary(q.gpt2_leading_space ? " " + w : w);
    if (ids.size() != 1) {
      std::string pieces;
      for (const auto id : ids) pieces += (pieces.empty() ? "" : "|") + tok.token_text(id);
      reasons[w] = std::to_string(ids.size()) + " tokens: " + pieces;
      continue;
    }
    const std::int32_t id = ids[0];
    if (id < 0 || id >= wte.rows)
      throw Error(wte.what + ": token id " + std::to_string(id) + " of " + squote(w) +
                  " is outside its " + std::to_string(wte.rows) +
                  " rows; the tokenizer files and the weights do not belong together");
    double* dst = rows.take(w, index, wte.what, "as query words");
    wte.read_row(id, buf.data());
    for (std::int64_t k = 0; k < wte.dim; ++k) {
      const float v = buf[static_cast<std::size_t>(k)];
      if (!std::isfinite(v))
        throw Error(wte.what + ": row " + std::to_string(id) + " (" + squote(w) +
                    ") holds NaN or Inf; the checkpoint is damaged");
      dst[k] = static_cast<double>(v);
    }
  }
  Embeddings e = rows.finish(q.words, q.skip_missing, dir.string(), reasons);
  e.vocab_size = wte.rows;
  e.dim = wte.dim;
  e.format = "gpt2-wte";
  return e;
}

}  // namespace actlens::io::embeddings_detail
