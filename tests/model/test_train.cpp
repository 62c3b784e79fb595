// model/train.hpp without the CLI: the learning-rate schedule's formula, the loss of a step
// against torch's cross_entropy and a hand-written log-softmax, a few steps on one batch reduce its
// loss, the evaluation/checkpoint/stop schedule, and ExactLoss against a brute-force enumeration
// of every path of the process (and its known values: log V for uniform predictions, never below
// the Bayes-optimal loss).
#include <cmath>
#include <vector>

#include "actlens/core/msp.hpp"
#include "actlens/core/process.hpp"
#include "actlens/model/hooked_transformer.hpp"
#include "actlens/model/train.hpp"

// Catch2 last: LibTorch's headers (glog) define CHECK too, and Catch's must win.
#include "../unit/test_paths.hpp"

using namespace actlens;
using model::HookedTransformer;
using model::HookedTransformerConfig;

namespace {

HookedTransformerConfig tiny_config(std::int64_t n_ctx = 6, std::int64_t seed = 11) {
  HookedTransformerConfig c;
  c.n_layers = 1;
  c.d_model = 16;
  c.n_heads = 2;
  c.d_head = 8;
  c.d_mlp = 32;
  c.d_vocab = 2;
  c.n_ctx = n_ctx;
  c.seed = seed;
  return c;
}

// A fixed batch [B, n_ctx + 1] of RRXOR sequences.
torch::Tensor rrxor_batch(std::int64_t batch, int n_ctx, std::uint64_t seed) {
  return model::symbol_tensor(core::sample_sequences(core::rrxor(), batch, n_ctx + 1, seed));
}

// Mean over positions of -log softmax(logits)[target], written out without cross_entropy.
double hand_cross_entropy(const torch::Tensor& logits, const torch::Tensor& target) {
  const torch::Tensor l = logits.to(torch::kFloat64).reshape({-1, logits.size(-1)});
  const torch::Tensor t = target.reshape({-1});
  double total = 0;
  for (std::int64_t r = 0; r < l.size(0); ++r) {
    const torch::Tensor row = l[r];
    const double mx = row.max().item<double>();
    const double lse = mx + std::log((row - mx).exp().sum().item<double>());
    total += lse - row[t[r].item<std::int64_t>()].item<double>();
  }
  return total / static_cast<double>(l.size(0));
}

}  // namespace

TEST_CASE("learning_rate: linear warm-up, then cosine down to lr * min_lr_ratio or constant",
          "[model][train]") {
  model::TrainOptions o;
  o.steps = 110;
  o.lr = 2e-3;
  o.warmup = 10;
  o.min_lr_ratio = 0.25;
  // Warm-up: lr * (step + 1) / warmup, reaching lr at the last warm-up step.
  CHECK(model::learning_rate(o, 0) == Approx(2e-4));
  CHECK(model::learning_rate(o, 4) == Approx(1e-3));
  CHECK(model::learning_rate(o, 9) == Approx(2e-3));
  // Cosine: lr at t = 0, the midpoint (lr + lo) / 2 at t = 1/2, lo at t = 1 and after.
  CHECK(model::learning_rate(o, 10) == Approx(2e-3));
  CHECK(model::learning_rate(o, 60) == Approx((2e-3 + 5e-4) / 2));
  CHECK(model::learning_rate(o, 110) == Approx(5e-4));
  CHECK(model::learning_rate(o, 500) == Approx(5e-4));
  for (std::int64_t s = 11; s < 110; ++s)
    CHECK(model::learning_rate(o, s) < model::learning_rate(o, s - 1));
  o.schedule = model::LrSchedule::Constant;
  CHECK(model::learning_rate(o, 5) == Approx(1.2e-3));
  CHECK(model::learning_rate(o, 10) == Approx(2e-3));
  CHECK(model::learning_rate(o, 109) == Approx(2e-3));
}

TEST_CASE("train_next_token: a step's loss is the cross-entropy of the weights before it",
          "[model][train]") {
  const HookedTransformerConfig cfg = tiny_config();
  const torch::Tensor batch = rrxor_batch(8, 6, 3);
  // init() is deterministic for a seed: `before` holds the weights training starts from.
  const HookedTransformer before = HookedTransformer::init(cfg);
  HookedTransformer m = HookedTransformer::init(cfg);
  const torch::Tensor logits = before.forward(batch.slice(1, 0, 6)).detach();
  const torch::Tensor target = batch.slice(1, 1, 7);
  const double torch_ce =
      torch::nn::functional::cross_entropy(logits.reshape({-1, 2}), target.reshape({-1}))
          .item<double>();
  const double hand_ce = hand_cross_entropy(logits, target);

  model::TrainOptions o;
  o.steps = 3;
  o.eval_every = 1;
  o.warmup = 0;
  model::TrainCallbacks cb;
  cb.batch = [&](std::int64_t) { return batch; };
  const model::TrainResult r = model::train_next_token(m, o, cb);
  REQUIRE(r.log.size() == 3);
  CHECK(r.log[0].step == 1);
  CHECK(r.log[0].batch_loss == Approx(torch_ce).epsilon(1e-6));
  CHECK(r.log[0].batch_loss == Approx(hand_ce).epsilon(1e-6));
  // The moving average starts at the first loss, then 0.98 avg + 0.02 loss.
  CHECK(r.log[0].batch_loss_avg == r.log[0].batch_loss);
  CHECK(r.log[1].batch_loss_avg == Approx(0.98 * r.log[0].batch_loss + 0.02 * r.log[1].batch_loss));
  CHECK(r.log[2].lr == Approx(model::learning_rate(o, 2)));
  CHECK(std::isnan(r.log[0].eval_loss));  // no evaluate callback
  CHECK(std::isnan(r.final_eval));
  CHECK_FALSE(r.stopped);
  CHECK(r.steps_done == 3);
  // The weights moved.
  CHECK((m.forward(batch.slice(1, 0, 6)) - logits).abs().max().item<double>() > 0);
}

TEST_CASE("train_next_token: steps on one batch reduce its loss", "[model][train]") {
  HookedTransformer m = HookedTransformer::init(tiny_config());
  const torch::Tensor batch = rrxor_batch(16, 6, 5);
  auto loss_of = [&](const HookedTransformer& mm) {
    torch::NoGradGuard g;
    return torch::nn::functional::cross_entropy(mm.forward(batch.slice(1, 0, 6)).reshape({-1, 2}),
                                                batch.slice(1, 1, 7).reshape({-1}))
        .item<double>();
  };
  const double initial = loss_of(m);
  model::TrainOptions o;
  o.steps = 40;
  o.lr = 1e-2;
  o.warmup = 5;
  o.eval_every = 10;
  model::TrainCallbacks cb;
  cb.batch = [&](std::int64_t) { return batch; };
  cb.evaluate = loss_of;
  const model::TrainResult r = model::train_next_token(m, o, cb);
  REQUIRE(r.log.size() == 4);
  CHECK(r.final_eval == r.log.back().eval_loss);
  CHECK(r.final_eval == loss_of(m));
  CHECK(r.final_eval < 0.9 * initial);
  CHECK(r.log.back().batch_loss < r.log.front().batch_loss);
}

TEST_CASE("train_next_token: evaluations, checkpoints, progress and stop", "[model][train]") {
  const torch::Tensor batch = rrxor_batch(4, 6, 1);
  model::TrainOptions o;
  o.steps = 5;
  o.eval_every = 2;
  o.checkpoint_every = 2;
  std::vector<std::int64_t> evals, checkpoints, progress, batches;
  int evaluated = 0;
  model::TrainCallbacks cb;
  cb.batch = [&](std::int64_t s) {
    batches.push_back(s);
    return batch;
  };
  cb.evaluate = [&](const HookedTransformer&) { return static_cast<double>(++evaluated); };
  cb.on_eval = [&](const model::TrainLogRow& r) { evals.push_back(r.step); };
  cb.checkpoint = [&](const HookedTransformer&, std::int64_t s) { checkpoints.push_back(s); };
  cb.progress = [&](std::int64_t s) { progress.push_back(s); };
  {
    HookedTransformer m = HookedTransformer::init(tiny_config());
    const model::TrainResult r = model::train_next_token(m, o, cb);
    // Evaluations after steps 2, 4 and the last; checkpoints after 2 and 4 (not after the last:
    // the final model is the caller's).
    CHECK(evals == std::vector<std::int64_t>{2, 4, 5});
    CHECK(checkpoints == std::vector<std::int64_t>{2, 4});
    CHECK(progress == std::vector<std::int64_t>{1, 2, 3, 4, 5});
    CHECK(batches == std::vector<std::int64_t>{0, 1, 2, 3, 4});
    CHECK(r.final_eval == 3.0);  // the last evaluation, not a fourth
    CHECK(evaluated == 3);
  }
  SECTION("stop is asked before each step; the stopped weights are evaluated once more") {
    evals.clear();
    evaluated = 0;
    int asked = 0;
    cb.stop = [&] { return ++asked > 3; };
    HookedTransformer m = HookedTransformer::init(tiny_config());
    const model::TrainResult r = model::train_next_token(m, o, cb);
    CHECK(r.stopped);
    CHECK(r.steps_done == 3);
    CHECK(evals == std::vector<std::int64_t>{2});
    CHECK(evaluated == 2);
    CHECK(r.final_eval == 2.0);
  }
  SECTION("bad options") {
    HookedTransformer m = HookedTransformer::init(tiny_config());
    o.steps = 0;
    CHECK_THROWS_AS(model::train_next_token(m, o, cb), std::invalid_argument);
    o.steps = 5;
    cb.batch = nullptr;
    CHECK_THROWS_AS(model::train_next_token(m, o, cb), std::invalid_argument);
  }
}

TEST_CASE("ExactLoss equals the probability-weighted loss over every path of the process",
          "[model][train]") {
  // Brute force: every sequence of n_ctx + 1 symbols with P = pi T[x1] ... T[xk] 1 > 0; the
  // model reads the first n_ctx and is scored on the next token at every position.
  const int n_ctx = 4;
  const core::Process p = core::rrxor();
  const HookedTransformer m = HookedTransformer::init(tiny_config(n_ctx, 5));
  const Eigen::RowVectorXd pi = core::stationary_distribution(p).transpose();
  double brute = 0, total_p = 0;
  const int L = n_ctx + 1;
  for (int code = 0; code < (1 << L); ++code) {
    std::vector<std::int64_t> seq(L);
    Eigen::RowVectorXd v = pi;
    for (int t = 0; t < L; ++t) {
      seq[t] = (code >> (L - 1 - t)) & 1;
      v = v * p.T[static_cast<std::size_t>(seq[t])];
    }
    const double prob = v.sum();
    if (prob <= 0) continue;
    total_p += prob;
    const torch::Tensor tokens = torch::tensor(seq, torch::kInt64).view({1, L});
    torch::NoGradGuard g;
    const torch::Tensor logp =
        torch::log_softmax(m.forward(tokens.slice(1, 0, n_ctx)).to(torch::kFloat64), -1)[0];
    double ce = 0;
    for (int t = 0; t < n_ctx; ++t) ce -= logp[t][seq[t + 1]].item<double>();
    brute += prob * ce / n_ctx;
  }
  REQUIRE(total_p == Approx(1.0).epsilon(1e-12));

  const core::MspTree tree = core::build_msp(p, {n_ctx, 1'000'000});
  const model::ExactLoss exact(p, tree, n_ctx);
  CHECK(exact.n_paths() ==
        static_cast<std::int64_t>(tree.level_start[n_ctx + 1] - tree.level_start[n_ctx]));
  const double got = exact(m);
  // Both sides run the float32 model, but on batches of different shapes (one sequence here,
  // every path at once in ExactLoss), so BLAS blocks the products differently: each logit
  // carries its own float32 rounding, ~eps32 = 1.2e-7 relative (seen: 1.2e-8 on AVX2 kernels).
  // 1e-6 relative is far above that and far below any real mistake (a path weighted wrongly
  // moves the loss by more than 1e-3).
  CHECK(got == Approx(brute).epsilon(1e-6));
  // Gibbs' inequality: no predictor beats the Bayesian one.
  CHECK(got >= core::bayes_optimal_loss(p, tree, n_ctx).mean);
}

TEST_CASE("ExactLoss of uniform predictions is log V", "[model][train]") {
  const int n_ctx = 5;
  const core::Process p = core::mess3();
  HookedTransformerConfig cfg = tiny_config(n_ctx, 2);
  cfg.d_vocab = p.n_symbols();
  HookedTransformer m = HookedTransformer::init(cfg);
  {
    torch::NoGradGuard g;
    for (const auto& [name, t] : m.named_parameters())
      if (name.rfind("unembed.", 0) == 0) t.zero_();  // logits 0: q uniform everywhere
  }
  const core::MspTree tree = core::build_msp(p, {n_ctx, 1'000'000});
  CHECK(model::ExactLoss(p, tree, n_ctx)(m) == Approx(std::log(3.0)).epsilon(1e-12));
}
