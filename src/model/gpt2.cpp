#include "actlens/model/gpt2.hpp"

#include <cmath>
#include <limits>
#include <sstream>

#include "actlens/error.hpp"
#include "actlens/io/hf_folder.hpp"
#include "actlens/io/json_file.hpp"
#include "actlens/model/affine.hpp"
#include "actlens/model/checkpoint.hpp"
#include "actlens/model/weights.hpp"
#include "attention_cpu.hpp"
#include "gelu_cpu.hpp"

namespace actlens::model {
namespace fs = std::filesystem;
namespace {

// Sizes past these are no GPT-2 model (a damaged or hostile config.json): refused before any
// allocation depends on them.
constexpr std::int64_t kMaxLayers = 4096;
constexpr std::int64_t kMaxSize = std::int64_t{1} << 24;

std::string shown(const nlohmann::json& v) {
  std::string s = v.dump();
  return s.size() > 60 ? s.substr(0, 60) + "..." : s;
}

std::int64_t get_int(const nlohmann::json& j, const std::vector<std::string>& keys,
                     const std::string& what, std::int64_t fallback, bool required,
                     std::int64_t max = kMaxSize) {
  for (const auto& k : keys) {
    if (!j.contains(k) || j[k].is_null()) continue;
    const auto& v = j[k];
    if (!v.is_number_integer() ||
        (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(max)))
      throw Error(what + ": key '" + k + "' must be an integer 0.." + std::to_string(max) +
                  ", got " + shown(v) + "; fix the config");
    const auto x = v.get<std::int64_t>();
    if (x < 0 || x > max)
      throw Error(what + ": key '" + k + "' must be an integer 0.." + std::to_string(max) +
                  ", got " + shown(v) + "; fix the config");
    return x;
  }
  if (required) throw Error(what + ": missing \"" + keys.front() + "\"");
  return fallback;
}

// The value of an optional key of the given JSON type; nullptr when absent or null. A value of
// another type is an error naming the key.
const nlohmann::json* typed(const nlohmann::json& j, const char* key, nlohmann::json::value_t type,
                            const char* type_words, const std::string& what) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return nullptr;
  const bool ok =
      type == nlohmann::json::value_t::number_float ? it->is_number() : it->type() == type;
  if (!ok)
    throw Error(what + ": key '" + key + "' must be " + type_words + ", got " + shown(*it) +
                "; fix the config");
  return &*it;
}

torch::Tensor layer_norm(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b,
                         double eps) {
  return torch::layer_norm(x, {x.size(-1)}, w, b, eps);
}

}  // namespace

Gpt2Config Gpt2Config::from_json(const nlohmann::json& j, const std::string& what) {
  if (!j.is_object()) throw Error(what + ": expected a JSON object");
  Gpt2Config c;
  using vt = nlohmann::json::value_t;
  if (const auto* v = typed(j, "model_type", vt::string, "a string", what)) {
    c.model_type = v->get<std::string>();
    if (c.model_type != "gpt2")
      throw Error(what + ": model_type is \"" + c.model_type +
                  "\"; actlens capture runs GPT-2 models (model_type \"gpt2\")");
  }
  c.n_layer = get_int(j, {"n_layer", "num_hidden_layers"}, what, 0, true, kMaxLayers);
  c.n_embd = get_int(j, {"n_embd", "hidden_size"}, what, 0, true);
  c.n_head = get_int(j, {"n_head", "num_attention_heads"}, what, 0, true);
  c.n_positions = get_int(j, {"n_positions", "max_position_embeddings"}, what, 1024, false);
  c.vocab_size = get_int(j, {"vocab_size"}, what, 50257, false);
  c.n_inner = get_int(j, {"n_inner"}, what, 0, false);
  if (const auto* v = typed(j, "layer_norm_epsilon", vt::number_float, "a number", what)) {
    c.layer_norm_epsilon = v->get<double>();
    if (!std::isfinite(c.layer_norm_epsilon) || c.layer_norm_epsilon < 0 ||
        c.layer_norm_epsilon >= 1)
      throw Error(what +
                  ": key 'layer_norm_epsilon' must be a small non-negative number (like "
                  "1e-05), got " +
                  shown(*v) + "; fix the config");
  }
  if (const auto* v = typed(j, "activation_function", vt::string, "a string", what))
    c.activation_function = v->get<std::string>();
  if (const auto* v = typed(j, "scale_attn_weights", vt::boolean, "true or false", what))
    c.scale_attn_weights = v->get<bool>();
  if (const auto* v =
          typed(j, "scale_attn_by_inverse_layer_idx", vt::boolean, "true or false", what))
    c.scale_attn_by_inverse_layer_idx = v->get<bool>();
  if (c.n_layer < 1 || c.n_embd < 1 || c.n_head < 1 || c.n_positions < 1 || c.vocab_size < 1)
    throw Error(what + ": n_layer, n_embd, n_head, n_positions and vocab_size must be >= 1");
  if (c.n_embd % c.n_head != 0)
    throw Error(what + ": n_embd (" + std::to_string(c.n_embd) + ") is not divisible by n_head (" +
                std::to_string(c.n_head) + ")");
  static const std::vector<std::string> acts = {
      "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "gelu", "relu", "silu", "swish"};
  if (std::find(acts.begin(), acts.end(), c.activation_function) == acts.end())
    throw Error(what + ": activation_function \"" + c.activation_function +
                "\" is not implemented (gelu_new, gelu_pytorch_tanh, gelu_fast, gelu, relu, silu)");
  return c;
}

nlohmann::json Gpt2Config::to_json() const {
  return {{"model_type", model_type},
          {"n_layer", n_layer},
          {"n_embd", n_embd},
          {"n_head", n_head},
          {"n_positions", n_positions},
          {"vocab_size", vocab_size},
          {"d_mlp", d_mlp()},
          {"layer_norm_epsilon", layer_norm_epsilon},
          {"activation_function", activation_function}};
}

Gpt2Config Gpt2Config::from_folder(const fs::path& dir, std::string_view missing_hint) {
  io::require_hf_folder(dir, "GPT-2");
  const fs::path cfg_path = io::require_hf_config(dir, missing_hint);
  return from_json(io::read_json_file(cfg_path, "a config.json file"), cfg_path.string());
}

Gpt2Model Gpt2Model::load(const fs::path& dir, const Gpt2LoadOptions& options) {
  Gpt2Model m;
  m.cfg_ = Gpt2Config::from_folder(dir);
  m.opts_ = options;
  const auto& c = m.cfg_;
  const std::int64_t d = c.n_embd, f = c.d_mlp();

  torch::InferenceMode guard;
  Checkpoint ck = load_hf_checkpoint(dir);
  std::string file = ck.files.size() == 1 ? ck.files.front().string() : dir.string();
  WeightTaker taker(ck.tensors, file, {"transformer.", "; the checkpoint is corrupt"});
  // Checked as stored, then moved to the model's dtype and device.
  const auto w = [&](const std::string& name, const std::vector<std::int64_t>& shape) {
    return taker.take(name, shape).to(m.opts_.device, m.opts_.dtype).contiguous();
  };
  m.wte_ = w("wte.weight", {c.vocab_size, d});
  m.wpe_ = w("wpe.weight", {c.n_positions, d});
  for (std::int64_t l = 0; l < c.n_layer; ++l) {
    const std::string p = "h." + std::to_string(l) + ".";
    Block b;
    b.ln_1 = {w(p + "ln_1.weight", {d}), w(p + "ln_1.bias", {d})};
    b.c_attn_w = w(p + "attn.c_attn.weight", {d, 3 * d});
    b.c_attn_b = w(p + "attn.c_attn.bias", {3 * d});
    b.attn_proj_w = w(p + "attn.c_proj.weight", {d, d});
    b.attn_proj_b = w(p + "attn.c_proj.bias", {d});
    b.ln_2 = {w(p + "ln_2.weight", {d}), w(p + "ln_2.bias", {d})};
    b.c_fc_w = w(p + "mlp.c_fc.weight", {d, f});
    b.c_fc_b = w(p + "mlp.c_fc.bias", {f});
    b.mlp_proj_w = w(p + "mlp.c_proj.weight", {f, d});
    b.mlp_proj_b = w(p + "mlp.c_proj.bias", {d});
    for (const auto& s : block_hook_suffixes())
      b.hook.push_back("blocks." + std::to_string(l) + "." + s);
    m.blocks_.push_back(std::move(b));
  }
  m.ln_f_ = {w("ln_f.weight", {d}), w("ln_f.bias", {d})};
  return m;
}

torch::Tensor Gpt2Model::activation(const torch::Tensor& x) const {
  const auto& a = cfg_.activation_function;
  if (a == "gelu_new" || a == "gelu_pytorch_tanh" || a == "gelu_fast") {
    if (x.device().is_cpu() && x.scalar_type() == torch::kFloat32) {
      torch::Tensor y = gelu_tanh_cpu(x);
      if (y.defined()) return y;
    }
    return torch::gelu(x, "tanh");
  }
  if (a == "gelu") return torch::gelu(x);
  if (a == "relu") return torch::relu(x);
  return torch::silu(x);  // "silu" / "swish"
}

torch::Tensor Gpt2Model::block_forward(const Block& blk, int layer, torch::Tensor x,
                                       const torch::Tensor& attn_bias,
                                       const torch::Tensor& key_mask, const Hooks& hooks) const {
  const std::int64_t B = x.size(0), T = x.size(1), d = cfg_.n_embd, H = cfg_.n_head;
  const std::int64_t dh = cfg_.d_head();
  auto hook = [&](int i, torch::Tensor t) {
    return hooks.active(blk.hook[static_cast<std::size_t>(i)])
               ? hooks(blk.hook[static_cast<std::size_t>(i)], std::move(t))
               : t;
  };
  x = hook(0, std::move(x));  // hook_resid_pre [B, T, d]

  // ---- attention ----
  const torch::Tensor h = layer_norm(x, blk.ln_1.w, blk.ln_1.b, cfg_.layer_norm_epsilon);
  const torch::Tensor qkv = affine(h, blk.c_attn_w, blk.c_attn_b);  // [B, T, 3d]
  double scale = cfg_.scale_attn_weights ? 1.0 / std::sqrt(static_cast<double>(dh)) : 1.0;
  if (cfg_.scale_attn_by_inverse_layer_idx) scale /= static_cast<double>(layer + 1);
  torch::Tensor z;  // [B, T, d]: heads side by side
  if (qkv.device().is_cpu() && qkv.scalar_type() == torch::kFloat32 && !hooks.edits(blk.hook[1])) {
    // Fused CPU kernel (attention_cpu.hpp); the pattern is only materialized when read.
    torch::Tensor pattern;
    const bool read_pattern = hooks.active(blk.hook[1]);
    z = causal_attention_cpu(qkv, key_mask, H, static_cast<float>(scale),
                             read_pattern ? &pattern : nullptr);
    if (read_pattern) hooks(blk.hook[1], pattern);  // attn.hook_pattern [B, H, T, T]
  } else {
    const auto parts = qkv.split(d, -1);
    // [B, T, d] -> [B, H, T, dh]
    const torch::Tensor q = parts[0].view({B, T, H, dh}).transpose(1, 2);
    const torch::Tensor k = parts[1].view({B, T, H, dh}).transpose(1, 2);
    const torch::Tensor v = parts[2].view({B, T, H, dh}).transpose(1, 2);
    torch::Tensor scores = torch::matmul(q, k.transpose(-1, -2));  // [B, H, T, T]
    scores.mul_(scale);
    scores.add_(attn_bias);  // causal + right-padding mask, [B, 1, T, T]
    torch::Tensor pattern = torch::softmax(scores, -1);
    pattern = hook(1, std::move(pattern));  // attn.hook_pattern [B, H, T, T]
    // [B, H, T, dh] -> [B, T, H * dh]
    z = torch::matmul(pattern, v).transpose(1, 2).reshape({B, T, d});
  }
  torch::Tensor resid_mid;  // [B, T, d]
  if (hooks.active(blk.hook[2])) {
    torch::Tensor attn_out = affine(z, blk.attn_proj_w, blk.attn_proj_b);
    attn_out = hook(2, std::move(attn_out));  // hook_attn_out [B, T, d]
    resid_mid = x + attn_out;
  } else {  // nobody reads attn_out: the residual add happens inside the product
    resid_mid = affine_add(z, blk.attn_proj_w, blk.attn_proj_b, x);
  }
  resid_mid = hook(3, std::move(resid_mid));  // hook_resid_mid

  // ---- MLP ----
  const torch::Tensor h2 = layer_norm(resid_mid, blk.ln_2.w, blk.ln_2.b, cfg_.layer_norm_epsilon);
  torch::Tensor pre = hook(4, affine(h2, blk.c_fc_w, blk.c_fc_b));  // mlp.hook_pre [B, T, d_mlp]
  torch::Tensor post = hook(5, activation(pre));                    // mlp.hook_post
  if (hooks.active(blk.hook[6])) {
    torch::Tensor mlp_out = hook(6, affine(post, blk.mlp_proj_w, blk.mlp_proj_b));  // [B, T, d]
    return hook(7, resid_mid + mlp_out);  // hook_resid_post [B, T, d]
  }
  return hook(7, affine_add(post, blk.mlp_proj_w, blk.mlp_proj_b, resid_mid));
}

torch::Tensor Gpt2Model::forward(const torch::Tensor& input_ids,
                                 const torch::Tensor& attention_mask, const Hooks& hooks,
                                 int last_block) const {
  if (input_ids.dim() != 2 || !attention_mask.sizes().equals(input_ids.sizes()))
    throw Error("GPT-2 forward: input_ids and attention_mask must both be [batch, tokens]");
  const std::int64_t B = input_ids.size(0), T = input_ids.size(1), d = cfg_.n_embd;
  if (T > cfg_.n_positions)
    throw Error("GPT-2 forward: " + std::to_string(T) +
                " tokens exceed n_positions = " + std::to_string(cfg_.n_positions));
  if (T == 0 || B == 0) throw Error("GPT-2 forward: empty batch");
  const torch::Tensor ids = input_ids.to(opts_.device, torch::kInt64);
  {
    const auto lo = ids.min().item<std::int64_t>(), hi = ids.max().item<std::int64_t>();
    if (lo < 0 || hi >= cfg_.vocab_size)
      throw Error("GPT-2 forward: token id " + std::to_string(lo < 0 ? lo : hi) +
                  " is outside the vocabulary [0, " + std::to_string(cfg_.vocab_size) +
                  "); does the tokenizer belong to this model?");
  }
  const torch::Tensor mask = attention_mask.to(opts_.device).to(torch::kBool);

  torch::Tensor embed = torch::embedding(wte_, ids);  // [B, T, d]
  if (hooks.active("hook_embed")) embed = hooks("hook_embed", std::move(embed));
  torch::Tensor pos = wpe_.slice(0, 0, T).unsqueeze(0).expand({B, T, d});  // positions 0..T-1
  if (hooks.active("hook_pos_embed")) pos = hooks("hook_pos_embed", pos.contiguous());
  torch::Tensor x = embed + pos;

  // Additive attention bias [B, 1, T, T]: 0 where query i may see key j (j <= i and j is a
  // token), the dtype's lowest value elsewhere (as Hugging Face; -inf could give NaN rows).
  const torch::Tensor causal =
      torch::ones({T, T}, torch::TensorOptions().dtype(torch::kBool).device(opts_.device)).tril();
  const torch::Tensor allowed = causal.view({1, 1, T, T}).logical_and(mask.view({B, 1, 1, T}));
  const float lowest = opts_.dtype == torch::kFloat16
                           ? static_cast<float>(std::numeric_limits<c10::Half>::lowest())
                       : opts_.dtype == torch::kBFloat16
                           ? static_cast<float>(std::numeric_limits<c10::BFloat16>::lowest())
                           : std::numeric_limits<float>::lowest();
  const torch::Tensor attn_bias =
      torch::zeros({B, 1, T, T}, torch::TensorOptions().dtype(opts_.dtype).device(opts_.device))
          .masked_fill(allowed.logical_not(), lowest);

  const int n = static_cast<int>(cfg_.n_layer);
  const int last = last_block < 0 || last_block >= n ? n - 1 : last_block;
  for (int l = 0; l <= last; ++l)
    x = block_forward(blocks_[static_cast<std::size_t>(l)], l, std::move(x), attn_bias, mask,
                      hooks);
  if (last < n - 1) return x;

  // Final LayerNorm; TransformerLens's ln_final.hook_normalized is before its weight and bias.
  if (hooks.active("ln_final.hook_normalized")) {
    torch::Tensor normalized = torch::layer_norm(x, {d}, {}, {}, cfg_.layer_norm_epsilon);
    normalized = hooks("ln_final.hook_normalized", std::move(normalized));
    x = normalized * ln_f_.w + ln_f_.b;
  } else {
    x = layer_norm(x, ln_f_.w, ln_f_.b, cfg_.layer_norm_epsilon);
  }
  if (hooks.active("hook_final")) x = hooks("hook_final", std::move(x));
  return x;
}

torch::Tensor Gpt2Model::logits(const torch::Tensor& hidden) const {
  if (hidden.dim() < 1 || hidden.size(-1) != cfg_.n_embd)
    throw Error("GPT-2 logits: hidden states must end in d_model = " + std::to_string(cfg_.n_embd));
  const torch::Tensor w = wte_.to(torch::kFloat32);
  return torch::matmul(hidden.to(wte_.device(), torch::kFloat32), w.t());
}

torch::ScalarType parse_dtype(const std::string& s) {
  if (s == "float32" || s == "fp32") return torch::kFloat32;
  if (s == "bfloat16" || s == "bf16") return torch::kBFloat16;
  if (s == "float16" || s == "fp16" || s == "half") return torch::kFloat16;
  throw UsageError("--dtype: '" + s + "' is not one of float32, bfloat16, float16");
}

std::string dtype_name(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat32:
      return "float32";
    case torch::kBFloat16:
      return "bfloat16";
    case torch::kFloat16:
      return "float16";
    default:
      return c10::toString(t);
  }
}

bool built_with_cuda() {
#ifdef ACTLENS_TORCH_CUDA
  return true;
#else
  return false;
#endif
}

void check_dtype_on_device(torch::ScalarType dtype, const torch::Device& device) {
  if (device.is_cpu() && dtype == torch::kFloat16)
    throw UsageError("--dtype float16 needs --device cuda; on the CPU use bfloat16 or float32");
}

torch::Device parse_device(const std::string& s) {
  if (s == "cpu") return torch::kCPU;
  if (s.rfind("cuda", 0) != 0) throw UsageError("--device: '" + s + "' is not cpu, cuda or cuda:N");
  int index = 0;
  if (s.size() > 4) {
    if (s[4] != ':' || s.size() == 5 || s.find_first_not_of("0123456789", 5) != std::string::npos)
      throw UsageError("--device: '" + s + "' is not cpu, cuda or cuda:N");
    index = std::stoi(s.substr(5));
  }
  if (!built_with_cuda())
    throw Error("--device " + s +
                ": this actlens was built against a CPU-only LibTorch; build the CUDA version "
                "with scripts/build-cuda, or use --device cpu");
  const auto count = static_cast<int>(torch::cuda::device_count());
  if (count == 0)
    throw Error("--device " + s +
                ": no CUDA GPU is visible (check nvidia-smi and "
                "CUDA_VISIBLE_DEVICES), or use --device cpu");
  if (index >= count)
    throw Error("--device " + s + ": only " + std::to_string(count) + " CUDA device(s) visible");
  return {torch::kCUDA, static_cast<c10::DeviceIndex>(index)};
}

}  // namespace actlens::model
