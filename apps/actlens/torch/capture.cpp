// actlens capture: GPT-2 activations of texts at TransformerLens hook points, aggregated per
// text, written as one file per hook (seeds pca-gpt2-days and ged-gpt2-him-her capture them with
// Hugging Face in Python). The output folder is a cache: hooks whose file was made from the same
// model, tokenizer, input and options are not recomputed (model/capture_cache.hpp), and an
// interrupted run resumes from the shards it saved (model/capture_store.hpp).
//
// Unlike the other commands, capture does not stage its results in Command::output() and commit
// them with finish(): the folder is updated in place, hook by hook, because it is a cache that
// keeps the still-valid hooks of earlier runs and the shards of an interrupted one. So the run
// uses cmd.start() and cmd.record_options() and writes run.json itself, last (it marks the hooks
// valid); OutputLock keeps two runs out of one folder.
#include <ATen/Parallel.h>

#include <algorithm>
#include <climits>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "actlens/error.hpp"
#include "actlens/io/gpt2_tokenizer.hpp"
#include "actlens/io/json_file.hpp"
#include "actlens/io/text_corpus.hpp"
#include "actlens/model/affine.hpp"
#include "actlens/model/capture.hpp"
#include "actlens/model/capture_cache.hpp"
#include "actlens/model/capture_store.hpp"
#include "actlens/model/capture_texts.hpp"
#include "actlens/model/gpt2.hpp"
#include "actlens/report/interrupt.hpp"
#include "actlens/report/output_dir.hpp"
#include "actlens/report/progress.hpp"
#include "actlens/report/run_info.hpp"
#include "actlens/report/writers.hpp"
#include "cli_common.hpp"
#include "command.hpp"
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
  std::string format = "safetensors";
  int batch_size = 16;
  int max_length = 0;
  std::string device = "cpu", dtype = "float32";
  bool force = false, skip_unmatched = false;
  int shard_size = 2048;
};

// config.json of the --model folder.
model::Gpt2Config read_model_config(const fs::path& model_dir) {
  return model::Gpt2Config::from_folder(model_dir, "is --model a Hugging Face model folder?");
}

// The texts as the model will see them, with the warnings about what was cut or left out.
model::PreparedTexts prepare(const CaptureOptions& o, const std::vector<io::TextRecord>& records,
                             const io::Gpt2Tokenizer& tok, const model::Gpt2Config& cfg,
                             const model::Aggregation& agg, std::size_t max_length) {
  if (tok.vocab_size() > static_cast<std::size_t>(cfg.vocab_size))
    spdlog::warn(
        "the tokenizer has {} tokens but the model's vocab_size is {}; ids beyond it "
        "will be rejected",
        tok.vocab_size(), cfg.vocab_size);
  const auto ids_fields = o.ids_column.empty()
                              ? std::vector<std::string>{}
                              : model::read_ids_column(o.input, o.ids_column, records.size());
  model::PreparedTexts prep = model::prepare_texts(
      records, tok, {max_length, agg, o.skip_unmatched, fs::path(o.input).string(), o.ids_column},
      ids_fields);
  if (prep.n_truncated)
    spdlog::warn(
        "{} text(s) longer than {} tokens were cut to their first {} tokens "
        "(--max-length; the model's n_positions is {})",
        prep.n_truncated, max_length, max_length, cfg.n_positions);
  if (prep.n_unmatched)
    spdlog::warn("{} text(s) without a match for {} left out (--skip-unmatched)", prep.n_unmatched,
                 agg.spec());
  return prep;
}

// The forward passes, shard by shard (each saved, so an interruption loses one shard).
model::ShardedCaptureResult forward(const model::Gpt2Model& m, const model::PreparedTexts& prep,
                                    const std::vector<std::string>& todo,
                                    const model::Aggregation& agg,
                                    const model::CaptureOptions& copt, std::size_t shard_size,
                                    const model::ShardStore& store) {
  report::Progress progress("capture", prep.texts.size(), true);
  try {
    auto r = model::capture_sharded(m, prep.texts, todo, agg, copt, shard_size, store,
                                    [&](std::size_t k) {
                                      report::check_interrupted();
                                      progress.advance(k);
                                    });
    progress.finish();
    return r;
  } catch (const report::Interrupted&) {
    progress.finish();
    if (fs::exists(store.dir()))
      spdlog::warn(
          "interrupted; finished shards are kept in {}: run the same command again to "
          "resume",
          store.dir().string());
    throw;
  }
}

// OUT/<hook>.safetensors|npy of every computed hook (recorded in the cache); returns
// summary.hooks: the files and shape of every requested hook, computed or reused.
nlohmann::json write_hooks(const fs::path& out, const std::string& format,
                           const fs::path& model_dir, const std::vector<std::string>& hooks,
                           const std::vector<std::string>& todo, const model::HookOutputs& outputs,
                           const model::PreparedTexts& prep, const model::Gpt2Config& cfg,
                           const model::Aggregation& agg, model::CaptureCache& cache) {
  const std::map<std::string, std::string> meta_base = {
      {"aggregation", agg.spec()}, {"model", model_dir.string()}, {"producer", "actlens capture"}};
  for (const auto& h : todo) {
    auto meta = meta_base;
    meta["hook"] = h;
    cache.add(h, model::write_hook_output(out, h, outputs.at(h), format, meta));
  }
  nlohmann::json hook_summary = nlohmann::json::object();
  for (const auto& h : hooks) {
    std::vector<std::int64_t> shape = {agg.kind == model::Aggregation::Kind::All
                                           ? prep.n_tokens
                                           : static_cast<std::int64_t>(prep.texts.size())};
    for (auto d : model::hook_row_shape(h, cfg, prep.max_tokens)) shape.push_back(d);
    hook_summary[h] = {{"files", cache.files(h)}, {"shape", shape}};
  }
  return hook_summary;
}

// labels.csv: one row per captured text.
void write_labels(const fs::path& out, const std::vector<io::TextRecord>& records,
                  const model::PreparedTexts& prep) {
  std::vector<std::vector<std::string>> rows;
  for (std::size_t i = 0; i < prep.texts.size(); ++i) {
    const auto& r = records[prep.record[i]];
    rows.push_back({std::to_string(prep.record[i]), r.label, r.text,
                    std::to_string(prep.texts[i].ids.size()), prep.truncated[i] ? "1" : "0"});
  }
  report::write_csv(out / "labels.csv", {"index", "label", "text", "n_tokens", "truncated"}, rows);
}

// tokens.json: every captured text's token ids (and match), as the model saw them; one text a
// line, so a corpus capture stays a file of n_texts lines.
void write_tokens(const fs::path& out, std::int64_t eos_id, std::size_t max_length,
                  const model::Aggregation& agg, const model::PreparedTexts& prep) {
  nlohmann::json t;
  t["eos_id"] = eos_id;
  t["pad_id"] = eos_id;
  t["max_length"] = max_length;
  t["padding"] = "right";
  auto& arr = t["texts"] = nlohmann::json::array();
  for (std::size_t i = 0; i < prep.texts.size(); ++i) {
    nlohmann::json e = {{"index", prep.record[i]}, {"ids", prep.texts[i].ids}};
    if (agg.kind == model::Aggregation::Kind::Token ||
        agg.kind == model::Aggregation::Kind::Position)
      e["match"] = {prep.texts[i].match.begin, prep.texts[i].match.length};
    arr.push_back(std::move(e));
  }
  report::write_json_rows(out / "tokens.json", t, "texts");
}

int run_capture(const CaptureOptions& o, Command& cmd) {
  const model::Aggregation agg = model::Aggregation::parse(o.aggregate);
  const torch::ScalarType dtype = model::parse_dtype(o.dtype);
  const torch::Device device = model::parse_device(o.device);
  model::check_dtype_on_device(dtype, device);

  report::RunInfo& info = cmd.start();
  info.start("prepare");
  const fs::path model_dir = o.model, input = o.input, out = report::clean_output_path(cmd.out());
  const fs::path tok_dir = o.tokenizer.empty() ? model_dir : fs::path(o.tokenizer);
  const model::Gpt2Config cfg = read_model_config(model_dir);
  const int n_layers = static_cast<int>(cfg.n_layer);
  const auto layers =
      o.layers == "all" ? std::vector<int>{} : parse_layers(o.layers, n_layers, "--layers");
  const auto hooks = model::resolve_hooks(o.hooks, n_layers, layers);
  if (o.max_length < 0 || o.max_length > cfg.n_positions)
    throw UsageError("--max-length " + std::to_string(o.max_length) + ": must be 1.." +
                     std::to_string(cfg.n_positions) + " (n_positions of the model); 0 = that");
  const std::size_t max_length =
      static_cast<std::size_t>(o.max_length > 0 ? o.max_length : cfg.n_positions);

  io::TextCorpusOptions tco;
  tco.text_column = o.text_column;
  tco.label_column = o.label_column;
  const auto records = io::read_text_corpus(input, tco);
  if (records.empty()) throw Error(input.string() + ": holds no texts");
  // The cache key: the bytes of everything the results depend on, and the options that change
  // them (its contents must stay as they are, or every existing cache would be recomputed).
  const model::CaptureKey key =
      model::capture_key(model_dir, tok_dir, input,
                         {o.text_column, o.label_column, o.ids_column, agg.spec(), max_length,
                          model::dtype_name(dtype), o.skip_unmatched});
  for (std::size_t i = 0; i < key.weights.size(); ++i)
    info.add_input("weights", key.weights[i], "model weights", fs::file_size(key.weights[i]),
                   key.parts["weights"][i].get<std::string>());
  info.add_input("texts", input, std::to_string(records.size()) + " texts", fs::file_size(input),
                 key.parts["input"].get<std::string>());

  // One capture at a time per cache folder (two would each list only their own hooks), and
  // never into a folder this run reads.
  report::check_not_an_input(out);
  const report::OutputLock lock(out);
  model::CaptureCache cache = model::CaptureCache::open(out, key, o.force);
  const std::vector<std::string> todo = cache.stale(hooks);
  if (todo.empty()) {
    spdlog::info(
        "all {} hook(s) are up to date in {} (same model, tokenizer, input and result options); "
        "--batch-size, --shard-size and --threads change results only by float32 rounding and "
        "are ignored for the cache key; --force recomputes",
        hooks.size(), out.string());
    return 0;
  }
  if (todo.size() < hooks.size())
    spdlog::info(
        "{} of {} hook(s) reused from {} (--batch-size, --shard-size and --threads are "
        "ignored for the cache key)",
        hooks.size() - todo.size(), hooks.size(), out.string());

  const auto tok = io::Gpt2Tokenizer::from_folder(tok_dir);
  const model::PreparedTexts prep = prepare(o, records, tok, cfg, agg, max_length);
  info.stop("prepare");

  info.start("load_model");
  torch::InferenceMode guard;
  const auto m = model::Gpt2Model::load(model_dir, {device, dtype});
  info.stop("load_model");
  spdlog::info("{}: {} layers, d_model {}, {} heads on {} ({}); {} texts, {} tokens, {} hook(s)",
               model_dir.string(), cfg.n_layer, cfg.n_embd, cfg.n_head, device.str(),
               model::dtype_name(dtype), prep.texts.size(), prep.n_tokens, todo.size());

  info.start("forward");
  fs::create_directories(out);
  // Shard i holds texts [i * shard_size, ...): shards of another --shard-size are other texts, so
  // they live in their own folder (a resume with a new --shard-size starts over, never mixes).
  const model::ShardStore store(out /
                                (key.partial_dir(todo) + "-by" + std::to_string(o.shard_size)));
  model::CaptureOptions copt;
  copt.batch_size = o.batch_size;
  copt.pad_id = tok.eos_id();  // the seeds' pad token (masked out, so any id would do)
  copt.pattern_width = prep.max_tokens;
  model::ShardedCaptureResult fw =
      forward(m, prep, todo, agg, copt, static_cast<std::size_t>(o.shard_size), store);
  info.stop("forward");
  if (fw.resumed)
    spdlog::info("resumed: {} of {} shard(s) were already done", fw.resumed, fw.n_shards);

  // ---- results: hook files, labels, tokens, run.json (last: it marks the hooks valid) ----
  info.start("write");
  const nlohmann::json hook_summary =
      write_hooks(out, o.format, model_dir, hooks, todo, fw.outputs, prep, cfg, agg, cache);
  write_labels(out, records, prep);
  write_tokens(out, tok.eos_id(), max_length, agg, prep);
  info.stop("write");
  const double fwd = info.seconds("forward");
  const double tps = fwd > 0 ? static_cast<double>(prep.n_tokens) / fwd : 0.0;
  cmd.record_options();
  info.section("resolved") = {
      {"tokenizer", tok_dir.string()},     {"aggregate", agg.spec()},
      {"max_length", max_length},          {"device", device.str()},
      {"dtype", model::dtype_name(dtype)}, {"threads", at::get_num_threads()}};
  info.summary() = {{"n_texts", prep.texts.size()},
                    {"n_tokens", prep.n_tokens},
                    {"truncated", prep.n_truncated},
                    {"unmatched_skipped", prep.n_unmatched},
                    {"model", cfg.to_json()},
                    {"hooks", hook_summary},
                    {"computed", todo},
                    {"tokens_per_second", tps},
                    {"onednn_sgemm", model::affine_uses_onednn()},
                    {"libtorch", TORCH_VERSION},
                    {"cache", cache.summary()}};
  info.write(out);
  store.remove();
  cache.remove_unlisted_files();
  spdlog::info(
      "wrote {} hook file(s), labels.csv, tokens.json and run.json to {} ({:.1f} s "
      "forward, {:.0f} tokens/s)",
      todo.size(), out.string(), fwd, tps);
  return 0;
}

}  // namespace

Runner register_capture(CLI::App& app) {
  auto o = std::make_shared<CaptureOptions>();
  auto cmd = Command::add(
      app, {"capture",
            "Run a Hugging Face GPT-2 model on texts and save activations at TransformerLens hook "
            "points, one row per text (or per token), as safetensors or .npy",
            "results/capture", "Output folder (also the cache: reused when up to date)",
            /*figures=*/false});
  CLI::App* sub = &cmd->app();
  sub->add_option("--model", o->model,
                  "Hugging Face GPT-2 folder: config.json + model.safetensors or "
                  "pytorch_model.bin (gpt2, gpt2-medium/-large/-xl, or any GPT-2-shaped model)")
      ->required();
  sub->add_option("--input", o->input,
                  "Texts: .csv (header with a text column and optionally a label column), .jsonl "
                  "(objects or strings) or .txt (one text per line); record i is line (data row) "
                  "i+1, whitespace-only texts are kept, an empty one is an error")
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
  sub->add_option("--format", o->format, "safetensors (key 'activations') or npy")
      ->check(one_of({"safetensors", "npy"}))
      ->capture_default_str();
  sub->add_option("--batch-size", o->batch_size,
                  "Texts per forward pass (sorted by length). It changes results only by float32 "
                  "rounding (about 1e-7 relative: other padded shapes), so it is ignored for the "
                  "cache key: another value reuses an up-to-date --out")
      ->check(int_range(1, INT_MAX))
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
  sub->add_flag("--force", o->force, "Recompute every hook even if the output is up to date");
  sub->add_flag("--skip-unmatched", o->skip_unmatched,
                "With token:WORD, leave out texts without the word instead of failing");
  sub->add_option("--shard-size", o->shard_size,
                  "Texts per saved shard; an interrupted run resumes from the last whole shard "
                  "(ignored for the cache key, like --batch-size)")
      ->check(int_range(1, INT_MAX))
      ->capture_default_str();
  return cmd->runner([o](Command& c) { return run_capture(*o, c); });
}

}  // namespace actlens::cli
