// actlens capture: GPT-2 activations of texts at TransformerLens hook points, aggregated per
// text, written as one file per hook (seeds pca-gpt2-days and ged-gpt2-him-her capture them with
// Hugging Face in Python). The output folder is a cache: hooks whose file was made from the same
// model, tokenizer, input and options are not recomputed, and an interrupted run resumes from
// the shards it saved.
#include <algorithm>
#include <climits>
#include <filesystem>
#include <set>
#include <sstream>

#include <spdlog/spdlog.h>

#include "actlens/core/error.hpp"
#include "actlens/io/content_hash.hpp"
#include "actlens/io/csv.hpp"
#include "actlens/io/gpt2_tokenizer.hpp"
#include "actlens/io/json_file.hpp"
#include "actlens/io/text_corpus.hpp"
#include "actlens/model/affine.hpp"
#include "actlens/model/capture.hpp"
#include "actlens/model/checkpoint.hpp"
#include "actlens/model/gpt2.hpp"
#include "actlens/report/interrupt.hpp"
#include "actlens/report/output_dir.hpp"
#include "actlens/report/progress.hpp"
#include "actlens/report/run_info.hpp"
#include "actlens/report/writers.hpp"
#include "capture_store.hpp"
#include "cli_common.hpp"
#include "torch_commands.hpp"

namespace actlens::cli {
namespace fs = std::filesystem;

namespace {

struct CaptureOptions {
  std::string model, input, tokenizer;
  std::string text_column = "text", label_column = "label", ids_column;
  std::vector<std::string> hooks = {"blocks.*.hook_resid_post"};
  std::string layers = "all";
  std::string aggregate = "final";
  std::string out = "results/capture";
  std::string format = "safetensors";
  int batch_size = 16;
  int max_length = 0;
  std::string device = "cpu", dtype = "float32";
  int threads = 0;
  bool force = false, skip_unmatched = false;
  int shard_size = 2048;
};

nlohmann::json read_json_file(const fs::path& p) {
  return io::read_json_file(p, "a JSON file of the model folder");
}

// Weight files the folder's model would load from (for hashing), without reading them.
std::vector<fs::path> weight_files(const fs::path& dir) {
  // The same order as model::load_hf_checkpoint.
  for (const char* name : {"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                           "pytorch_model.bin.index.json"}) {
    if (!fs::exists(dir / name)) continue;
    if (std::string(name).find(".index.json") == std::string::npos) return {dir / name};
    const auto j = read_json_file(dir / name);
    std::set<std::string> shards;
    if (j.contains("weight_map") && j["weight_map"].is_object())
      for (const auto& [k, v] : j["weight_map"].items())
        if (v.is_string()) shards.insert(v.get<std::string>());
    std::vector<fs::path> files = {dir / name};
    for (const auto& s : shards) files.push_back(dir / s);
    return files;
  }
  throw Error(dir.string() +
              ": no weights (looked for model.safetensors, pytorch_model.bin and their "
              ".index.json); --model takes a Hugging Face GPT-2 folder");
}

std::vector<fs::path> tokenizer_files(const fs::path& dir) {
  if (fs::exists(dir / "vocab.json") && fs::exists(dir / "merges.txt"))
    return {dir / "vocab.json", dir / "merges.txt"};
  if (fs::exists(dir / "encoder.json") && fs::exists(dir / "vocab.bpe"))
    return {dir / "encoder.json", dir / "vocab.bpe"};
  throw Error(dir.string() +
              ": no GPT-2 tokenizer files (vocab.json + merges.txt, or encoder.json + vocab.bpe); "
              "point --tokenizer at a folder that has them");
}

struct Prepared {
  std::vector<std::size_t> record;  // input record index of each kept text
  std::vector<model::CaptureText> texts;
  std::vector<bool> truncated;
  std::size_t n_truncated = 0, n_unmatched = 0;
};

// Space-separated token ids (the `ids` column `actlens corpus filter --window` writes).
std::vector<std::int32_t> parse_ids(const std::string& field, std::size_t record,
                                    const std::string& input, const std::string& column) {
  std::vector<std::int32_t> ids;
  std::istringstream in(field);
  std::string tok;
  while (in >> tok) {
    std::size_t used = 0;
    long v = -1;
    try {
      v = std::stol(tok, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != tok.size() || v < 0 || v > INT32_MAX)
      throw Error(input + ": record " + std::to_string(record + 1) + ", column '" + column +
                  "': '" + tok + "' is not a token id");
    ids.push_back(static_cast<std::int32_t>(v));
  }
  return ids;
}

// `ids_fields`: when not empty, the token ids of each record (--ids-column) instead of encoding
// its text.
Prepared tokenize(const std::vector<io::TextRecord>& records, const io::Gpt2Tokenizer& tok,
                  std::size_t max_length, const model::Aggregation& agg, bool skip_unmatched,
                  const std::string& input, const std::vector<std::string>& ids_fields,
                  const std::string& ids_column) {
  const std::size_t n = records.size();
  std::vector<std::vector<std::int32_t>> ids(n);
  if (!ids_fields.empty()) {
    for (std::size_t i = 0; i < n; ++i) ids[i] = parse_ids(ids_fields[i], i, input, ids_column);
  } else {
#pragma omp parallel for schedule(dynamic, 16)
    for (std::size_t i = 0; i < n; ++i) ids[i] = tok.encode(records[i].text);
  }
  const bool by_position = agg.kind == model::Aggregation::Kind::Position;

  const auto candidates = agg.kind == model::Aggregation::Kind::Token
                              ? model::word_token_sequences(tok, agg.words)
                              : std::vector<std::vector<std::int32_t>>{};
  if (agg.kind == model::Aggregation::Kind::Token && candidates.empty())
    throw UsageError("--aggregate " + agg.spec() + ": the words encode to no tokens");
  Prepared p;
  std::vector<std::size_t> unmatched;
  for (std::size_t i = 0; i < n; ++i) {
    if (ids[i].empty())
      throw Error(input + ": record " + std::to_string(i + 1) +
                  " is empty (no tokens); remove it or give it text");
    const bool cut = ids[i].size() > max_length;
    if (cut) ids[i].resize(max_length);
    model::CaptureText t;
    t.ids = std::move(ids[i]);
    if (by_position && static_cast<std::int64_t>(t.ids.size()) > agg.position)
      t.match = {agg.position, 1};
    if (!candidates.empty()) t.match = model::find_first_match(t.ids, candidates);
    if (by_position || !candidates.empty()) {
      if (t.match.begin < 0) {
        unmatched.push_back(i);
        if (skip_unmatched) continue;
      }
    }
    p.n_truncated += cut ? 1 : 0;
    p.truncated.push_back(cut);
    p.record.push_back(i);
    p.texts.push_back(std::move(t));
  }
  p.n_unmatched = unmatched.size();
  if (!unmatched.empty() && !skip_unmatched) {
    std::string list;
    for (std::size_t k = 0; k < unmatched.size() && k < 5; ++k)
      list += (k ? ", " : "") + std::to_string(unmatched[k] + 1);
    throw Error(input + ": " + std::to_string(unmatched.size()) + " record(s) (" + list +
                (unmatched.size() > 5 ? ", ..." : "") +
                (by_position ? ") have no token at index " + std::to_string(agg.position)
                             : ") contain none of the words of --aggregate " + agg.spec()) +
                (p.n_truncated ? " within --max-length tokens" : "") +
                "; pass --skip-unmatched to leave them out");
  }
  if (p.texts.empty()) throw Error(input + ": no text left to capture");
  return p;
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

int run_capture(const CaptureOptions& o) {
  set_threads(o.threads);
  set_torch_threads(o.threads);
  const model::Aggregation agg = model::Aggregation::parse(o.aggregate);
  if (o.format != "safetensors" && o.format != "npy")
    throw UsageError("--format: '" + o.format + "' is not safetensors or npy");
  if (o.batch_size < 1) throw UsageError("--batch-size must be >= 1");
  if (o.shard_size < 1) throw UsageError("--shard-size must be >= 1");
  const torch::ScalarType dtype = model::parse_dtype(o.dtype);
  const torch::Device device = model::parse_device(o.device);
  if (device.is_cpu() && dtype == torch::kFloat16)
    throw UsageError("--dtype float16 needs --device cuda; on the CPU use bfloat16 or float32");

  report::RunInfo info("capture", command_line(), ACTLENS_VERSION);
  info.start("prepare");
  const fs::path model_dir = o.model, input = o.input, out = report::clean_output_path(o.out);
  const fs::path tok_dir = o.tokenizer.empty() ? model_dir : fs::path(o.tokenizer);
  if (!fs::is_directory(model_dir))
    throw Error(model_dir.string() +
                ": not a folder; --model takes a Hugging Face GPT-2 folder "
                "(config.json + model.safetensors or pytorch_model.bin)");
  if (!fs::exists(model_dir / "config.json"))
    throw Error((model_dir / "config.json").string() +
                ": missing; is --model a Hugging Face "
                "model folder?");
  const auto cfg = model::Gpt2Config::from_json(read_json_file(model_dir / "config.json"),
                                                (model_dir / "config.json").string());
  const int n_layers = static_cast<int>(cfg.n_layer);
  const auto layers =
      o.layers == "all" ? std::vector<int>{} : parse_layers(o.layers, n_layers, "--layers");
  const auto hooks = model::resolve_hooks(o.hooks, n_layers, layers);
  if (o.max_length < 0 || o.max_length > cfg.n_positions)
    throw UsageError("--max-length " + std::to_string(o.max_length) + ": must be 1.." +
                     std::to_string(cfg.n_positions) + " (n_positions of the model); 0 = that");
  const std::size_t max_length =
      static_cast<std::size_t>(o.max_length > 0 ? o.max_length : cfg.n_positions);

  // ---- cache key: the bytes of everything the results depend on, and the options ----
  io::TextCorpusOptions tco;
  tco.text_column = o.text_column;
  tco.label_column = o.label_column;
  const auto records = io::read_text_corpus(input, tco);
  if (records.empty()) throw Error(input.string() + ": holds no texts");
  nlohmann::json key_parts;
  key_parts["config"] = io::hash_file(model_dir / "config.json");
  for (const auto& f : weight_files(model_dir)) {
    key_parts["weights"].push_back(io::hash_file(f));
    info.add_input("weights", f, "model weights", fs::file_size(f), key_parts["weights"].back());
  }
  for (const auto& f : tokenizer_files(tok_dir)) key_parts["tokenizer"].push_back(io::hash_file(f));
  key_parts["input"] = io::hash_file(input);
  info.add_input("texts", input, std::to_string(records.size()) + " texts", fs::file_size(input),
                 key_parts["input"]);
  key_parts["options"] = {{"text_column", o.text_column},      {"label_column", o.label_column},
                          {"aggregate", agg.spec()},           {"max_length", max_length},
                          {"dtype", model::dtype_name(dtype)}, {"skip_unmatched", o.skip_unmatched},
                          {"ids_column", o.ids_column}};
  const std::string base_key = io::hash_bytes(key_parts.dump());
  auto hook_key = [&](const std::string& h) { return io::hash_bytes(base_key + "|" + h); };

  // One capture at a time per cache folder (two would each list only their own hooks), and
  // never into a folder this run reads.
  report::check_not_an_input(out);
  const report::OutputLock lock(out);
  if (fs::exists(out) && !fs::is_directory(out))
    throw UsageError("--out " + out.string() + ": exists and is not a folder");
  if (fs::exists(out) && !fs::is_empty(out) && !fs::exists(out / "run.json") && fs::exists(out) &&
      [&] {
        for (const auto& e : fs::directory_iterator(out))
          if (e.path().filename().string().rfind(".partial-", 0) != 0) return true;
        return false;
      }())
    throw UsageError("--out " + out.string() +
                     ": folder exists and is not an actlens result (no run.json); choose a new "
                     "folder or empty it");
  const nlohmann::json before = previous_cache(out);
  // Hooks of an earlier run with the same model, tokenizer, input and options stay valid.
  nlohmann::json cached = !o.force && before.value("key", "") == base_key
                              ? before.value("hooks", nlohmann::json::object())
                              : nlohmann::json::object();
  std::vector<std::string> todo;
  for (const auto& h : hooks) {
    bool ok = cached.contains(h) && cached[h].value("key", "") == hook_key(h);
    if (ok)
      for (const auto& f : cached[h]["files"]) ok = ok && fs::exists(out / f.get<std::string>());
    if (!ok) todo.push_back(h);
  }
  if (todo.empty()) {
    spdlog::info(
        "all {} hook(s) are up to date in {} (same model, tokenizer, input and options); "
        "--force recomputes",
        hooks.size(), out.string());
    return 0;
  }
  if (todo.size() < hooks.size())
    spdlog::info("{} of {} hook(s) reused from {}", hooks.size() - todo.size(), hooks.size(),
                 out.string());

  const auto tok = io::Gpt2Tokenizer::from_folder(tok_dir);
  if (tok.vocab_size() > static_cast<std::size_t>(cfg.vocab_size))
    spdlog::warn(
        "the tokenizer has {} tokens but the model's vocab_size is {}; ids beyond it "
        "will be rejected",
        tok.vocab_size(), cfg.vocab_size);
  std::vector<std::string> ids_fields;
  if (!o.ids_column.empty()) {
    if (input.extension() != ".csv")
      throw UsageError(
          "--ids-column: needs a .csv input (such as `actlens corpus filter "
          "--window` writes)");
    const io::CsvTable t = io::read_csv(input);
    const int c = t.column(o.ids_column);
    if (c < 0)
      throw UsageError("--ids-column: " + input.string() + " has no column '" + o.ids_column + "'");
    for (const auto& r : t.rows) ids_fields.push_back(r[static_cast<std::size_t>(c)]);
    if (ids_fields.size() != records.size())
      throw Error(input.string() + ": " + std::to_string(ids_fields.size()) + " rows of ids for " +
                  std::to_string(records.size()) + " texts");
  }
  Prepared prep = tokenize(records, tok, max_length, agg, o.skip_unmatched, input.string(),
                           ids_fields, o.ids_column);
  if (prep.n_truncated)
    spdlog::warn(
        "{} text(s) longer than {} tokens were cut to their first {} tokens "
        "(--max-length; the model's n_positions is {})",
        prep.n_truncated, max_length, max_length, cfg.n_positions);
  if (prep.n_unmatched)
    spdlog::warn("{} text(s) without a match for {} left out (--skip-unmatched)", prep.n_unmatched,
                 agg.spec());
  std::int64_t total_tokens = 0, width = 0;
  for (const auto& t : prep.texts) {
    total_tokens += static_cast<std::int64_t>(t.ids.size());
    width = std::max(width, static_cast<std::int64_t>(t.ids.size()));
  }
  info.stop("prepare");

  info.start("load_model");
  torch::InferenceMode guard;
  const auto m = model::Gpt2Model::load(model_dir, {device, dtype});
  info.stop("load_model");
  spdlog::info("{}: {} layers, d_model {}, {} heads on {} ({}); {} texts, {} tokens, {} hook(s)",
               model_dir.string(), cfg.n_layer, cfg.n_embd, cfg.n_head, device.str(),
               model::dtype_name(dtype), prep.texts.size(), total_tokens, todo.size());

  // ---- the forward passes, shard by shard (each saved, so an interruption loses one shard) ----
  info.start("forward");
  fs::create_directories(out);
  const ShardStore store(out / (".partial-" + io::hash_bytes(base_key + "|" + [&] {
                                  std::string s;
                                  for (const auto& h : todo) s += h + ";";
                                  return s;
                                }())));
  model::CaptureOptions copt;
  copt.batch_size = o.batch_size;
  copt.pad_id = tok.eos_id();  // the seeds' pad token (masked out, so any id would do)
  copt.pattern_width = width;
  const std::size_t n = prep.texts.size(), shard = static_cast<std::size_t>(o.shard_size);
  const std::size_t n_shards = (n + shard - 1) / shard;
  std::vector<HookOutputs> shards(n_shards);
  report::Progress progress("capture", n, true);
  std::size_t resumed = 0;
  try {
    for (std::size_t s = 0; s < n_shards; ++s) {
      const std::size_t begin = s * shard, end = std::min(n, begin + shard);
      if (store.load(s, todo, shards[s])) {
        ++resumed;
        progress.advance(end - begin);
        continue;
      }
      const std::vector<model::CaptureText> part(
          prep.texts.begin() + static_cast<std::ptrdiff_t>(begin),
          prep.texts.begin() + static_cast<std::ptrdiff_t>(end));
      shards[s] = model::capture(m, part, todo, agg, copt, [&](std::size_t k) {
        report::check_interrupted();
        progress.advance(k);
      });
      if (n_shards > 1) store.save(s, shards[s]);
    }
  } catch (const report::Interrupted&) {
    progress.finish();
    if (fs::exists(store.dir()))
      spdlog::warn(
          "interrupted; finished shards are kept in {}: run the same command again to "
          "resume",
          store.dir().string());
    throw;
  }
  progress.finish();
  info.stop("forward");
  if (resumed) spdlog::info("resumed: {} of {} shard(s) were already done", resumed, n_shards);

  // ---- results: hook files, labels, tokens, run.json (last: it marks the hooks valid) ----
  info.start("write");
  HookOutputs results = concat_shards(shards, todo);
  nlohmann::json cache_hooks = nlohmann::json::object();
  for (const auto& [h, e] : cached.items())  // still valid: same model, input and options
    if (std::find(todo.begin(), todo.end(), h) == todo.end()) cache_hooks[h] = e;
  nlohmann::json hook_summary = nlohmann::json::object();
  const std::map<std::string, std::string> meta_base = {
      {"aggregation", agg.spec()}, {"model", model_dir.string()}, {"producer", "actlens capture"}};
  for (const auto& h : todo) {
    auto meta = meta_base;
    meta["hook"] = h;
    const auto files = write_hook_output(out, h, results.at(h), o.format, meta);
    cache_hooks[h] = {{"key", hook_key(h)}, {"files", files}};
  }
  for (const auto& h : hooks) {
    std::vector<std::int64_t> shape = {agg.kind == model::Aggregation::Kind::All
                                           ? total_tokens
                                           : static_cast<std::int64_t>(prep.texts.size())};
    for (auto d : model::hook_row_shape(h, cfg, width)) shape.push_back(d);
    hook_summary[h] = {{"files", cache_hooks[h]["files"]}, {"shape", shape}};
  }
  {
    std::vector<std::vector<std::string>> rows;
    for (std::size_t i = 0; i < n; ++i) {
      const auto& r = records[prep.record[i]];
      rows.push_back({std::to_string(prep.record[i]), r.label, r.text,
                      std::to_string(prep.texts[i].ids.size()), prep.truncated[i] ? "1" : "0"});
    }
    report::write_csv(out / "labels.csv", {"index", "label", "text", "n_tokens", "truncated"},
                      rows);
  }
  {
    nlohmann::json t;
    t["eos_id"] = tok.eos_id();
    t["pad_id"] = tok.eos_id();
    t["max_length"] = max_length;
    t["padding"] = "right";
    auto& arr = t["texts"] = nlohmann::json::array();
    for (std::size_t i = 0; i < n; ++i) {
      nlohmann::json e = {{"index", prep.record[i]}, {"ids", prep.texts[i].ids}};
      if (agg.kind == model::Aggregation::Kind::Token ||
          agg.kind == model::Aggregation::Kind::Position)
        e["match"] = {prep.texts[i].match.begin, prep.texts[i].match.length};
      arr.push_back(std::move(e));
    }
    report::write_json(out / "tokens.json", t);
  }
  info.stop("write");
  const double fwd = info.seconds("forward");
  info.options() = {{"model", model_dir.string()},
                    {"tokenizer", tok_dir.string()},
                    {"input", input.string()},
                    {"text_column", o.text_column},
                    {"label_column", o.label_column},
                    {"ids_column", o.ids_column},
                    {"hooks", o.hooks},
                    {"layers", o.layers},
                    {"aggregate", agg.spec()},
                    {"format", o.format},
                    {"batch_size", o.batch_size},
                    {"max_length", max_length},
                    {"device", device.str()},
                    {"dtype", model::dtype_name(dtype)},
                    {"threads", at::get_num_threads()},
                    {"skip_unmatched", o.skip_unmatched},
                    {"shard_size", o.shard_size}};
  info.summary() = {{"n_texts", n},
                    {"n_tokens", total_tokens},
                    {"truncated", prep.n_truncated},
                    {"unmatched_skipped", prep.n_unmatched},
                    {"model", cfg.to_json()},
                    {"hooks", hook_summary},
                    {"computed", todo},
                    {"tokens_per_second", fwd > 0 ? static_cast<double>(total_tokens) / fwd : 0.0},
                    {"onednn_sgemm", model::affine_uses_onednn()},
                    {"libtorch", TORCH_VERSION},
                    {"cache", {{"key", base_key}, {"parts", key_parts}, {"hooks", cache_hooks}}}};
  info.write(out);
  store.remove();
  // Files of an earlier run that are no longer described by run.json (other input or options)
  // would be stale next to the new labels.csv: remove them.
  std::set<std::string> keep;
  for (const auto& [h, e] : cache_hooks.items())
    for (const auto& f : e["files"]) keep.insert(f.get<std::string>());
  const nlohmann::json before_hooks = before.value("hooks", nlohmann::json::object());
  for (const auto& [h, e] : before_hooks.items()) {
    const nlohmann::json files = e.value("files", nlohmann::json::array());
    for (const auto& f : files)
      if (f.is_string() && !keep.count(f.get<std::string>()) &&
          f.get<std::string>().find('/') == std::string::npos) {
        std::error_code ec;
        fs::remove(out / f.get<std::string>(), ec);
      }
  }
  spdlog::info(
      "wrote {} hook file(s), labels.csv, tokens.json and run.json to {} ({:.1f} s "
      "forward, {:.0f} tokens/s)",
      todo.size(), out.string(), fwd, fwd > 0 ? static_cast<double>(total_tokens) / fwd : 0.0);
  return 0;
}

}  // namespace

Runner register_capture(CLI::App& app) {
  auto o = std::make_shared<CaptureOptions>();
  auto* sub = app.add_subcommand(
      "capture",
      "Run a Hugging Face GPT-2 model on texts and save activations at TransformerLens hook "
      "points, one row per text (or per token), as safetensors or .npy");
  add_config_option(*sub);
  sub->add_option("--model", o->model,
                  "Hugging Face GPT-2 folder: config.json + model.safetensors or "
                  "pytorch_model.bin (gpt2, gpt2-medium/-large/-xl, or any GPT-2-shaped model)")
      ->required();
  sub->add_option("--input", o->input,
                  "Texts: .csv (header with a text column and optionally a label column), .jsonl "
                  "(objects or strings) or .txt (one text per line)")
      ->required();
  sub->add_option("--text-column", o->text_column, "Column/key of the text in .csv/.jsonl")
      ->capture_default_str();
  sub->add_option("--label-column", o->label_column,
                  "Column/key of the label (optional in the input; copied to labels.csv)")
      ->capture_default_str();
  sub->add_option("--ids-column", o->ids_column,
                  "Take each text's token ids from this CSV column (space-separated, e.g. the "
                  "`ids` of `actlens corpus filter --window`) instead of tokenizing its text");
  sub->add_option("--tokenizer", o->tokenizer,
                  "Folder with vocab.json + merges.txt (or encoder.json + vocab.bpe); default: "
                  "the --model folder");
  sub->add_option(
         "--hooks", o->hooks,
         "Hook points, TransformerLens names, comma-separated or repeated; globs allowed: "
         "hook_embed, hook_pos_embed, blocks.L.{hook_resid_pre, attn.hook_pattern, "
         "hook_attn_out, hook_resid_mid, mlp.hook_pre, mlp.hook_post, hook_mlp_out, "
         "hook_resid_post}, ln_final.hook_normalized, hook_final. Hugging Face's "
         "hidden_states[i] is blocks.(i-1).hook_resid_post (i >= 1, last one: hook_final); "
         "the GED seed's mlp.c_fc output is blocks.L.mlp.hook_pre")
      ->capture_default_str();
  sub->add_option("--layers", o->layers,
                  "Keep block hooks of these layers only: all, 8, 0-11, 3,5,7")
      ->capture_default_str();
  sub->add_option("--aggregate", o->aggregate,
                  "Per text: final (last token, as the seeds), mean, max, sum (over its tokens), "
                  "all (every token; ragged, with offsets), token:WORD[,WORD...] (the first "
                  "occurrence of any word, as the GED seed's ' him'/' her'), position:N (the "
                  "token at index N, as the GED seed's test windows: position:5)")
      ->capture_default_str();
  sub->add_option("--out", o->out, "Output folder (also the cache: reused when up to date)")
      ->capture_default_str();
  sub->add_option("--format", o->format, "safetensors (key 'activations') or npy")
      ->capture_default_str();
  sub->add_option("--batch-size", o->batch_size,
                  "Texts per forward pass (sorted by length; results do not depend on it)")
      ->capture_default_str();
  sub->add_option("--max-length", o->max_length,
                  "Cut texts to this many tokens (with a warning); 0 = the model's n_positions")
      ->capture_default_str();
  sub->add_option("--device", o->device, "cpu, cuda or cuda:N (CUDA needs scripts/build-cuda)")
      ->capture_default_str();
  sub->add_option("--dtype", o->dtype,
                  "Model weights and compute: float32, bfloat16, float16 (CUDA only); outputs "
                  "are float32")
      ->capture_default_str();
  add_threads_option(*sub, o->threads, "CPU threads (0 = all cores)")->capture_default_str();
  sub->add_flag("--force", o->force, "Recompute every hook even if the output is up to date");
  sub->add_flag("--skip-unmatched", o->skip_unmatched,
                "With token:WORD, leave out texts without the word instead of failing");
  sub->add_option("--shard-size", o->shard_size,
                  "Texts per saved shard; an interrupted run resumes from the last whole shard")
      ->capture_default_str();
  return [o]() { return run_capture(*o); };
}

}  // namespace actlens::cli
