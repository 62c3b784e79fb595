#pragma once
// Activation steering (seed belief-geometry-steering): a steering vector per hook point, times a
// multiplier m, is added to the hook's activation at every position, and the next-token
// distribution is compared with and without it. The edited activation flows on, so a later hook
// sees the effect of an earlier one and then adds its own vector.
//
// The vectors, [n_hooks, d] float32 with rows in the order of the hook list:
//   label_mean_difference  per-position labels (the MSP belief after each token): the mean
//                          activation over positions labelled `to` minus that over `from`
//   contrastive_vectors    two text sets on GPT-2, each text aggregated over its tokens as
//                          capture() does: mean over positive texts minus mean over negative ones
// The effect:
//   mean_next_token_probs  HookedTransformer: the next-token distribution at the last position,
//                          averaged over prompts of one length (the seed's bars)
//   steered_next_tokens    GPT-2: per prompt and multiplier the top-k next tokens and the KL
//                          divergence from the unsteered distribution
// built from steering_hooks (the edit), kl_divergence and top_tokens.
//
// The computations keep a fixed order of floating-point operations (sums in row order, one
// batch layout per call), so a run gives the same bytes on the same machine whatever the caller.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "actlens/core/msp.hpp"
#include "actlens/model/capture.hpp"
#include "actlens/model/gpt2.hpp"
#include "actlens/model/hooked_transformer.hpp"
#include "actlens/model/hooks.hpp"

namespace actlens::model {

// ---- the edit ----

// Hooks that add coef * vectors[k] to the activation of hooks[k] at every position.
//   vectors: [n_hooks, d] on the model's device and in its dtype (the activations' d)
//   coef:    a 0-dim tensor (one multiplier for the whole batch) or [B, 1, 1] (one per batch
//            row), same device and dtype
// The hooks must carry [B, T, d] activations (not attn.hook_pattern or mlp.hook_pre/post).
// Throws std::invalid_argument when vectors has not one row per hook.
Hooks steering_hooks(const std::vector<std::string>& hooks, const torch::Tensor& vectors,
                     const torch::Tensor& coef);

// ---- steering vectors ----

struct LabelMeanDifference {
  // [n_hooks, d] float32, computed in float64: mean over the positions labelled `to` minus the
  // mean over those labelled `from`. Undefined when n_from or n_to is 0 (the caller says which
  // label never occurs).
  torch::Tensor vectors;
  std::int64_t n_from = 0, n_to = 0;  // positions labelled `from` / `to`
};

// acts: per hook [n, T, d] float (on the CPU), e.g. the activations of every MSP input;
// labels: [n, T] int64, the label of each position (e.g. its belief index). Every position of
// every input counts (the seed's organize_activations(all_positions=True)).
// Throws std::invalid_argument when an activation's [n, T] is not labels'.
LabelMeanDifference label_mean_difference(const std::vector<torch::Tensor>& acts,
                                          const torch::Tensor& labels, std::int64_t from,
                                          std::int64_t to);

// Inputs cut to their first `length` tokens whose belief after the last of them is `belief`,
// without duplicates (several inputs share a prefix), in the order of `inputs`: [n, length]
// int64, undefined when none. Throws std::invalid_argument unless 1 <= length <= the inputs'
// length.
torch::Tensor prompts_ending_in(const core::MspInputs& inputs, int length, std::int64_t belief);

// The contrastive vector of two labelled text sets: for each hook, the mean over `positive` of
// each text's aggregated activation (capture() with `aggregation`; for `all`, every token is a
// row) minus the same over `negative`. Sums run in float64 in row order. Returns [n_hooks, d]
// float32 on the CPU. `progress` is handed to capture() (called after each batch, may throw to
// stop). Throws std::invalid_argument when a hook's rows are not [d] vectors (attn.hook_pattern,
// mlp.hook_pre/post) or a set is empty.
torch::Tensor contrastive_vectors(const Gpt2Model& model, const std::vector<CaptureText>& positive,
                                  const std::vector<CaptureText>& negative,
                                  const std::vector<std::string>& hooks,
                                  const Aggregation& aggregation, const CaptureOptions& options,
                                  const std::function<void(std::size_t)>& progress = {});

// ---- next-token distributions ----

// KL(p || q) = sum_v p_v (log p_v - log q_v) over the last dimension, from log-probabilities
// (broadcast against each other; a row's KL from itself is exactly 0). Rounding can make a
// divergence of nearly equal distributions slightly negative; callers clamp if they must.
torch::Tensor kl_divergence(const torch::Tensor& log_p, const torch::Tensor& log_q);

struct TopTokens {
  torch::Tensor ids;     // [B, k] int64, most probable first
  torch::Tensor probs;   // [B, k], probs' dtype
  torch::Tensor logits;  // [B, k], logits' dtype
};
// The k largest entries of each row of probs [B, V] with the logits [B, V] of the same tokens;
// contiguous, on the CPU. Requires 1 <= k <= V.
TopTokens top_tokens(const torch::Tensor& probs, const torch::Tensor& logits, std::int64_t k);

// HookedTransformer: the softmax of the logits at the last position of each prompt, averaged
// over the prompts, with vectors [n_hooks, d] (float32) times `multiplier` added at every
// position of `hooks` (multiplier 0: no edit installed, the plain forward pass).
//   prompts: [n, L] int64, 1 <= L <= n_ctx, all in one forward pass
// Returns [d_vocab_out] float64 on the CPU.
torch::Tensor mean_next_token_probs(const HookedTransformer& model, const torch::Tensor& prompts,
                                    const std::vector<std::string>& hooks,
                                    const torch::Tensor& vectors, double multiplier);

struct NextTokens {
  std::vector<std::int64_t> ids;     // top-k token ids, most probable first
  std::vector<float> probs, logits;  // their probabilities and logits (float32)
  double kl = 0;  // KL(unsteered || this), nats, clamped at 0; 0 for the unsteered run
};

struct SteeredNextTokenOptions {
  std::int64_t top_k = 10;       // 1..vocab_size
  std::int64_t batch_size = 16;  // rows (prompt, multiplier) per forward pass; >= 1
  std::int64_t pad_id = 0;       // token in padded positions (masked out)
};

// GPT-2: for each prompt and multiplier, the next-token distribution at the prompt's last token
// with multipliers[j] * vectors[k] added at every position of hooks[k]; softmax(ln_f(x) wte^T)
// in float32 (logits()). A prompt's rows run in one batch (max(1, batch_size / n_multipliers)
// prompts per forward pass), right-padded.
//   prompts:     token ids, 1 <= size <= n_positions each
//   vectors:     [n_hooks, d] float32 on the CPU (moved to the model's device and dtype)
//   multipliers: multipliers[0] must be 0, the unsteered run the KL is taken from
// `progress(rows)` is called after each forward pass and may throw to stop. Returns
// [n_prompts][n_multipliers]. Throws std::invalid_argument for an empty multiplier list or one
// that does not start with 0, or top_k / batch_size out of range.
std::vector<std::vector<NextTokens>> steered_next_tokens(
    const Gpt2Model& model, const std::vector<std::vector<std::int32_t>>& prompts,
    const std::vector<std::string>& hooks, const torch::Tensor& vectors,
    const std::vector<double>& multipliers, const SteeredNextTokenOptions& options,
    const std::function<void(std::size_t)>& progress = {});

}  // namespace actlens::model
