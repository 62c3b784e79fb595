#pragma once
// Training a HookedTransformer on next-token prediction (what `actlens train` does; the seed
// belief-geometry-steering trains its RRXOR model this way, after epsilon-transformers): each
// step takes a batch of token sequences [B, T + 1], runs the model on columns 0..T-1 and
// minimises the mean cross-entropy of its logits against columns 1..T with AdamW, under a
// linear warm-up and a cosine (or constant) learning-rate schedule, with the gradient norm
// clipped. Deterministic for deterministic batches on one thread.
//
// ExactLoss is the evaluation `actlens train` reports: the model's exact expected loss over every
// context of a hidden Markov process (from its mixed-state presentation), comparable to the
// Bayes-optimal loss instead of a guess from noisy batches.
#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

#include <torch/torch.h>

#include "actlens/core/msp.hpp"
#include "actlens/core/process.hpp"
#include "actlens/model/hooked_transformer.hpp"

namespace actlens::model {

enum class LrSchedule {
  Cosine,    // after warm-up: from lr down to lr * min_lr_ratio along half a cosine
  Constant,  // after warm-up: lr
};

struct TrainOptions {
  std::int64_t steps = 2000;  // optimiser steps, >= 1
  double lr = 1e-3;           // peak learning rate (AdamW), > 0
  LrSchedule schedule = LrSchedule::Cosine;
  std::int64_t warmup = 200;          // linear warm-up steps, >= 0
  double min_lr_ratio = 0.1;          // Cosine: the final lr / lr
  double weight_decay = 0.0;          // AdamW's (decoupled) weight decay, >= 0
  double grad_clip = 1.0;             // the global gradient norm is clipped to this; <= 0: off
  std::int64_t eval_every = 250;      // evaluate after every eval_every-th step and the last, >= 1
  std::int64_t checkpoint_every = 0;  // checkpoint after every such step but the last; 0: never
};

// The learning rate of 0-based step `step`: lr * (step + 1) / warmup during warm-up
// (step < warmup), then lr (Constant) or, with t = (step - warmup) / max(1, steps - warmup)
// capped at 1, lo + (lr - lo) (1 + cos(pi t)) / 2 where lo = lr * min_lr_ratio (Cosine).
double learning_rate(const TrainOptions& options, std::int64_t step);

// One evaluation, after step `step` (1-based: the number of steps done).
struct TrainLogRow {
  std::int64_t step = 0;
  double batch_loss = 0;      // the loss of that step's batch (before its update)
  double batch_loss_avg = 0;  // moving average: the first loss, then 0.98 avg + 0.02 loss
  double eval_loss = 0;       // TrainCallbacks::evaluate after the step (NaN without it)
  double lr = 0;              // the step's learning rate
};

// What train_next_token asks of its caller. Only `batch` is required.
struct TrainCallbacks {
  // The batch of 0-based step `step`: int64 tokens [B, T + 1] (B >= 1, 1 <= T <= n_ctx) on the
  // model's device, values in [0, d_vocab).
  std::function<torch::Tensor(std::int64_t step)> batch;
  // A loss of the current weights, on evaluation steps (and after a stop); e.g. ExactLoss.
  std::function<double(const HookedTransformer&)> evaluate;
  // After every step, with the number of steps done (progress bars).
  std::function<void(std::int64_t steps_done)> progress;
  // After every evaluation, with its row (logging).
  std::function<void(const TrainLogRow&)> on_eval;
  // After every checkpoint_every-th step but the last: save the weights (the final model is the
  // caller's to save).
  std::function<void(const HookedTransformer&, std::int64_t steps_done)> checkpoint;
  // Asked before each step; true stops training there (Ctrl-C): TrainResult::stopped.
  std::function<bool()> stop;
};

struct TrainResult {
  std::int64_t steps_done = 0;
  bool stopped = false;          // `stop` ended training before options.steps
  std::vector<TrainLogRow> log;  // one row per evaluation, in step order
  // evaluate() of the final weights: the last row's eval_loss, or evaluated once more when
  // training stopped early or the last evaluation gave NaN; NaN without `evaluate`.
  double final_eval = std::numeric_limits<double>::quiet_NaN();
};

// Trains `model` in place (AdamW over model.parameters() with options.lr, betas (0.9, 0.999),
// eps 1e-8 and options.weight_decay; the learning rate is set before each step by
// learning_rate()). The loss of a step is torch's cross_entropy (mean over B * T positions) of
// logits [B, T, V] against the shifted tokens. Exceptions of the callbacks propagate.
TrainResult train_next_token(HookedTransformer& model, const TrainOptions& options,
                             const TrainCallbacks& callbacks);

// tokens [n, T] (core::SymbolMatrix) as an int64 tensor [n, T] on the CPU.
torch::Tensor symbol_tensor(const core::SymbolMatrix& tokens);

// The exact expected next-token cross-entropy (nats) of a model over every context of length
// n_ctx of a process: sum_r P(r) mean_t sum_x P(x | belief_rt) (-log q_rt(x)) over the paths r of
// the mixed-state presentation (core::msp_inputs(tree, n_ctx)), where q_rt is the model's softmax
// after reading r_1..r_{t+1} and P(x | b) = b T[x] 1. It is >= the Bayes-optimal loss
// (core::bayes_optimal_loss(...).mean), with equality when q is the Bayesian predictive
// distribution.
class ExactLoss {
 public:
  // `tree` must reach depth n_ctx (>= 1); the model evaluated must have d_vocab_out ==
  // p.n_symbols() and n_ctx >= this n_ctx.
  ExactLoss(const core::Process& p, const core::MspTree& tree, int n_ctx);
  // Runs the model on every path (in chunks of 4096, without gradients) and returns the loss.
  double operator()(const HookedTransformer& model) const;
  std::int64_t n_paths() const { return tokens_.size(0); }

 private:
  torch::Tensor tokens_, weights_, target_;  // int64 [n, T], float64 [n], float64 [n, T, V]
};

}  // namespace actlens::model
