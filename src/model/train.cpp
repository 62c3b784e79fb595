#include "actlens/model/train.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace actlens::model {

double learning_rate(const TrainOptions& o, std::int64_t step) {
  if (step < o.warmup) return o.lr * static_cast<double>(step + 1) / static_cast<double>(o.warmup);
  if (o.schedule == LrSchedule::Constant) return o.lr;
  const double t = static_cast<double>(step - o.warmup) /
                   static_cast<double>(std::max<std::int64_t>(1, o.steps - o.warmup));
  const double lo = o.lr * o.min_lr_ratio;
  return lo + 0.5 * (o.lr - lo) * (1 + std::cos(M_PI * std::min(1.0, t)));
}

TrainResult train_next_token(HookedTransformer& m, const TrainOptions& o,
                             const TrainCallbacks& cb) {
  if (!cb.batch) throw std::invalid_argument("train_next_token: callbacks.batch is required");
  if (o.steps < 1 || o.eval_every < 1 || o.checkpoint_every < 0 || o.warmup < 0)
    throw std::invalid_argument(
        "train_next_token: steps and eval_every must be >= 1, checkpoint_every and warmup >= 0");
  auto adam = torch::optim::AdamWOptions(o.lr).weight_decay(o.weight_decay);
  torch::optim::AdamW opt(m.parameters(), adam);
  auto evaluate = [&] {
    return cb.evaluate ? cb.evaluate(m) : std::numeric_limits<double>::quiet_NaN();
  };
  TrainResult r;
  double last_eval = NAN, batch_loss_avg = NAN;
  std::int64_t step = 0;
  for (; step < o.steps; ++step) {
    if (cb.stop && cb.stop()) {
      r.stopped = true;
      break;
    }
    const double lr = learning_rate(o, step);
    for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
    const torch::Tensor t = cb.batch(step);
    const std::int64_t T = t.size(1) - 1;
    const torch::Tensor logits = m.forward(t.slice(1, 0, T));
    const torch::Tensor loss = torch::nn::functional::cross_entropy(
        logits.reshape({-1, logits.size(-1)}), t.slice(1, 1, T + 1).reshape({-1}));
    opt.zero_grad();
    loss.backward();
    if (o.grad_clip > 0) torch::nn::utils::clip_grad_norm_(m.parameters(), o.grad_clip);
    opt.step();
    const double l = loss.item<double>();
    batch_loss_avg = std::isnan(batch_loss_avg) ? l : 0.98 * batch_loss_avg + 0.02 * l;
    if (cb.progress) cb.progress(step + 1);
    const bool last = step + 1 == o.steps;
    if ((step + 1) % o.eval_every == 0 || last) {
      last_eval = evaluate();
      r.log.push_back({step + 1, l, batch_loss_avg, last_eval, lr});
      if (cb.on_eval) cb.on_eval(r.log.back());
    }
    if (o.checkpoint_every > 0 && (step + 1) % o.checkpoint_every == 0 && !last && cb.checkpoint)
      cb.checkpoint(m, step + 1);
  }
  r.steps_done = step;
  // The final weights were not evaluated yet when training stopped early.
  r.final_eval = r.stopped || std::isnan(last_eval) ? evaluate() : last_eval;
  return r;
}

torch::Tensor symbol_tensor(const core::SymbolMatrix& tokens) {
  return torch::from_blob(const_cast<std::int64_t*>(tokens.data()), {tokens.rows(), tokens.cols()},
                          torch::kInt64)
      .clone();
}

ExactLoss::ExactLoss(const core::Process& p, const core::MspTree& tree, int n_ctx) {
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
  tokens_ = symbol_tensor(in.tokens);
  weights_ = torch::tensor(in.probability, torch::kFloat64);
  target_ = torch::tensor(target, torch::kFloat64).view({n, n_ctx, V});
}

double ExactLoss::operator()(const HookedTransformer& m) const {
  torch::NoGradGuard no_grad;
  double total = 0;
  const std::int64_t n = tokens_.size(0), chunk = 4096;
  for (std::int64_t s = 0; s < n; s += chunk) {
    const std::int64_t e = std::min(n, s + chunk);
    const torch::Tensor logp = torch::log_softmax(
        m.forward(tokens_.slice(0, s, e).to(m.device())).to(torch::kCPU, torch::kFloat64), -1);
    const torch::Tensor ce = -(target_.slice(0, s, e) * logp).sum(-1).mean(-1);  // [chunk]
    total += (ce * weights_.slice(0, s, e)).sum().item<double>();
  }
  return total;
}

}  // namespace actlens::model
