// actlens steer: add a steering vector, times each multiplier, at every position of the chosen
// hooks and report how the next-token distribution moves (seed belief-geometry-steering). Two
// modes (steer_options.hpp): belief states of a process model (--process, or the process its
// checkpoint records) and contrastive text sets on GPT-2 (steer_gpt2.cpp).
#include <filesystem>
#include <memory>

#include <spdlog/spdlog.h>

#include "actlens/core/error.hpp"
#include "actlens/io/json_file.hpp"
#include "actlens/io/npy.hpp"
#include "actlens/model/hooks.hpp"
#include "actlens/report/output_dir.hpp"
#include "actlens/report/run_info.hpp"
#include "actlens/report/writers.hpp"
#include "belief_data.hpp"
#include "cli_common.hpp"
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

// Mean next-token distribution at the last position over `prompts` [n, L], with `v` [n_hooks,
// d] times `multiplier` added at every position of every hook.
torch::Tensor next_token_probs(const model::HookedTransformer& m, const torch::Tensor& prompts,
                               const std::vector<std::string>& hooks, const torch::Tensor& v,
                               double multiplier) {
  model::Hooks h;
  if (multiplier != 0.0)
    for (std::size_t k = 0; k < hooks.size(); ++k) {
      const torch::Tensor add =
          (v[static_cast<std::int64_t>(k)] * multiplier).to(m.device(), torch::kFloat32);
      h.add_editor(hooks[k], [add](const torch::Tensor& x) { return x + add; });
    }
  torch::InferenceMode guard;
  const torch::Tensor logits = m.forward(prompts.to(m.device()), h);
  return logits.select(1, logits.size(1) - 1).softmax(-1).mean(0).to(torch::kCPU, torch::kFloat64);
}

// Inputs cut to `length` tokens whose belief after the last token is `belief`, without
// duplicates (several inputs share a prefix).
torch::Tensor prompts_ending_in(const core::MspInputs& in, int length, int belief) {
  std::vector<std::vector<std::int64_t>> seen;
  std::vector<std::int64_t> flat;
  for (Eigen::Index r = 0; r < in.tokens.rows(); ++r) {
    if (in.belief_indices(r, length - 1) != belief) continue;
    std::vector<std::int64_t> p(in.tokens.row(r).data(), in.tokens.row(r).data() + length);
    if (std::find(seen.begin(), seen.end(), p) != seen.end()) continue;
    flat.insert(flat.end(), p.begin(), p.end());
    seen.push_back(std::move(p));
  }
  if (seen.empty()) return {};
  return torch::tensor(flat, torch::kInt64).view({static_cast<std::int64_t>(seen.size()), length});
}

int run_belief_steer(const SteerOptions& o) {
  set_threads(o.threads);
  set_torch_threads(o.threads);
  report::RunInfo info("steer", command_line(), ACTLENS_VERSION);
  info.start("load");
  BeliefData d = load_belief_data(o.model, o.process, o.depth, o.device);
  const auto& cfg = d.model.config();
  const int n_layers = static_cast<int>(cfg.n_layers);
  const auto hooks =
      model::resolve_hooks(o.hooks, n_layers, parse_layers(o.layers, n_layers, "--layers"));
  for (const auto& h : hooks)
    if (h.find("hook_pattern") != std::string::npos || h.find("mlp.hook_") != std::string::npos)
      throw UsageError("--hooks: " + h +
                       " is not a residual-width activation; steer resid_pre/mid/post, "
                       "attn_out, mlp_out or the embeddings");
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

  // Steering vector per hook: mean over every (input, position) whose belief is `to` minus the
  // mean over those whose belief is `from` (the seed's organize_activations(all_positions=True)).
  info.start("vectors");
  const torch::Tensor tokens = token_tensor(d.inputs.tokens);
  const auto acts = run_with_cache(d.model, tokens, hooks);
  const torch::Tensor idx =
      torch::from_blob(const_cast<std::int64_t*>(d.inputs.belief_indices.data()),
                       {d.inputs.belief_indices.rows(), d.inputs.belief_indices.cols()},
                       torch::kInt64)
          .clone()
          .flatten();
  const torch::Tensor mask_a = idx.eq(a), mask_b = idx.eq(b);
  const auto n_a = mask_a.sum().item<std::int64_t>(), n_b = mask_b.sum().item<std::int64_t>();
  if (n_a == 0 || n_b == 0)
    throw Error("belief '" + (n_a == 0 ? o.from : o.to) + "' occurs at no position of the " +
                std::to_string(tokens.size(0)) + " inputs of length " + std::to_string(cfg.n_ctx) +
                "; pick a belief that the inputs reach (`actlens process info` lists them)");
  std::vector<torch::Tensor> rows;
  for (const auto& act : acts) {
    const torch::Tensor flat = act.reshape({-1, act.size(-1)}).to(torch::kFloat64);
    rows.push_back(flat.index({mask_b}).mean(0) - flat.index({mask_a}).mean(0));
  }
  const torch::Tensor v = torch::stack(rows).to(torch::kFloat32);  // [n_hooks, d]
  info.stop("vectors");

  const torch::Tensor pa = prompts_ending_in(d.inputs, length, a);
  const torch::Tensor pb = prompts_ending_in(d.inputs, length, b);
  if (!pa.defined() || !pb.defined())
    throw Error("no input cut to --length " + std::to_string(length) + " ends in belief '" +
                (pa.defined() ? o.to : o.from) +
                "'; choose another --length or belief (`actlens beliefs` writes where each "
                "belief occurs)");

  // The seed's four bars per multiplier: A and B unsteered, A pushed towards B (+m), B pushed
  // towards A (-m).
  info.start("steer");
  const std::string na = d.tree.unique_names[static_cast<std::size_t>(a)];
  const std::string nb = d.tree.unique_names[static_cast<std::size_t>(b)];
  const auto& sym = d.process.symbol_names;
  std::vector<std::string> header = {"multiplier", "condition", "prompts_end_in", "added",
                                     "n_prompts"};
  for (const auto& s : sym) header.push_back("p_" + s);
  std::vector<std::vector<std::string>> rows_csv;
  nlohmann::json table = nlohmann::json::array();
  const torch::Tensor base_a = next_token_probs(d.model, pa, hooks, v, 0.0);
  const torch::Tensor base_b = next_token_probs(d.model, pb, hooks, v, 0.0);
  std::string text = fmt::format("{:>10}  {:<28}", "multiplier", "condition");
  for (const auto& s : sym) text += fmt::format("  {:>8}", "P(" + s + ")");
  text += "\n";
  for (double m : o.multipliers) {
    const torch::Tensor steer_a = next_token_probs(d.model, pa, hooks, v, m);
    const torch::Tensor steer_b = next_token_probs(d.model, pb, hooks, v, -m);
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
      text += fmt::format("{:>10}  {:<28}", report::format_double(m), cond);
      for (std::size_t s = 0; s < sym.size(); ++s) {
        const double p = (*probs)[static_cast<std::int64_t>(s)].item<double>();
        row.push_back(report::format_double(p));
        jr["p"][sym[s]] = p;
        text += fmt::format("  {:>8.4f}", p);
      }
      text += "\n";
      rows_csv.push_back(std::move(row));
      table.push_back(std::move(jr));
    }
  }
  info.stop("steer");

  report::OutputDir out(o.out, "steer");
  report::write_csv(out.path() / "steering.csv", header, rows_csv);
  const torch::Tensor vc = v.contiguous();
  io::write_npy(out.path() / "steering_vectors.npy",
                io::make_array(io::RowMatrixF(Eigen::Map<const io::RowMatrixF>(
                    vc.data_ptr<float>(), vc.size(0), vc.size(1)))));
  auto& opt = info.options();
  opt["mode"] = "belief";
  opt["model"] = o.model;
  opt["process"] = d.process_source;
  opt["hooks"] = hooks;
  opt["from"] = na;
  opt["to"] = nb;
  opt["from_index"] = a;
  opt["to_index"] = b;
  opt["length"] = length;
  opt["multipliers"] = o.multipliers;
  opt["depth"] = d.depth;
  auto& sm = info.summary();
  sm["table"] = table;
  sm["positions_from"] = n_a;
  sm["positions_to"] = n_b;
  std::vector<double> norms;
  for (std::int64_t k = 0; k < v.size(0); ++k) norms.push_back(v[k].norm().item<double>());
  sm["vector_norms"] = norms;
  draw_figures("steer", out.path(), out.target(), o.figures, info);
  info.write(out.path());
  out.commit();
  std::fputs(text.c_str(), stdout);
  spdlog::info("steering {} <-> {} over {} hooks; results in {}", na, nb, hooks.size(),
               out.target().string());
  return 0;
}

}  // namespace

Runner register_steer(CLI::App& app) {
  auto o = std::make_shared<SteerOptions>();
  auto* sub = app.add_subcommand(
      "steer",
      "Add a steering vector (belief-state or contrastive mean difference) at every position of "
      "chosen hooks and report the next-token distribution with and without it");
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
  sub->add_option("-o,--out", o->out, "Output folder (replaced atomically)")->capture_default_str();
  sub->add_option("--device", o->device, "cpu, cuda or cuda:N")->capture_default_str();
  add_threads_option(*sub, o->threads, "CPU threads (0 = all cores)")->capture_default_str();
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
      ->capture_default_str();
  sub->add_option("--dtype", o->dtype, "Text mode: float32, bfloat16 or float16")
      ->capture_default_str();
  add_figure_options(*sub, o->figures);
  add_config_option(*sub);
  return [o] {
    if (!o->process.empty() || is_hooked_transformer(o->model)) return run_belief_steer(*o);
    return run_gpt2_steer(*o);
  };
}

}  // namespace actlens::cli
