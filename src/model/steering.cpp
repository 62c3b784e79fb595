#include "actlens/model/steering.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>

namespace actlens::model {

Hooks steering_hooks(const std::vector<std::string>& hooks, const torch::Tensor& vectors,
                     const torch::Tensor& coef) {
  if (vectors.dim() != 2 || vectors.size(0) != static_cast<std::int64_t>(hooks.size()))
    throw std::invalid_argument("vectors: expected [" + std::to_string(hooks.size()) +
                                ", d], one row per hook");
  Hooks h;
  for (std::size_t k = 0; k < hooks.size(); ++k) {
    const torch::Tensor v = vectors[static_cast<std::int64_t>(k)];
    h.add_editor(hooks[k], [coef, v](const torch::Tensor& x) { return x + coef * v; });
  }
  return h;
}

LabelMeanDifference label_mean_difference(const std::vector<torch::Tensor>& acts,
                                          const torch::Tensor& labels, std::int64_t from,
                                          std::int64_t to) {
  if (labels.dim() != 2) throw std::invalid_argument("labels: expected [n, T]");
  const torch::Tensor idx = labels.to(torch::kInt64).flatten();
  const torch::Tensor mask_from = idx.eq(from), mask_to = idx.eq(to);
  LabelMeanDifference r;
  r.n_from = mask_from.sum().item<std::int64_t>();
  r.n_to = mask_to.sum().item<std::int64_t>();
  for (const auto& act : acts)
    if (act.dim() != 3 || act.size(0) != labels.size(0) || act.size(1) != labels.size(1))
      throw std::invalid_argument("acts: expected [n, T, d] with labels' [n, T]");
  if (r.n_from == 0 || r.n_to == 0) return r;
  std::vector<torch::Tensor> rows;
  for (const auto& act : acts) {
    const torch::Tensor flat = act.reshape({-1, act.size(-1)}).to(torch::kFloat64);
    rows.push_back(flat.index({mask_to}).mean(0) - flat.index({mask_from}).mean(0));
  }
  r.vectors = torch::stack(rows).to(torch::kFloat32);
  return r;
}

torch::Tensor prompts_ending_in(const core::MspInputs& in, int length, std::int64_t belief) {
  if (length < 1 || length > in.tokens.cols())
    throw std::invalid_argument("length: must be in 1.." + std::to_string(in.tokens.cols()) +
                                ", got " + std::to_string(length));
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

namespace {

// Mean over the rows of each hook's capture (texts, or tokens for `all`), summed in float64.
std::vector<std::vector<double>> hook_means(const std::map<std::string, HookOutput>& out,
                                            const std::vector<std::string>& hooks) {
  std::vector<std::vector<double>> means;
  for (const auto& h : hooks) {
    const auto& o = out.at(h);
    if (o.row_shape.size() != 1)
      throw std::invalid_argument("hooks: " + h + " has no [d] rows to steer with");
    const std::int64_t d = o.row_shape[0];
    std::vector<double> m(static_cast<std::size_t>(d), 0.0);
    for (std::int64_t r = 0; r < o.rows; ++r)
      for (std::int64_t j = 0; j < d; ++j)
        m[static_cast<std::size_t>(j)] += o.data[static_cast<std::size_t>(r * d + j)];
    for (auto& x : m) x /= static_cast<double>(std::max<std::int64_t>(o.rows, 1));
    means.push_back(std::move(m));
  }
  return means;
}

}  // namespace

torch::Tensor contrastive_vectors(const Gpt2Model& model, const std::vector<CaptureText>& positive,
                                  const std::vector<CaptureText>& negative,
                                  const std::vector<std::string>& hooks,
                                  const Aggregation& aggregation, const CaptureOptions& options,
                                  const std::function<void(std::size_t)>& progress) {
  if (positive.empty() || negative.empty())
    throw std::invalid_argument("contrastive_vectors: both text sets must hold texts");
  torch::InferenceMode guard;
  const auto mp =
      hook_means(capture(model, positive, hooks, aggregation, options, progress), hooks);
  const auto mn =
      hook_means(capture(model, negative, hooks, aggregation, options, progress), hooks);
  const auto d = static_cast<std::int64_t>(mp.empty() ? 0 : mp.front().size());
  torch::Tensor v = torch::empty({static_cast<std::int64_t>(hooks.size()), d}, torch::kFloat32);
  auto va = v.accessor<float, 2>();
  for (std::size_t h = 0; h < hooks.size(); ++h)
    for (std::int64_t j = 0; j < d; ++j)
      va[static_cast<std::int64_t>(h)][j] = static_cast<float>(mp[h][static_cast<std::size_t>(j)] -
                                                               mn[h][static_cast<std::size_t>(j)]);
  return v;
}

torch::Tensor kl_divergence(const torch::Tensor& log_p, const torch::Tensor& log_q) {
  return (log_p.exp() * (log_p - log_q)).sum(-1);
}

TopTokens top_tokens(const torch::Tensor& probs, const torch::Tensor& logits, std::int64_t k) {
  if (k < 1 || k > probs.size(-1))
    throw std::invalid_argument("k: must be in 1.." + std::to_string(probs.size(-1)) + ", got " +
                                std::to_string(k));
  const auto top = torch::topk(probs, k, -1);
  return {std::get<1>(top).cpu().contiguous(), std::get<0>(top).cpu().contiguous(),
          logits.gather(-1, std::get<1>(top)).cpu().contiguous()};
}

torch::Tensor mean_next_token_probs(const HookedTransformer& m, const torch::Tensor& prompts,
                                    const std::vector<std::string>& hooks,
                                    const torch::Tensor& vectors, double multiplier) {
  Hooks h;  // multiplier 0 installs nothing: the unsteered bars are the plain forward pass
  if (multiplier != 0.0) {
    const auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(m.device());
    h = steering_hooks(hooks, vectors.to(f32), torch::scalar_tensor(multiplier, f32));
  }
  torch::InferenceMode guard;
  const torch::Tensor logits = m.forward(prompts.to(m.device()), h);
  return logits.select(1, logits.size(1) - 1).softmax(-1).mean(0).to(torch::kCPU, torch::kFloat64);
}

namespace {

// One forward pass over prompts [p0, p1), each with every multiplier; fills results[p][j].
void steer_batch(const Gpt2Model& m, const std::vector<std::vector<std::int32_t>>& prompts,
                 std::size_t p0, std::size_t p1, const std::vector<std::string>& hooks,
                 const torch::Tensor& vec, const std::vector<double>& mults,
                 const SteeredNextTokenOptions& o, std::vector<std::vector<NextTokens>>& results) {
  const std::size_t n_mult = mults.size();
  const auto B = static_cast<std::int64_t>((p1 - p0) * n_mult);
  std::int64_t T = 0;
  for (std::size_t p = p0; p < p1; ++p)
    T = std::max(T, static_cast<std::int64_t>(prompts[p].size()));
  torch::Tensor ids = torch::full({B, T}, o.pad_id, torch::kInt64);
  torch::Tensor mask = torch::zeros({B, T}, torch::kInt64);
  torch::Tensor last = torch::zeros({B}, torch::kInt64);
  torch::Tensor coef = torch::zeros({B}, torch::kFloat32);
  {
    auto ia = ids.accessor<std::int64_t, 2>();
    auto ma = mask.accessor<std::int64_t, 2>();
    auto la = last.accessor<std::int64_t, 1>();
    auto ca = coef.accessor<float, 1>();
    for (std::size_t p = p0; p < p1; ++p)
      for (std::size_t j = 0; j < n_mult; ++j) {
        const auto r = static_cast<std::int64_t>((p - p0) * n_mult + j);
        const auto& pid = prompts[p];
        for (std::size_t t = 0; t < pid.size(); ++t) {
          ia[r][static_cast<std::int64_t>(t)] = pid[t];
          ma[r][static_cast<std::int64_t>(t)] = 1;
        }
        la[r] = static_cast<std::int64_t>(pid.size()) - 1;
        ca[r] = static_cast<float>(mults[j]);
      }
  }
  const Hooks edits = steering_hooks(hooks, vec, coef.to(m.device(), m.dtype()).view({B, 1, 1}));
  const torch::Tensor hidden = m.forward(ids, mask, edits);  // [B, T, d]
  const torch::Tensor at_last =
      hidden.index({torch::arange(B, torch::TensorOptions().device(hidden.device())),
                    last.to(hidden.device())});               // [B, d]
  const torch::Tensor logits = m.logits(at_last);             // [B, V] float32
  const torch::Tensor logp = torch::log_softmax(logits, -1);  // [B, V]
  const TopTokens top = top_tokens(logp.exp(), logits, o.top_k);
  // KL(unsteered || steered) per row: the unsteered row of each prompt is its first
  const torch::Tensor rows =
      logp.view({static_cast<std::int64_t>(p1 - p0), static_cast<std::int64_t>(n_mult), -1});
  const torch::Tensor kl =
      kl_divergence(rows.select(1, 0).unsqueeze(1), rows).view({B}).to(torch::kFloat64).cpu();
  const auto ia = top.ids.accessor<std::int64_t, 2>();
  const auto pa = top.probs.accessor<float, 2>();
  const auto la = top.logits.accessor<float, 2>();
  const auto ka = kl.accessor<double, 1>();
  for (std::size_t p = p0; p < p1; ++p)
    for (std::size_t j = 0; j < n_mult; ++j) {
      const auto r = static_cast<std::int64_t>((p - p0) * n_mult + j);
      NextTokens& nt = results[p][j];
      for (std::int64_t q = 0; q < o.top_k; ++q) {
        nt.ids.push_back(ia[r][q]);
        nt.probs.push_back(pa[r][q]);
        nt.logits.push_back(la[r][q]);
      }
      nt.kl = std::max(0.0, ka[r]);
    }
}

}  // namespace

std::vector<std::vector<NextTokens>> steered_next_tokens(
    const Gpt2Model& m, const std::vector<std::vector<std::int32_t>>& prompts,
    const std::vector<std::string>& hooks, const torch::Tensor& vectors,
    const std::vector<double>& multipliers, const SteeredNextTokenOptions& o,
    const std::function<void(std::size_t)>& progress) {
  if (multipliers.empty() || multipliers.front() != 0.0)
    throw std::invalid_argument("multipliers: the first must be 0 (the unsteered run)");
  if (o.top_k < 1 || o.top_k > m.config().vocab_size)
    throw std::invalid_argument("top_k: must be in 1.." + std::to_string(m.config().vocab_size));
  if (o.batch_size < 1) throw std::invalid_argument("batch_size: must be >= 1");
  torch::InferenceMode guard;
  const torch::Tensor vec = vectors.to(m.device(), m.dtype());  // [n_hooks, d]
  const std::size_t n_mult = multipliers.size();
  const std::size_t per_batch =
      std::max<std::size_t>(1, static_cast<std::size_t>(o.batch_size) / n_mult);
  std::vector<std::vector<NextTokens>> results(prompts.size(), std::vector<NextTokens>(n_mult));
  for (std::size_t p0 = 0; p0 < prompts.size(); p0 += per_batch) {
    const std::size_t p1 = std::min(prompts.size(), p0 + per_batch);
    steer_batch(m, prompts, p0, p1, hooks, vec, multipliers, o, results);
    if (progress) progress((p1 - p0) * n_mult);
  }
  return results;
}

}  // namespace actlens::model
