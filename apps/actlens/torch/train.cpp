// actlens train: a TransformerLens-style transformer trained on sequences sampled from a hidden
// Markov process (seed belief-geometry-steering; epsilon-transformers trains the seed's RRXOR
// model this way). Each step draws a fresh batch of n_ctx + 1 symbols from the stationary process
// and minimises next-token cross-entropy with AdamW. The exact expected loss of the model over
// all contexts (from the mixed-state presentation) is reported beside the Bayes-optimal loss, so
// "how close to optimal" is a number, not a guess from noisy batches.
#include <cmath>
#include <filesystem>
#include <memory>

#include <spdlog/spdlog.h>

#include "actlens/core/error.hpp"
#include "actlens/core/msp.hpp"
#include "actlens/model/gpt2.hpp"
#include "actlens/model/hooked_transformer.hpp"
#include "actlens/report/interrupt.hpp"
#include "actlens/report/output_dir.hpp"
#include "actlens/report/progress.hpp"
#include "actlens/report/run_info.hpp"
#include "actlens/report/writers.hpp"
#include "belief_data.hpp"
#include "cli_common.hpp"
#include "process_input.hpp"
#include "torch_commands.hpp"

namespace actlens::cli {
namespace fs = std::filesystem;
namespace {

struct TrainOptions {
  FigureFlags figures;
  std::string process = "rrxor";
  double x = 0.15, alpha = 0.6, p = 0.5;
  model::HookedTransformerConfig model;  // defaults: the seed's RRXOR model
  std::int64_t steps = 2000, batch_size = 128, warmup = 200;
  double lr = 1e-3, min_lr_ratio = 0.1, weight_decay = 0.0, grad_clip = 1.0;
  std::string schedule = "cosine";
  std::uint64_t seed = 0;
  std::int64_t eval_every = 250, checkpoint_every = 0;
  std::int64_t max_eval_inputs = 200'000;
  std::string out = "results/train", device = "cpu", normalization = "LN";
  int threads = 0;
};

// The exact expected next-token cross-entropy of the model over every context of length n_ctx
// (all MSP paths weighted by their probability): sum_r P(r) mean_t sum_x P(x | belief_rt)
// (-log q_rt(x)). Comparable to the Bayes-optimal loss (core::bayes_optimal_loss), which it
// equals when q is the Bayesian predictive distribution.
struct ExactEval {
  torch::Tensor tokens, weights, target;  // [n, T], [n], [n, T, V]
  double evaluate(const model::HookedTransformer& m) const {
    torch::NoGradGuard no_grad;
    double total = 0;
    const std::int64_t n = tokens.size(0), chunk = 4096;
    for (std::int64_t s = 0; s < n; s += chunk) {
      const std::int64_t e = std::min(n, s + chunk);
      const torch::Tensor logp = torch::log_softmax(
          m.forward(tokens.slice(0, s, e).to(m.device())).to(torch::kCPU, torch::kFloat64), -1);
      const torch::Tensor ce = -(target.slice(0, s, e) * logp).sum(-1).mean(-1);  // [chunk]
      total += (ce * weights.slice(0, s, e)).sum().item<double>();
    }
    return total;
  }
};

ExactEval make_exact_eval(const core::Process& p, const core::MspTree& tree, int n_ctx) {
  const core::MspInputs in = core::msp_inputs(tree, n_ctx);
  const std::int64_t n = in.tokens.rows(), S = p.n_states(), V = p.n_symbols();
  // P(x | belief) = belief T[x] 1.
  Eigen::MatrixXd emit(S, V);
  for (std::int64_t x = 0; x < V; ++x)
    emit.col(x) = p.T[static_cast<std::size_t>(x)].rowwise().sum();
  std::vector<double> target(static_cast<std::size_t>(n * n_ctx * V));
  for (std::int64_t r = 0; r < n * n_ctx; ++r) {
    const Eigen::Map<const Eigen::RowVectorXd> b(in.beliefs.data() + r * S, S);
    const Eigen::RowVectorXd px = b * emit;
    for (std::int64_t x = 0; x < V; ++x) target[static_cast<std::size_t>(r * V + x)] = px[x];
  }
  ExactEval ev;
  ev.tokens = token_tensor(in.tokens);
  ev.weights = torch::tensor(in.probability, torch::kFloat64);
  ev.target = torch::tensor(target, torch::kFloat64).view({n, n_ctx, V});
  return ev;
}

double lr_at(const TrainOptions& o, std::int64_t step) {
  if (step < o.warmup) return o.lr * static_cast<double>(step + 1) / static_cast<double>(o.warmup);
  if (o.schedule == "constant") return o.lr;
  const double t = static_cast<double>(step - o.warmup) /
                   static_cast<double>(std::max<std::int64_t>(1, o.steps - o.warmup));
  const double lo = o.lr * o.min_lr_ratio;
  return lo + 0.5 * (o.lr - lo) * (1 + std::cos(M_PI * std::min(1.0, t)));
}

void check(const TrainOptions& o) {
  auto positive = [](std::int64_t v, const char* flag) {
    if (v < 1) throw UsageError(std::string(flag) + ": must be >= 1");
  };
  positive(o.steps, "--steps");
  positive(o.batch_size, "--batch-size");
  positive(o.eval_every, "--eval-every");
  if (o.checkpoint_every < 0) throw UsageError("--checkpoint-every: must be >= 0 (0 = none)");
  if (!(o.lr > 0) || !std::isfinite(o.lr)) throw UsageError("--lr: must be > 0");
  if (o.weight_decay < 0) throw UsageError("--weight-decay: must be >= 0");
  if (o.warmup < 0) throw UsageError("--warmup: must be >= 0");
  if (o.schedule != "cosine" && o.schedule != "constant")
    throw UsageError("--schedule: '" + o.schedule + "' is not cosine or constant");
  if (o.normalization != "LN" && o.normalization != "none")
    throw UsageError("--normalization: '" + o.normalization + "' is not LN or none");
}

int run_train(TrainOptions o) {
  check(o);
  set_threads(o.threads);
  set_torch_threads(o.threads);
  report::RunInfo info("train", command_line(), ACTLENS_VERSION);
  const core::Process proc = resolve_process(o.process, {o.x, o.alpha, o.p});
  auto& cfg = o.model;
  cfg.normalization_type = o.normalization == "none" ? "" : "LN";
  cfg.d_vocab = proc.n_symbols();
  cfg.seed = static_cast<std::int64_t>(o.seed);
  // Validates the model flags (sizes, act_fn) with the same checks as a config.json.
  cfg = model::HookedTransformerConfig::from_json(cfg.to_json(), "model flags");
  const int n_ctx = static_cast<int>(cfg.n_ctx);
  const torch::Device device = model::parse_device(o.device);

  // The Bayes-optimal loss and the exact evaluation set come from one MSP of depth n_ctx.
  info.start("msp");
  core::MspTree tree;
  try {
    tree = core::build_msp(proc, {n_ctx, o.max_eval_inputs * 4});
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("--n-ctx: ") + e.what() +
                     "; the exact evaluation needs every context (raise --max-eval-inputs)");
  }
  const core::BayesLoss bayes = core::bayes_optimal_loss(proc, tree, n_ctx);
  const ExactEval eval = make_exact_eval(proc, tree, n_ctx);
  info.stop("msp");

  model::HookedTransformer m = model::HookedTransformer::init(cfg, device);
  auto adam = torch::optim::AdamWOptions(o.lr).weight_decay(o.weight_decay);
  torch::optim::AdamW opt(m.parameters(), adam);
  spdlog::info(
      "training {} layers, d_model {}, {} heads of {}, d_mlp {} ({} parameters) on {} "
      "for {} steps of {} sequences; Bayes-optimal loss {:.6f} nats",
      cfg.n_layers, cfg.d_model, cfg.n_heads, cfg.d_head, cfg.d_mlp, m.parameter_count(), proc.name,
      o.steps, o.batch_size, bayes.mean);

  report::OutputDir out(o.out, "train");
  const nlohmann::json record = {{"process", process_record(proc, o.process)},
                                 {"bayes_optimal_loss_nats", bayes.mean}};
  std::vector<std::vector<std::string>> log_rows;
  double last_eval = NAN, batch_loss_avg = NAN;
  std::int64_t step = 0;
  bool stopped = false;
  report::Progress bar("train", static_cast<std::uint64_t>(o.steps), true);
  info.start("train");
  try {
    for (; step < o.steps; ++step) {
      report::check_interrupted();
      for (auto& g : opt.param_groups())
        static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr_at(o, step));
      const core::SymbolMatrix seq =
          core::sample_sequences(proc, o.batch_size, n_ctx + 1,
                                 o.seed * 0x9E3779B97F4A7C15ULL + static_cast<std::uint64_t>(step));
      const torch::Tensor t = token_tensor(seq).to(device);
      const torch::Tensor logits = m.forward(t.slice(1, 0, n_ctx));
      const torch::Tensor loss = torch::nn::functional::cross_entropy(
          logits.reshape({-1, logits.size(-1)}), t.slice(1, 1, n_ctx + 1).reshape({-1}));
      opt.zero_grad();
      loss.backward();
      if (o.grad_clip > 0) torch::nn::utils::clip_grad_norm_(m.parameters(), o.grad_clip);
      opt.step();
      const double l = loss.item<double>();
      batch_loss_avg = std::isnan(batch_loss_avg) ? l : 0.98 * batch_loss_avg + 0.02 * l;
      bar.advance();
      const bool last = step + 1 == o.steps;
      if ((step + 1) % o.eval_every == 0 || last) {
        last_eval = eval.evaluate(m);
        log_rows.push_back({std::to_string(step + 1), report::format_double(l),
                            report::format_double(batch_loss_avg), report::format_double(last_eval),
                            report::format_double(lr_at(o, step))});
        spdlog::info(
            "step {}/{}: batch loss {:.4f} (avg {:.4f}), exact loss {:.6f} = Bayes {:+.2f}%",
            step + 1, o.steps, l, batch_loss_avg, last_eval, 100.0 * (last_eval / bayes.mean - 1));
      }
      if (o.checkpoint_every > 0 && (step + 1) % o.checkpoint_every == 0 && !last) {
        nlohmann::json r = record;
        r["step"] = step + 1;
        m.save(out.path() / "checkpoints" / ("step_" + std::to_string(step + 1)), r);
      }
    }
  } catch (const report::Interrupted&) {
    stopped = true;  // keep what was trained: save it, mark the run interrupted, then stop
  }
  bar.finish();
  info.stop("train");
  if (stopped || std::isnan(last_eval)) last_eval = eval.evaluate(m);

  nlohmann::json r = record;
  r["step"] = step;
  r["exact_loss_nats"] = last_eval;
  m.save(out.path(), r);
  report::write_csv(out.path() / "train_log.csv",
                    {"step", "batch_loss", "batch_loss_avg", "exact_loss", "lr"}, log_rows);
  auto& opts = info.options();
  opts["process"] = o.process;
  opts["model"] = cfg.to_json();
  opts["steps"] = o.steps;
  opts["batch_size"] = o.batch_size;
  opts["lr"] = o.lr;
  opts["schedule"] = o.schedule;
  opts["warmup"] = o.warmup;
  opts["min_lr_ratio"] = o.min_lr_ratio;
  opts["weight_decay"] = o.weight_decay;
  opts["grad_clip"] = o.grad_clip;
  opts["seed"] = o.seed;
  opts["device"] = o.device;
  auto& sm = info.summary();
  sm["steps_done"] = step;
  sm["interrupted"] = stopped;
  sm["parameters"] = m.parameter_count();
  sm["exact_loss_nats"] = last_eval;
  sm["bayes_optimal_loss_nats"] = bayes.mean;
  sm["relative_gap"] = last_eval / bayes.mean - 1;
  sm["bayes_per_context_nats"] = bayes.per_context;
  draw_figures("train", out.path(), out.target(), o.figures, info);
  info.write(out.path());
  out.commit(/*keep_interrupted=*/stopped);  // Ctrl-C in training: keep what was trained
  spdlog::info("exact loss {:.6f} nats vs Bayes-optimal {:.6f} ({:+.2f}%) after {} steps",
               last_eval, bayes.mean, 100.0 * (last_eval / bayes.mean - 1), step);
  if (stopped) throw report::Interrupted();
  spdlog::info("results in {}", out.target().string());
  return 0;
}

}  // namespace

Runner register_train(CLI::App& app) {
  auto o = std::make_shared<TrainOptions>();
  auto* sub = app.add_subcommand(
      "train", "Train a TransformerLens-style transformer on sequences of a hidden Markov process");
  auto& c = o->model;
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
      ->capture_default_str();
  sub->add_option("--steps", o->steps, "Optimiser steps")->capture_default_str();
  sub->add_option("--batch-size", o->batch_size, "Sequences per step (freshly sampled)")
      ->capture_default_str();
  sub->add_option("--lr", o->lr, "Peak learning rate (AdamW)")->capture_default_str();
  sub->add_option("--schedule", o->schedule, "cosine (decay to --min-lr-ratio) or constant")
      ->capture_default_str();
  sub->add_option("--warmup", o->warmup, "Linear warm-up steps")->capture_default_str();
  sub->add_option("--min-lr-ratio", o->min_lr_ratio, "Final lr / peak lr of the cosine schedule")
      ->capture_default_str();
  sub->add_option("--weight-decay", o->weight_decay, "AdamW weight decay")->capture_default_str();
  sub->add_option("--grad-clip", o->grad_clip, "Clip the gradient norm (0 = off)")
      ->capture_default_str();
  sub->add_option("--seed", o->seed, "Seed of the initial weights and the sampled data")
      ->capture_default_str();
  sub->add_option("--eval-every", o->eval_every,
                  "Steps between exact evaluations of the loss over every context")
      ->capture_default_str();
  sub->add_option("--checkpoint-every", o->checkpoint_every,
                  "Also save checkpoints/step_N every N steps (0 = only the final model)")
      ->capture_default_str();
  sub->add_option("--max-eval-inputs", o->max_eval_inputs,
                  "Refuse processes with more contexts of length n_ctx than this (exact eval)")
      ->capture_default_str();
  sub->add_option("-o,--out", o->out,
                  "Output folder: config.json + model.pt (TransformerLens-loadable), "
                  "train_log.csv, run.json")
      ->capture_default_str();
  sub->add_option("--device", o->device, "cpu, cuda or cuda:N")->capture_default_str();
  add_threads_option(*sub, o->threads, "CPU threads (0 = all cores)")->capture_default_str();
  add_figure_options(*sub, o->figures);
  add_config_option(*sub);
  return [o] { return run_train(*o); };
}

}  // namespace actlens::cli
