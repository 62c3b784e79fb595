#pragma once
// A TransformerLens-style HookedTransformer in LibTorch: token + learned positional embeddings,
// n_layers pre-LayerNorm blocks (causal multi-head attention, MLP), final LayerNorm, unembed.
// Parameters carry TransformerLens's names and shapes, so a checkpoint is interchangeable with
// Python:
//   embed.W_E [d_vocab, d_model]           pos_embed.W_pos [n_ctx, d_model]
//   blocks.L.ln1.w/b, ln2.w/b [d_model]    (absent when normalization_type is none)
//   blocks.L.attn.W_Q/W_K/W_V [n_heads, d_model, d_head]   b_Q/b_K/b_V [n_heads, d_head]
//   blocks.L.attn.W_O [n_heads, d_head, d_model]            b_O [d_model]
//   blocks.L.mlp.W_in [d_model, d_mlp] b_in [d_mlp] W_out [d_mlp, d_model] b_out [d_model]
//   ln_final.w/b [d_model]                 unembed.W_U [d_model, d_vocab_out] b_U [d_vocab_out]
// Without normalization (TransformerLens's None) there is no ln_final.w/b either.
//
// Saved as a folder:
//   config.json  HookedTransformerConfig field names (n_layers, d_model, n_ctx, d_head, n_heads,
//                d_mlp, d_vocab, d_vocab_out, act_fn, normalization_type ("LN" or null), eps,
//                initializer_range, seed; resolved values, no -1) plus "actlens": {extra}
//   model.pt     the state dict as torch.save writes it (zip; loads with torch.load's default
//                weights_only=True), in TL's state_dict() order, with TL's buffers after each
//                block's attn.b_V: attn.mask [n_ctx, n_ctx] (bool lower triangle, the shape
//                TL 2.x wants; TL 3.x accepts any) and attn.IGNORE (-inf), so that strict
//                loading works. In Python (TransformerLens < 4):
//     j = json.load(open(d / "config.json")); j.pop("actlens", None)
//     model = HookedTransformer(HookedTransformerConfig(**j))
//     model.load_state_dict(torch.load(d / "model.pt"), strict=True)
// Loading reads model.pt with actlens's own safe pickle reader (nothing in it is executed), or
// model.safetensors; the buffers are ignored, any other unexpected key is an error.
// init() draws the same weights as Python's HookedTransformer(cfg) for the same seed (bit for bit
// with LibTorch 1.13 and PyPI torch 2.15 at the time of writing; the fixture script
// tests/reference/make_hooked_transformer_fixtures.py prints the difference).
//
// The forward pass equals TransformerLens's (tests: max |diff| ~2e-6 on logits) and offers the
// hook points of hooks.hpp, the same mechanism as GPT-2, so capture, regression and steering code
// works on either model: hook_embed, hook_pos_embed, blocks.L.hook_resid_pre ... hook_resid_post,
// ln_final.hook_normalized (before ln_final's w and b, as TL; absent without normalization) and
// hook_final (the input of unembed).
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "actlens/model/hooks.hpp"

namespace actlens::model {

struct HookedTransformerConfig {
  std::int64_t n_layers = 4, d_model = 128, n_ctx = 10, d_head = 16, n_heads = 4, d_mlp = 512;
  std::int64_t d_vocab = 2;
  std::int64_t d_vocab_out = -1;          // -1: d_vocab
  std::string act_fn = "relu";            // relu gelu gelu_new gelu_fast gelu_pytorch_tanh silu
  std::string normalization_type = "LN";  // "LN" or "" (none; TransformerLens's None)
  double eps = 1e-5;
  double init_range = -1;  // config.json "initializer_range"; -1: 0.8 / sqrt(d_model), as TL
  std::int64_t seed = 0;   // initialisation seed (train), recorded in config.json

  std::int64_t vocab_out() const { return d_vocab_out > 0 ? d_vocab_out : d_vocab; }
  bool has_ln() const { return normalization_type == "LN"; }
  double init_std() const;

  // Reads TransformerLens's config fields (unknown ones are ignored; those actlens cannot run,
  // e.g. attn_only, rotary positions, LNPre, parallel attention, are refused by name).
  // Throws actlens::Error naming `what` and the field.
  static HookedTransformerConfig from_json(const nlohmann::json& j, const std::string& what);
  nlohmann::json to_json() const;
};

class HookedTransformer {
 public:
  // Fresh weights as TransformerLens's init_weights (gpt2 mode): normal(0, init_std) for every
  // matrix and embedding, zero biases, LayerNorm weights one. Deterministic for cfg.seed.
  static HookedTransformer init(const HookedTransformerConfig& cfg,
                                torch::Device device = torch::kCPU);
  // A folder written by save() or by Python (config.json + model.pt or model.safetensors).
  // Throws actlens::Error naming the file: missing config.json or weights, a missing weight (its
  // name and expected shape), a wrong shape, NaN/Inf.
  static HookedTransformer load(const std::filesystem::path& dir,
                                torch::Device device = torch::kCPU);
  // Writes dir/config.json and dir/model.pt atomically (temporary file, then rename). `extra` is
  // merged into config.json under "actlens" (e.g. the process and training step).
  void save(const std::filesystem::path& dir, const nlohmann::json& extra = {}) const;

  const HookedTransformerConfig& config() const { return cfg_; }
  torch::Device device() const { return device_; }

  // tokens [B, T] int64 with 1 <= T <= n_ctx; returns logits [B, T, d_vocab_out] (float32).
  // Differentiable unless called under torch::NoGradGuard / InferenceMode. Hook points are called
  // in forward order (the same names as GPT-2's, see hooks.hpp).
  torch::Tensor forward(const torch::Tensor& tokens, const Hooks& hooks = {}) const;

  // Every parameter (requires_grad) with its TransformerLens name, in state-dict order.
  const std::vector<std::pair<std::string, torch::Tensor>>& named_parameters() const {
    return params_;
  }
  std::vector<torch::Tensor> parameters() const;
  std::int64_t parameter_count() const;

 private:
  struct Block {
    torch::Tensor ln1_w, ln1_b, ln2_w, ln2_b;
    torch::Tensor W_Q, W_K, W_V, W_O, b_Q, b_K, b_V, b_O;
    torch::Tensor W_in, b_in, W_out, b_out;
    std::vector<std::string> hook;  // block_hook_suffixes with "blocks.L." prefix
  };
  // Every parameter: its TransformerLens name, the member holding it, its shape (state-dict
  // order). Pointers into this object: use before copying it.
  struct Slot {
    std::string name;
    torch::Tensor* tensor;
    std::vector<std::int64_t> shape;
  };
  std::vector<Slot> slots();
  void build_blocks();     // blocks_ of n_layers with their hook names
  void register_params();  // params_ from the filled slots
  torch::Tensor activation(const torch::Tensor& x) const;
  torch::Tensor block_forward(const Block& b, torch::Tensor x, const torch::Tensor& mask,
                              const Hooks& hooks) const;

  HookedTransformerConfig cfg_;
  torch::Device device_ = torch::kCPU;
  torch::Tensor W_E, W_pos, lnf_w, lnf_b, W_U, b_U;
  std::vector<Block> blocks_;
  std::vector<std::pair<std::string, torch::Tensor>> params_;
};

}  // namespace actlens::model
