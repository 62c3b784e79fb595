#pragma once
// GPT-2 (Hugging Face's GPT2Model) in LibTorch: embeddings, n_layer pre-LayerNorm blocks of
// causal self-attention and MLP, final LayerNorm. Inference only (no autograd), batched, with an
// attention mask for right padding. Every TransformerLens hook point is offered (hooks.hpp).
//
// Loads any GPT-2-shaped folder: config.json (n_layer, n_embd, n_head, n_positions, vocab_size,
// n_inner, layer_norm_epsilon, activation_function) and its weights, with or without the
// "transformer." prefix of GPT2LMHeadModel; attention-mask buffers (attn.bias, attn.masked_bias)
// and lm_head.weight are ignored.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "actlens/model/hooks.hpp"

namespace actlens::model {

struct Gpt2Config {
  std::int64_t n_layer = 12, n_embd = 768, n_head = 12, n_positions = 1024, vocab_size = 50257;
  std::int64_t n_inner = 0;  // MLP width; 0 in config.json (null) means 4 * n_embd
  double layer_norm_epsilon = 1e-5;
  std::string activation_function = "gelu_new";
  bool scale_attn_weights = true;
  bool scale_attn_by_inverse_layer_idx = false;
  std::string model_type = "gpt2";

  std::int64_t d_mlp() const { return n_inner > 0 ? n_inner : 4 * n_embd; }
  std::int64_t d_head() const { return n_embd / n_head; }

  // Reads a Hugging Face config.json; `what` names it in errors. Throws actlens::Error for a
  // missing required key, a non-GPT-2 model_type, n_embd not divisible by n_head, or an
  // activation function actlens does not implement.
  static Gpt2Config from_json(const nlohmann::json& j, const std::string& what);
  // config.json of the Hugging Face folder `dir` (io/hf_folder.hpp), through from_json. Throws
  // actlens::Error when `dir` is not a folder, when config.json is missing
  // ("<dir>/config.json: missing; " + missing_hint) or for what from_json refuses.
  static Gpt2Config from_folder(
      const std::filesystem::path& dir,
      std::string_view missing_hint = "a Hugging Face model folder has one");
  nlohmann::json to_json() const;
};

struct Gpt2LoadOptions {
  torch::Device device = torch::kCPU;
  torch::ScalarType dtype = torch::kFloat32;
};

class Gpt2Model {
 public:
  // Throws actlens::Error naming the folder/file: missing config.json or weights, a missing
  // weight (its name and expected shape), a weight of the wrong shape (both shapes).
  static Gpt2Model load(const std::filesystem::path& dir, const Gpt2LoadOptions& options = {});

  const Gpt2Config& config() const { return cfg_; }
  torch::Device device() const { return opts_.device; }
  torch::ScalarType dtype() const { return opts_.dtype; }

  // input_ids: [B, T] int64; attention_mask: [B, T], 1 for tokens and 0 for right padding.
  // Runs blocks 0..last_block (all when -1) and, when all ran, the final LayerNorm. Returns the
  // last computed residual stream [B, T, d] (= Hugging Face's last_hidden_state when all ran).
  // Hook points are called in forward order. Must run under torch::InferenceMode.
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                        const Hooks& hooks, int last_block = -1) const;

  // Next-token logits [..., vocab_size] in float32 from hidden states [..., d] that forward()
  // returned with every block run (after ln_f): GPT-2 ties its unembedding to the token
  // embedding, so logits = hidden @ wte^T (Hugging Face's GPT2LMHeadModel.lm_head).
  torch::Tensor logits(const torch::Tensor& hidden) const;
  // The token embedding [vocab_size, d] on the model's device, in its dtype.
  const torch::Tensor& wte() const { return wte_; }

 private:
  struct LayerNormW {
    torch::Tensor w, b;  // [d]
  };
  struct Block {
    LayerNormW ln_1, ln_2;
    torch::Tensor c_attn_w, c_attn_b;        // [d, 3d], [3d]: q, k, v side by side
    torch::Tensor attn_proj_w, attn_proj_b;  // [d, d], [d]
    torch::Tensor c_fc_w, c_fc_b;            // [d, d_mlp], [d_mlp]
    torch::Tensor mlp_proj_w, mlp_proj_b;    // [d_mlp, d], [d]
    std::vector<std::string> hook;  // names of this block's hook points (block_hook_suffixes)
  };

  // attn_bias: [B, 1, T, T] additive mask (tensor-op path); key_mask: [B, T] bool.
  torch::Tensor block_forward(const Block& blk, int layer, torch::Tensor x,
                              const torch::Tensor& attn_bias, const torch::Tensor& key_mask,
                              const Hooks& hooks) const;
  torch::Tensor activation(const torch::Tensor& x) const;

  Gpt2Config cfg_;
  Gpt2LoadOptions opts_;
  torch::Tensor wte_, wpe_;  // [vocab, d], [n_positions, d]
  std::vector<Block> blocks_;
  LayerNormW ln_f_;
};

// "float32" | "bfloat16" | "float16" (also fp32/bf16/fp16) -> dtype; throws UsageError otherwise.
torch::ScalarType parse_dtype(const std::string& s);
std::string dtype_name(torch::ScalarType t);
// "cpu" | "cuda" | "cuda:N" -> device, checking that this build and machine can use it; throws
// actlens::Error with what to do (e.g. a CPU-only build: use scripts/build-cuda).
torch::Device parse_device(const std::string& s);
// Refuses (UsageError) a dtype the device cannot compute in: float16 on the CPU.
void check_dtype_on_device(torch::ScalarType dtype, const torch::Device& device);
// Whether this binary's LibTorch was built with CUDA (a run may still find no GPU).
bool built_with_cuda();

}  // namespace actlens::model
