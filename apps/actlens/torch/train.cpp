// actlens train: a TransformerLens-style transformer trained on sequences sampled from a hidden
// Markov process (seed belief-geometry-steering; epsilon-transformers trains the seed's RRXOR
// model this way). Each step draws a fresh batch of n_ctx + 1 symbols from the stationary process
// and minimises next-token cross-entropy with AdamW (model/train.hpp). The exact expected loss of
// the model over all contexts (from the mixed-state presentation) is reported beside the
// Bayes-optimal loss, so "how close to optimal" is a number, not a guess from noisy batches.
//
// Ctrl-C stops training early and keeps what was trained: the model is saved, run.json says
// "interrupted", the folder is committed (cmd.finish(/*keep_interrupted=*/true)) and the exit
// code is still 130.
#include <charconv>
#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>

#include <spdlog/spdlog.h>

#include "actlens/core/msp.hpp"
#include "actlens/error.hpp"
#include "actlens/io/parse_number.hpp"
#include "actlens/model/gpt2.hpp"
#include "actlens/model/hooked_transformer.hpp"
#include "actlens/model/train.hpp"
#include "actlens/report/interrupt.hpp"
#include "actlens/report/output_dir.hpp"
#include "actlens/report/progress.hpp"
#include "actlens/report/run_info.hpp"
#include "actlens/report/writers.hpp"
#include "belief_data.hpp"
#include "cli_common.hpp"
#include "command.hpp"
#include "process_input.hpp"
#include "torch_commands.hpp"

namespace actlens::cli {
namespace fs = std::filesystem;
namespace {

struct TrainOptions {
  std::string process = "rrxor";
  double x = 0.15, alpha = 0.6, p = 0.5;
  model::HookedTransformerConfig model;  // defaults: the seed's RRXOR model
  model::TrainOptions train;             // steps, lr, schedule, ...: model/train.hpp
  std::string schedule = "cosine";
  std::int64_t batch_size = 128;
  std::uint64_t seed = 0;
  std::int64_t max_eval_inputs = 200'000;
  std::string device = "cpu", normalization = "LN";
};

// "must be >= LO": the bound these flags have always named (int_range would add an upper one).
CLI::Validator at_least(long long lo, const std::string& why = "") {
  return CLI::Validator(
      [lo, why](std::string& s) -> std::string {
        long long v = 0;
        const char* end = s.data() + s.size();
        const auto [p, ec] = std::from_chars(s.data(), end, v);
        if (ec == std::errc() && p == end && v >= lo) return {};
        return "must be >= " + std::to_string(lo) + why;
      },
      "INT >= " + std::to_string(lo));
}

// A finite number > 0 (`strict`) or >= 0.
CLI::Validator non_negative(bool strict) {
  return CLI::Validator(
      [strict](std::string& s) -> std::string {
        const std::optional<double> v = io::parse_double(s);
        if (v && std::isfinite(*v) && (strict ? *v > 0 : *v >= 0)) return {};
        return strict ? "must be > 0" : "must be >= 0";
      },
      "NUMBER");
}

// The Bayes-optimal loss and the exact evaluation, from one MSP of depth n_ctx.
std::pair<core::BayesLoss, model::ExactLoss> exact_evaluation(const core::Process& proc, int n_ctx,
                                                              std::int64_t max_eval_inputs) {
  core::MspTree tree;
  try {
    tree = core::build_msp(proc, {n_ctx, max_eval_inputs * 4});
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("--n-ctx: ") + e.what() +
                     "; the exact evaluation needs every context (raise --max-eval-inputs)");
  }
  return {core::bayes_optimal_loss(proc, tree, n_ctx), model::ExactLoss(proc, tree, n_ctx)};
}

void write_log(const fs::path& path, const std::vector<model::TrainLogRow>& log) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : log)
    rows.push_back({std::to_string(r.step), report::format_double(r.batch_loss),
                    report::format_double(r.batch_loss_avg), report::format_double(r.eval_loss),
                    report::format_double(r.lr)});
  report::write_csv(path, {"step", "batch_loss", "batch_loss_avg", "exact_loss", "lr"}, rows);
}

int run_train(TrainOptions o, Command& cmd) {
  report::RunInfo& info = cmd.start();
  const core::Process proc = resolve_process(o.process, {o.x, o.alpha, o.p});
  auto& cfg = o.model;
  cfg.normalization_type = o.normalization == "none" ? "" : "LN";
  cfg.d_vocab = proc.n_symbols();
  cfg.seed = static_cast<std::int64_t>(o.seed);
  // Validates the model flags (sizes, act_fn) with the same checks as a config.json.
  cfg = model::HookedTransformerConfig::from_json(cfg.to_json(), "model flags");
  const int n_ctx = static_cast<int>(cfg.n_ctx);
  const torch::Device device = model::parse_device(o.device);
  o.train.schedule =
      o.schedule == "constant" ? model::LrSchedule::Constant : model::LrSchedule::Cosine;

  info.start("msp");
  const auto evaluation = exact_evaluation(proc, n_ctx, o.max_eval_inputs);
  const core::BayesLoss& bayes = evaluation.first;
  const model::ExactLoss& exact = evaluation.second;
  info.stop("msp");

  model::HookedTransformer m = model::HookedTransformer::init(cfg, device);
  spdlog::info(
      "training {} layers, d_model {}, {} heads of {}, d_mlp {} ({} parameters) on {} "
      "for {} steps of {} sequences; Bayes-optimal loss {:.6f} nats",
      cfg.n_layers, cfg.d_model, cfg.n_heads, cfg.d_head, cfg.d_mlp, m.parameter_count(), proc.name,
      o.train.steps, o.batch_size, bayes.mean);

  report::OutputDir& out = cmd.output();
  const nlohmann::json record = {{"process", process_record(proc, o.process)},
                                 {"bayes_optimal_loss_nats", bayes.mean}};
  report::Progress bar("train", static_cast<std::uint64_t>(o.train.steps), true);
  model::TrainCallbacks cb;
  cb.batch = [&](std::int64_t step) {
    const std::uint64_t seed = o.seed * 0x9E3779B97F4A7C15ULL + static_cast<std::uint64_t>(step);
    return model::symbol_tensor(core::sample_sequences(proc, o.batch_size, n_ctx + 1, seed))
        .to(device);
  };
  cb.evaluate = [&](const model::HookedTransformer& mm) { return exact(mm); };
  cb.progress = [&](std::int64_t) { bar.advance(); };
  model::TrainLogRow last_eval;  // a checkpoint on an evaluation step reuses its loss
  cb.on_eval = [&](const model::TrainLogRow& r) {
    last_eval = r;
    spdlog::info("step {}/{}: batch loss {:.4f} (avg {:.4f}), exact loss {:.6f} = Bayes {:+.2f}%",
                 r.step, o.train.steps, r.batch_loss, r.batch_loss_avg, r.eval_loss,
                 100.0 * (r.eval_loss / bayes.mean - 1));
  };
  cb.checkpoint = [&](const model::HookedTransformer& mm, std::int64_t step) {
    nlohmann::json r = record;
    r["step"] = step;
    // The same exact evaluation as the final model's: the step's log row when it was an
    // evaluation step, else evaluated now (deterministic, so either gives the same number).
    r["exact_loss_nats"] = last_eval.step == step ? last_eval.eval_loss : exact(mm);
    mm.save(out.path() / "checkpoints" / ("step_" + std::to_string(step)), r);
  };
  // Ctrl-C: stop before the next step and keep what was trained.
  cb.stop = [] { return report::interrupted(); };
  info.start("train");
  const model::TrainResult res = model::train_next_token(m, o.train, cb);
  bar.finish();
  info.stop("train");

  nlohmann::json r = record;
  r["step"] = res.steps_done;
  r["exact_loss_nats"] = res.final_eval;
  m.save(out.path(), r);
  write_log(out.path() / "train_log.csv", res.log);
  info.section("resolved")["model"] = cfg.to_json();
  auto& sm = info.summary();
  sm["steps_done"] = res.steps_done;
  sm["interrupted"] = res.stopped;
  sm["parameters"] = m.parameter_count();
  sm["exact_loss_nats"] = res.final_eval;
  sm["bayes_optimal_loss_nats"] = bayes.mean;
  sm["relative_gap"] = res.final_eval / bayes.mean - 1;
  sm["bayes_per_context_nats"] = bayes.per_context;
  spdlog::info("exact loss {:.6f} nats vs Bayes-optimal {:.6f} ({:+.2f}%) after {} steps",
               res.final_eval, bayes.mean, 100.0 * (res.final_eval / bayes.mean - 1),
               res.steps_done);
  const int code = cmd.finish(/*keep_interrupted=*/res.stopped);  // Ctrl-C: keep what was trained
  if (res.stopped)
    throw report::Interrupted("interrupted after " + std::to_string(res.steps_done) +
                              " steps; the model trained so far is saved in " + cmd.out());
  return code;
}

}  // namespace

Runner register_train(CLI::App& app) {
  auto o = std::make_shared<TrainOptions>();
  auto cmd = Command::add(
      app,
      {"train", "Train a TransformerLens-style transformer on sequences of a hidden Markov process",
       "results/train",
       "Output folder: config.json + model.pt (TransformerLens-loadable), train_log.csv, "
       "run.json"});
  CLI::App* sub = &cmd->app();
  auto& c = o->model;
  auto& t = o->train;
  sub->add_option("--process", o->process,
                  "Built-in process (rrxor, mess3, z1r, golden_mean, even) or process JSON")
      ->capture_default_str();
  sub->add_option("--x", o->x, "mess3: x")->capture_default_str();
  sub->add_option("--alpha", o->alpha, "mess3: alpha")->capture_default_str();
  sub->add_option("--p", o->p, "z1r, golden_mean, even: the branching probability")
      ->capture_default_str();
  sub->add_option("--n-layers", c.n_layers, "Transformer blocks")->capture_default_str();
  sub->add_option("--d-model", c.d_model, "Residual stream width")->capture_default_str();
  sub->add_option("--n-heads", c.n_heads, "Attention heads per block")->capture_default_str();
  sub->add_option("--d-head", c.d_head, "Width of each head")->capture_default_str();
  sub->add_option("--d-mlp", c.d_mlp, "MLP hidden width")->capture_default_str();
  sub->add_option("--n-ctx", c.n_ctx, "Context length (tokens per input)")->capture_default_str();
  sub->add_option("--act-fn", c.act_fn, "MLP activation: relu, gelu, gelu_new, silu")
      ->capture_default_str();
  sub->add_option("--normalization", o->normalization, "LN (LayerNorm) or none")
      ->check(one_of({"LN", "none"}))
      ->capture_default_str();
  sub->add_option("--steps", t.steps, "Optimiser steps")->check(at_least(1))->capture_default_str();
  sub->add_option("--batch-size", o->batch_size, "Sequences per step (freshly sampled)")
      ->check(at_least(1))
      ->capture_default_str();
  sub->add_option("--lr", t.lr, "Peak learning rate (AdamW)")
      ->check(non_negative(/*strict=*/true))
      ->capture_default_str();
  sub->add_option("--schedule", o->schedule, "cosine (decay to --min-lr-ratio) or constant")
      ->check(one_of({"cosine", "constant"}))
      ->capture_default_str();
  sub->add_option("--warmup", t.warmup, "Linear warm-up steps")
      ->check(at_least(0))
      ->capture_default_str();
  sub->add_option("--min-lr-ratio", t.min_lr_ratio, "Final lr / peak lr of the cosine schedule")
      ->capture_default_str();
  sub->add_option("--weight-decay", t.weight_decay, "AdamW weight decay")
      ->check(non_negative(/*strict=*/false))
      ->capture_default_str();
  sub->add_option("--grad-clip", t.grad_clip, "Clip the gradient norm (0 = off)")
      ->capture_default_str();
  sub->add_option("--seed", o->seed, "Seed of the initial weights and the sampled data")
      ->capture_default_str();
  sub->add_option("--eval-every", t.eval_every,
                  "Steps between exact evaluations of the loss over every context")
      ->check(at_least(1))
      ->capture_default_str();
  sub->add_option("--checkpoint-every", t.checkpoint_every,
                  "Also save checkpoints/step_N every N steps (0 = only the final model)")
      ->check(at_least(0, " (0 = none)"))
      ->capture_default_str();
  sub->add_option("--max-eval-inputs", o->max_eval_inputs,
                  "Refuse processes with more contexts of length n_ctx than this (exact eval)")
      ->capture_default_str();
  sub->add_option("--device", o->device, "cpu, cuda or cuda:N")->capture_default_str();
  return cmd->runner([o](Command& command) { return run_train(*o, command); });
}

}  // namespace actlens::cli
