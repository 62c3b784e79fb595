// actlens steer: add a steering vector, times each multiplier, at every position of the chosen
// hooks and report how the next-token distribution moves (seed belief-geometry-steering). Two
// modes (steer_options.hpp): belief states of a process model (--process, or the process its
// checkpoint records) and contrastive text sets on GPT-2 (steer_gpt2.cpp).
#include <cstdio>
#include <filesystem>
#include <memory>
#include <tuple>

#include <spdlog/spdlog.h>

#include "actlens/error.hpp"
#include "actlens/io/json_file.hpp"
#include "actlens/io/npy.hpp"
#include "actlens/model/hooks.hpp"
#include "actlens/model/steering.hpp"
#include "actlens/report/output_dir.hpp"
#include "actlens/report/run_info.hpp"
#include "actlens/report/writers.hpp"
#include "belief_data.hpp"
#include "cli_common.hpp"
#include "command.hpp"
#include "steer_options.hpp"
#include "torch_commands.hpp"

namespace actlens::cli {
namespace fs = std::filesystem;
namespace {

// A checkpoint folder written by `actlens train` (TransformerLens config) rather than a Hugging
// Face GPT-2 folder.
bool is_hooked_transformer(const std::string& dir) {
  const fs::path cfg = fs::path(dir) / "config.json";
  std::error_code ec;
  if (!fs::exists(cfg, ec)) return false;
  // A FIFO, a device, a folder or a huge file is refused here with one line; JSON that does
  // not parse is reported by the loader that reads it next.
  const std::string text = io::read_text_file(cfg, "a config.json file", io::kMaxJsonBytes);
  try {
    const auto j = io::parse_json_text(text, cfg.string());
    return j.is_object() && j.contains("d_model") && !j.contains("n_embd");
  } catch (const Error&) {
    return false;
  }
}

// The seed's four bars per multiplier m, as steering.csv rows, run.json rows and the table on
// stdout: A and B unsteered, A pushed towards B (+m), B pushed towards A (-m).
struct SteerTable {
  std::vector<std::vector<std::string>> csv;
  nlohmann::json json = nlohmann::json::array();
  std::string text;
};

SteerTable steer_table(const BeliefData& d, const std::vector<std::string>& hooks,
                       const torch::Tensor& v, const torch::Tensor& pa, const torch::Tensor& pb,
                       const std::string& na, const std::string& nb,
                       const std::vector<double>& multipliers) {
  const auto& sym = d.process.symbol_names;
  SteerTable t;
  const torch::Tensor base_a = model::mean_next_token_probs(d.model, pa, hooks, v, 0.0);
  const torch::Tensor base_b = model::mean_next_token_probs(d.model, pb, hooks, v, 0.0);
  t.text = fmt::format("{:>10}  {:<28}", "multiplier", "condition");
  for (const auto& s : sym) t.text += fmt::format("  {:>8}", "P(" + s + ")");
  t.text += "\n";
  for (double m : multipliers) {
    const torch::Tensor steer_a = model::mean_next_token_probs(d.model, pa, hooks, v, m);
    const torch::Tensor steer_b = model::mean_next_token_probs(d.model, pb, hooks, v, -m);
    const std::vector<
        std::tuple<std::string, std::string, double, const torch::Tensor*, std::int64_t>>
        conds = {{na, na, 0.0, &base_a, pa.size(0)},
                 {nb, nb, 0.0, &base_b, pb.size(0)},
                 {na + " -> " + nb, na, m, &steer_a, pa.size(0)},
                 {nb + " -> " + na, nb, -m, &steer_b, pb.size(0)}};
    for (const auto& [cond, ends, added, probs, n] : conds) {
      std::vector<std::string> row = {report::format_double(m), cond, ends,
                                      report::format_double(added), std::to_string(n)};
      nlohmann::json jr = {{"multiplier", m},
                           {"condition", cond},
                           {"prompts_end_in", ends},
                           {"added_multiplier", added},
                           {"n_prompts", n}};
      t.text += fmt::format("{:>10}  {:<28}", report::format_double(m), cond);
      for (std::size_t s = 0; s < sym.size(); ++s) {
        const double p = (*probs)[static_cast<std::int64_t>(s)].item<double>();
        row.push_back(report::format_double(p));
        jr["p"][sym[s]] = p;
        t.text += fmt::format("  {:>8.4f}", p);
      }
      t.text += "\n";
      t.csv.push_back(std::move(row));
      t.json.push_back(std::move(jr));
    }
  }
  return t;
}

// Hooks to steer at: residual-width activations only.
std::vector<std::string> belief_hooks(const SteerOptions& o, int n_layers) {
  auto hooks =
      model::resolve_hooks(o.hooks, n_layers, parse_layers(o.layers, n_layers, "--layers"));
  for (const auto& h : hooks)
    if (h.find("hook_pattern") != std::string::npos || h.find("mlp.hook_") != std::string::npos)
      throw UsageError("--hooks: " + h +
                       " is not a residual-width activation; steer resid_pre/mid/post, "
                       "attn_out, mlp_out or the embeddings");
  return hooks;
}

int run_belief_steer(const SteerOptions& o, Command& cmd) {
  report::RunInfo& info = cmd.start();
  info.start("load");
  BeliefData d = load_belief_data(o.model, o.process, o.depth, o.device);
  const auto& cfg = d.model.config();
  const auto hooks = belief_hooks(o, static_cast<int>(cfg.n_layers));
  if (o.from.empty() || o.to.empty())
    throw UsageError(
        "--from and --to: name the two beliefs (e.g. --from 'State T' --to 'State F')");
  const int a = resolve_belief(d.tree, o.from, "--from");
  const int b = resolve_belief(d.tree, o.to, "--to");
  if (a == b) throw UsageError("--from and --to name the same belief");
  const int length = o.length > 0 ? o.length : static_cast<int>(cfg.n_ctx);
  if (length > cfg.n_ctx)
    throw UsageError("--length " + std::to_string(length) + ": above the model's n_ctx " +
                     std::to_string(cfg.n_ctx));
  info.stop("load");
  report::OutputDir& out = cmd.output();  // validated before the forward passes

  // Steering vector per hook: mean over every (input, position) whose belief is `to` minus the
  // mean over those whose belief is `from` (the seed's organize_activations(all_positions=True)).
  info.start("vectors");
  const torch::Tensor tokens = token_tensor(d.inputs.tokens);
  const auto diff = model::label_mean_difference(run_with_cache(d.model, tokens, hooks),
                                                 token_tensor(d.inputs.belief_indices), a, b);
  if (diff.n_from == 0 || diff.n_to == 0)
    throw Error("belief '" + (diff.n_from == 0 ? o.from : o.to) +
                "' occurs at no position of the " + std::to_string(tokens.size(0)) +
                " inputs of length " + std::to_string(cfg.n_ctx) +
                "; pick a belief that the inputs reach (`actlens process info` lists them)");
  const torch::Tensor& v = diff.vectors;  // [n_hooks, d] float32
  info.stop("vectors");

  const torch::Tensor pa = model::prompts_ending_in(d.inputs, length, a);
  const torch::Tensor pb = model::prompts_ending_in(d.inputs, length, b);
  if (!pa.defined() || !pb.defined())
    throw Error("no input cut to --length " + std::to_string(length) + " ends in belief '" +
                (pa.defined() ? o.to : o.from) +
                "'; choose another --length or belief (`actlens beliefs` writes where each "
                "belief occurs)");

  info.start("steer");
  const std::string na = d.tree.unique_names[static_cast<std::size_t>(a)];
  const std::string nb = d.tree.unique_names[static_cast<std::size_t>(b)];
  const SteerTable table = steer_table(d, hooks, v, pa, pb, na, nb, o.multipliers);
  info.stop("steer");

  std::vector<std::string> header = {"multiplier", "condition", "prompts_end_in", "added",
                                     "n_prompts"};
  for (const auto& s : d.process.symbol_names) header.push_back("p_" + s);
  report::write_csv(out.path() / "steering.csv", header, table.csv);
  write_steering_vectors(out.path() / "steering_vectors.npy", v);
  info.section("resolved") = {{"mode", "belief"}, {"process", d.process_source},
                              {"hooks", hooks},   {"from", na},
                              {"to", nb},         {"from_index", a},
                              {"to_index", b},    {"length", length},
                              {"depth", d.depth}};
  auto& sm = info.summary();
  sm["table"] = table.json;
  sm["positions_from"] = diff.n_from;
  sm["positions_to"] = diff.n_to;
  std::vector<double> norms;
  for (std::int64_t k = 0; k < v.size(0); ++k) norms.push_back(v[k].norm().item<double>());
  sm["vector_norms"] = norms;
  spdlog::info("steering {} <-> {} over {} hooks", na, nb, hooks.size());
  const int rc = cmd.finish();
  std::fputs(table.text.c_str(), stdout);  // after the commit, as the table reports a saved run
  return rc;
}

}  // namespace

void write_steering_vectors(const fs::path& file, const torch::Tensor& vectors) {
  const torch::Tensor c = vectors.to(torch::kCPU, torch::kFloat32).contiguous();
  io::write_npy(file, io::make_array(io::RowMatrixF(Eigen::Map<const io::RowMatrixF>(
                          c.data_ptr<float>(), c.size(0), c.size(1)))));
}

Runner register_steer(CLI::App& app) {
  auto o = std::make_shared<SteerOptions>();
  // One command, two modes: the model folder (or --process) picks the runner.
  auto cmd = Command::add(
      app, {"steer",
            "Add a steering vector (belief-state or contrastive mean difference) at every "
            "position of chosen hooks and report the next-token distribution with and without it",
            "results/steer"});
  CLI::App* sub = &cmd->app();
  sub->add_option("--model", o->model,
                  "Model folder: an `actlens train` checkpoint (belief mode) or a Hugging Face "
                  "GPT-2 folder (text mode)")
      ->required();
  sub->add_option("--hooks", o->hooks,
                  "Hook patterns to steer at (TransformerLens names, globs allowed)")
      ->delimiter(',')
      ->capture_default_str();
  sub->add_option("--layers", o->layers,
                  "Keep block hooks of these layers only (\"all\", 0-3, 1,2)")
      ->capture_default_str();
  sub->add_option("--multipliers", o->multipliers,
                  "Multipliers of the vector, comma-separated (the seed uses 1)")
      ->delimiter(',')
      ->capture_default_str();
  sub->add_option("--device", o->device, "cpu, cuda or cuda:N")->capture_default_str();
  // belief mode
  sub->add_option("--process", o->process,
                  "Belief mode: built-in process or process JSON (default: the one the "
                  "checkpoint was trained on)");
  sub->add_option("--from", o->from,
                  "Belief mode: the belief the prompts end in: a name ('State T', or just T) or an "
                  "index written #N (a bare number must not be both a state name and an index)");
  sub->add_option("--to", o->to,
                  "Belief mode: the belief to steer towards (spelled as for --from)");
  sub->add_option("--depth", o->depth, "Belief mode: MSP depth (0 = n_ctx + 1)")
      ->capture_default_str();
  sub->add_option("--length", o->length,
                  "Belief mode: prompt length; inputs cut to it (0 = n_ctx, the seed's first "
                  "experiment; 2 = its intermediate one)")
      ->capture_default_str();
  // text mode
  sub->add_option("--positive", o->positive,
                  "Text mode: texts of the target concept (.txt/.csv/.jsonl, as capture --input)");
  sub->add_option("--negative", o->negative, "Text mode: contrasting texts");
  sub->add_option("--text-column", o->text_column, "Text mode: text column of .csv/.jsonl")
      ->capture_default_str();
  sub->add_option("--aggregate", o->aggregate,
                  "Text mode: which positions of a text enter the means (mean, final, ...)")
      ->capture_default_str();
  sub->add_option("--vector", o->vector,
                  "Text mode: steering vector .npy, [d] for every hook or [n_hooks, d]");
  sub->add_option("--prompt", o->prompts, "Text mode: a prompt (repeatable)");
  sub->add_option("--prompts-file", o->prompts_file, "Text mode: prompts, one per line/record");
  sub->add_option("--tokenizer", o->tokenizer, "Text mode: tokenizer folder (default: --model)");
  sub->add_option("--top-k", o->top_k, "Text mode: next tokens listed")->capture_default_str();
  sub->add_option("--batch-size", o->batch_size, "Text mode: texts per forward pass")
      ->check(int_range(1, 1 << 30))
      ->capture_default_str();
  sub->add_option("--dtype", o->dtype, "Text mode: float32, bfloat16 or float16")
      ->capture_default_str();
  return cmd->runner([o](Command& c) {
    if (!o->process.empty() || is_hooked_transformer(o->model)) return run_belief_steer(*o, c);
    return run_gpt2_steer(*o, c);
  });
}

}  // namespace actlens::cli
