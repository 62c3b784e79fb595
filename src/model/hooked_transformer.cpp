#include "actlens/model/hooked_transformer.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numbers>
#include <string_view>

#include "actlens/error.hpp"
#include "actlens/io/atomic_file.hpp"
#include "actlens/io/json_file.hpp"
#include "actlens/io/shape.hpp"
#include "actlens/model/checkpoint.hpp"
#include "actlens/model/weights.hpp"

namespace actlens::model {
namespace fs = std::filesystem;
namespace {

// A present, non-null field (TransformerLens writes None as null: the default then applies).
const nlohmann::json* field(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

std::int64_t get_int(const nlohmann::json& j, const char* key, const std::string& what,
                     std::int64_t fallback) {
  const auto* v = field(j, key);
  if (!v) return fallback;
  if (!v->is_number_integer() ||
      (v->is_number_unsigned() &&
       v->get<std::uint64_t>() >
           static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())))
    throw Error(what + ": \"" + key + "\" must be an integer, not " + v->dump().substr(0, 60));
  return v->get<std::int64_t>();
}

std::int64_t require_int(const nlohmann::json& j, const char* key, const std::string& what) {
  if (!field(j, key)) throw Error(what + ": missing \"" + key + "\" (an integer)");
  return get_int(j, key, what, 0);
}

const std::vector<std::string>& activations() {
  static const std::vector<std::string> a = {
      "relu", "gelu", "gelu_new", "gelu_fast", "gelu_pytorch_tanh", "silu"};
  return a;
}

// Whatever from_json reads or init is given: sizes, activation, normalization.
void check(const HookedTransformerConfig& c, const std::string& what) {
  const std::pair<const char*, std::int64_t> sizes[] = {
      {"n_layers", c.n_layers}, {"d_model", c.d_model}, {"n_ctx", c.n_ctx},    {"d_head", c.d_head},
      {"n_heads", c.n_heads},   {"d_mlp", c.d_mlp},     {"d_vocab", c.d_vocab}};
  // Larger sizes are no model actlens can hold (a damaged or hostile config): refused before
  // any allocation depends on them.
  constexpr std::int64_t kMaxSize = std::int64_t{1} << 24, kMaxLayers = 4096;
  for (const auto& [name, v] : sizes) {
    if (v < 1) throw Error(what + ": \"" + name + "\" is " + std::to_string(v) + ", must be >= 1");
    const std::int64_t max = std::string_view(name) == "n_layers" ? kMaxLayers : kMaxSize;
    if (v > max)
      throw Error(what + ": \"" + name + "\" is " + std::to_string(v) + ", more than the " +
                  std::to_string(max) + " actlens accepts; fix the config");
  }
  if (c.d_vocab_out == 0 || c.d_vocab_out < -1)
    throw Error(what + ": \"d_vocab_out\" is " + std::to_string(c.d_vocab_out) +
                ", must be >= 1 (or -1: d_vocab)");
  if (std::find(activations().begin(), activations().end(), c.act_fn) == activations().end())
    throw Error(what + ": act_fn \"" + c.act_fn +
                "\" is not implemented (relu, gelu, gelu_new, gelu_fast, gelu_pytorch_tanh, silu)");
  if (c.normalization_type != "LN" && !c.normalization_type.empty())
    throw Error(what + ": normalization_type \"" + c.normalization_type +
                "\" is not implemented (\"LN\" or null)");
  if (!(c.eps > 0) || !std::isfinite(c.eps))
    throw Error(what + ": \"eps\" must be a positive number");
}

// TransformerLens options that change the computation and that actlens does not implement: the
// config is refused rather than silently run as a different model.
void refuse_unsupported(const nlohmann::json& j, const std::string& what) {
  auto refuse = [&](const std::string& key, const std::string& why) {
    throw Error(what + ": \"" + key + "\" is " + j.at(key).dump() +
                "; actlens's HookedTransformer does not implement " + why);
  };
  for (const char* key :
       {"attn_only", "parallel_attn_mlp", "gated_mlp", "use_local_attn", "final_rms",
        "post_embedding_ln", "use_qk_norm", "use_logn_attn", "use_normalization_before_and_after",
        "use_attention_sinks", "scale_attn_by_inverse_layer_idx", "load_in_4bit",
        "use_dynamic_ntk_rope", "use_NTK_by_parts_rope", "use_yarn_rope"})
    if (const auto* v = field(j, key); v && !(v->is_boolean() && !v->get<bool>()))
      refuse(key, "it (only false is supported)");
  for (const char* key : {"n_key_value_heads", "num_experts", "clip_qkv"})
    if (field(j, key)) refuse(key, "it (only null is supported)");
  const std::pair<const char*, const char*> fixed[] = {{"positional_embedding_type", "standard"},
                                                       {"attention_dir", "causal"},
                                                       {"init_mode", "gpt2"}};
  for (const auto& [key, want] : fixed)
    if (const auto* v = field(j, key); v && *v != want)
      refuse(key, std::string("it (only \"") + want + "\" is supported)");
  for (const char* key : {"attn_scores_soft_cap", "output_logits_soft_cap"})
    if (const auto* v = field(j, key); v && !(v->is_number() && v->get<double>() <= 0))
      refuse(key, "soft-capping (only -1, disabled, is supported)");
  if (const auto* v = field(j, "use_attn_scale"); v && !(v->is_boolean() && v->get<bool>()))
    refuse("use_attn_scale", "unscaled attention (only true is supported)");
  // A dumped cfg.to_dict() holds the resolved attn_scale, sqrt(d_head): only that one runs here.
  if (const auto* v = field(j, "attn_scale"); v && !(v->is_number() && v->get<double>() == -1)) {
    const auto* dh = field(j, "d_head");
    const double want = dh && dh->is_number() ? std::sqrt(dh->get<double>()) : 0;
    if (!v->is_number() || std::abs(v->get<double>() - want) > 1e-6 * want)
      refuse("attn_scale", "a scale other than sqrt(d_head)");
  }
  if (const auto* v = field(j, "original_architecture");
      v && v->is_string() && v->get<std::string>().rfind("Olmo", 0) == 0)
    refuse("original_architecture", "post-norm blocks");
}

// TransformerLens's LayerNorm, op for op (x - mean) / sqrt(mean(x^2) + eps); w and b after.
torch::Tensor normalize(const torch::Tensor& x, double eps) {
  const torch::Tensor c = x - x.mean(-1, true);
  return c / (c.pow(2).mean(-1, true) + eps).sqrt();
}

bool is_buffer(const std::string& name) {
  auto ends = [&](const std::string& s) {
    return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
  };
  return ends(".attn.mask") || ends(".attn.IGNORE");
}

}  // namespace

double HookedTransformerConfig::init_std() const {
  return init_range >= 0 ? init_range : 0.8 / std::sqrt(static_cast<double>(d_model));
}

HookedTransformerConfig HookedTransformerConfig::from_json(const nlohmann::json& j,
                                                           const std::string& what) {
  if (!j.is_object()) throw Error(what + ": expected a JSON object");
  refuse_unsupported(j, what);
  HookedTransformerConfig c;
  c.n_layers = require_int(j, "n_layers", what);
  c.d_model = require_int(j, "d_model", what);
  c.n_ctx = require_int(j, "n_ctx", what);
  c.d_head = require_int(j, "d_head", what);
  c.d_vocab = require_int(j, "d_vocab", what);
  // TransformerLens's defaults: n_heads = d_model / d_head, d_mlp = 4 * d_model.
  c.n_heads = get_int(j, "n_heads", what, -1);
  if (c.n_heads == -1 && c.d_head > 0) {
    if (c.d_model % c.d_head != 0)
      throw Error(what + ": no \"n_heads\" and d_model is not divisible by d_head");
    c.n_heads = c.d_model / c.d_head;
  }
  c.d_mlp = get_int(j, "d_mlp", what, 4 * c.d_model);
  c.d_vocab_out = get_int(j, "d_vocab_out", what, -1);
  c.seed = get_int(j, "seed", what, 0);
  if (const auto* v = field(j, "act_fn")) {
    if (!v->is_string()) throw Error(what + ": \"act_fn\" must be a string");
    c.act_fn = v->get<std::string>();
  }
  const auto* norm = field(j, "normalization_type");
  if (norm && !norm->is_string()) throw Error(what + ": \"normalization_type\" must be a string");
  c.normalization_type = norm ? norm->get<std::string>() : "";
  if (norm && c.normalization_type.empty())
    throw Error(what + ": normalization_type \"\" is not valid (\"LN\" or null)");
  for (auto [key, dst] :
       {std::pair{"eps", &c.eps}, std::pair{"initializer_range", &c.init_range}}) {
    if (const auto* v = field(j, key)) {
      if (!v->is_number()) throw Error(what + ": \"" + key + "\" must be a number");
      *dst = v->get<double>();
    }
  }
  if (c.init_range < 0) c.init_range = -1;
  check(c, what);
  return c;
}

nlohmann::json HookedTransformerConfig::to_json() const {
  // Resolved values (d_vocab_out, initializer_range), so Python builds the same model.
  return {{"n_layers", n_layers},
          {"d_model", d_model},
          {"n_ctx", n_ctx},
          {"d_head", d_head},
          {"n_heads", n_heads},
          {"d_mlp", d_mlp},
          {"d_vocab", d_vocab},
          {"d_vocab_out", vocab_out()},
          {"act_fn", act_fn},
          {"normalization_type", has_ln() ? nlohmann::json("LN") : nlohmann::json(nullptr)},
          {"eps", eps},
          {"initializer_range", init_std()},
          {"seed", seed}};
}

std::vector<HookedTransformer::Slot> HookedTransformer::slots() {
  const auto& c = cfg_;
  const std::int64_t d = c.d_model, H = c.n_heads, dh = c.d_head;
  std::vector<Slot> s = {{"embed.W_E", &W_E, {c.d_vocab, d}},
                         {"pos_embed.W_pos", &W_pos, {c.n_ctx, d}}};
  for (std::size_t l = 0; l < blocks_.size(); ++l) {
    const std::string p = "blocks." + std::to_string(l) + ".";
    Block& b = blocks_[l];
    if (c.has_ln()) {
      s.push_back({p + "ln1.w", &b.ln1_w, {d}});
      s.push_back({p + "ln1.b", &b.ln1_b, {d}});
      s.push_back({p + "ln2.w", &b.ln2_w, {d}});
      s.push_back({p + "ln2.b", &b.ln2_b, {d}});
    }
    // TransformerLens's registration order (W_Q, W_O, b_Q, b_O, then K and V).
    s.push_back({p + "attn.W_Q", &b.W_Q, {H, d, dh}});
    s.push_back({p + "attn.W_O", &b.W_O, {H, dh, d}});
    s.push_back({p + "attn.b_Q", &b.b_Q, {H, dh}});
    s.push_back({p + "attn.b_O", &b.b_O, {d}});
    s.push_back({p + "attn.W_K", &b.W_K, {H, d, dh}});
    s.push_back({p + "attn.W_V", &b.W_V, {H, d, dh}});
    s.push_back({p + "attn.b_K", &b.b_K, {H, dh}});
    s.push_back({p + "attn.b_V", &b.b_V, {H, dh}});
    s.push_back({p + "mlp.W_in", &b.W_in, {d, c.d_mlp}});
    s.push_back({p + "mlp.b_in", &b.b_in, {c.d_mlp}});
    s.push_back({p + "mlp.W_out", &b.W_out, {c.d_mlp, d}});
    s.push_back({p + "mlp.b_out", &b.b_out, {d}});
  }
  if (c.has_ln()) {
    s.push_back({"ln_final.w", &lnf_w, {d}});
    s.push_back({"ln_final.b", &lnf_b, {d}});
  }
  s.push_back({"unembed.W_U", &W_U, {d, c.vocab_out()}});
  s.push_back({"unembed.b_U", &b_U, {c.vocab_out()}});
  return s;
}

void HookedTransformer::build_blocks() {
  blocks_.assign(static_cast<std::size_t>(cfg_.n_layers), Block{});
  for (std::size_t l = 0; l < blocks_.size(); ++l)
    for (const auto& s : block_hook_suffixes())
      blocks_[l].hook.push_back("blocks." + std::to_string(l) + "." + s);
}

void HookedTransformer::register_params() {
  params_.clear();
  for (auto& s : slots()) {
    s.tensor->requires_grad_(true);
    params_.emplace_back(s.name, *s.tensor);
  }
}

HookedTransformer HookedTransformer::init(const HookedTransformerConfig& cfg,
                                          torch::Device device) {
  check(cfg, "HookedTransformer config");
  HookedTransformer m;
  m.cfg_ = cfg;
  m.device_ = device;
  m.build_blocks();
  torch::NoGradGuard no_grad;
  // Drawn on the CPU from a generator seeded like torch.manual_seed(seed), in TransformerLens's
  // order (its init_weights: normal_ on every "W_" parameter), so the weights do not depend on
  // the device and match Python's HookedTransformer(cfg) as far as the RNG kernels agree.
  at::Generator gen = at::detail::createCPUGenerator(static_cast<std::uint64_t>(cfg.seed));
  const double init_std = cfg.init_std();
  for (auto& s : m.slots()) {
    torch::Tensor t = torch::empty(s.shape, torch::kFloat32);
    const bool ln_weight = s.name.size() > 2 && s.name.compare(s.name.size() - 2, 2, ".w") == 0;
    if (s.name.find("W_") != std::string::npos)
      t.normal_(0.0, init_std, gen);
    else
      t.fill_(ln_weight ? 1.0 : 0.0);
    *s.tensor = t.to(device);
  }
  m.register_params();
  return m;
}

HookedTransformer HookedTransformer::load(const fs::path& dir, torch::Device device) {
  if (!fs::is_directory(dir))
    throw Error(dir.string() +
                ": not a folder; a HookedTransformer is a folder with config.json "
                "and model.pt (or model.safetensors)");
  const fs::path cfg_path = dir / "config.json";
  std::error_code ec;
  if (!fs::exists(cfg_path, ec))
    throw Error(cfg_path.string() +
                ": missing; a HookedTransformer folder holds config.json "
                "(HookedTransformerConfig fields) beside its weights");
  const nlohmann::json j = io::read_json_file(cfg_path, "a config.json file");
  HookedTransformer m;
  m.cfg_ = HookedTransformerConfig::from_json(j, cfg_path.string());
  m.device_ = device;
  m.build_blocks();

  fs::path file = dir / "model.pt";
  if (!fs::exists(file)) file = dir / "model.safetensors";
  if (!fs::exists(file))
    throw Error(dir.string() + ": no weights (looked for model.pt and model.safetensors)");
  // Not InferenceMode: the parameters must be usable by autograd afterwards.
  torch::NoGradGuard no_grad;
  auto tensors = load_state_dict_file(file);
  WeightTaker taker(tensors, file.string(), {});
  for (auto& s : m.slots()) {
    // clone: a fresh leaf that owns its storage (never an alias of the file's tensor).
    *s.tensor = taker.take(s.name, s.shape).to(torch::kFloat32).to(device).contiguous().clone();
  }
  for (const auto& [name, t] : taker.rest())
    if (!is_buffer(name))
      throw Error(taker.file() + ": unexpected weight '" + name + "' " +
                  io::shape_str(t.sizes().vec()) +
                  "; config.json describes a different model (n_layers, normalization_type?)");
  m.register_params();
  return m;
}

void HookedTransformer::save(const fs::path& dir, const nlohmann::json& extra) const {
  if (!extra.is_null() && !extra.is_object())
    throw Error(dir.string() + ": HookedTransformer::save: extra must be a JSON object");
  fs::create_directories(dir);
  // TransformerLens's buffers go after each block's b_V, as in its state_dict(), so that
  // load_state_dict(strict=True) finds every key (TL 3.x ignores the mask's shape; TL 2.x wants
  // exactly this lower triangle).
  const torch::Tensor mask =
      torch::ones({cfg_.n_ctx, cfg_.n_ctx}, torch::TensorOptions().dtype(torch::kBool)).tril();
  const torch::Tensor ignore = torch::scalar_tensor(-std::numeric_limits<float>::infinity());
  std::vector<std::pair<std::string, torch::Tensor>> sd;
  for (const auto& [name, p] : params_) {
    sd.emplace_back(name, p.detach());
    if (name.size() > 8 && name.compare(name.size() - 8, 8, "attn.b_V") == 0) {
      const std::string prefix = name.substr(0, name.size() - 3);
      sd.emplace_back(prefix + "mask", mask);
      sd.emplace_back(prefix + "IGNORE", ignore);
    }
  }
  save_state_dict_file(dir / "model.pt", sd);
  nlohmann::json j = cfg_.to_json();
  j["actlens"] = extra.is_null() ? nlohmann::json::object() : extra;
  // config.json last: a folder with one holds complete weights.
  io::write_file_atomic(dir / "config.json", j.dump(2) + "\n");
}

std::vector<torch::Tensor> HookedTransformer::parameters() const {
  std::vector<torch::Tensor> out;
  for (const auto& [name, p] : params_) out.push_back(p);
  return out;
}

std::int64_t HookedTransformer::parameter_count() const {
  std::int64_t n = 0;
  for (const auto& [name, p] : params_) n += p.numel();
  return n;
}

torch::Tensor HookedTransformer::activation(const torch::Tensor& x) const {
  // TransformerLens's formulas (utilities/activation_functions.py), op for op.
  const auto& a = cfg_.act_fn;
  if (a == "relu") return torch::relu(x);
  if (a == "gelu") return torch::gelu(x);
  if (a == "silu") return torch::silu(x);
  if (a == "gelu_pytorch_tanh") return torch::gelu(x, "tanh");
  if (a == "gelu_fast")
    return 0.5 * x * (1.0 + torch::tanh(x * 0.7978845608 * (1.0 + 0.044715 * x * x)));
  return 0.5 * x *
         (1.0 +
          torch::tanh(std::sqrt(2.0 / std::numbers::pi) * (x + 0.044715 * torch::pow(x, 3.0))));
}

torch::Tensor HookedTransformer::block_forward(const Block& b, torch::Tensor x,
                                               const torch::Tensor& mask,
                                               const Hooks& hooks) const {
  auto hook = [&](int i, torch::Tensor t) {
    const auto& name = b.hook[static_cast<std::size_t>(i)];
    return hooks.active(name) ? hooks(name, std::move(t)) : t;
  };
  auto ln = [&](const torch::Tensor& t, const torch::Tensor& w, const torch::Tensor& bias) {
    return cfg_.has_ln() ? normalize(t, cfg_.eps) * w + bias : t;
  };
  x = hook(0, std::move(x));  // hook_resid_pre [B, T, d]

  const torch::Tensor h = ln(x, b.ln1_w, b.ln1_b);
  // [B, T, d] x [H, d, dh] -> [B, T, H, dh]
  const torch::Tensor q = torch::einsum("btd,hde->bthe", {h, b.W_Q}) + b.b_Q;
  const torch::Tensor k = torch::einsum("btd,hde->bthe", {h, b.W_K}) + b.b_K;
  const torch::Tensor v = torch::einsum("btd,hde->bthe", {h, b.W_V}) + b.b_V;
  torch::Tensor scores = torch::einsum("bqhe,bkhe->bhqk", {q, k}) /
                         std::sqrt(static_cast<double>(cfg_.d_head));  // [B, H, T, T]
  scores = scores.masked_fill(mask.logical_not(), -std::numeric_limits<float>::infinity());
  // The diagonal is always allowed, so no row is all -inf (TL's NaN guard never fires).
  torch::Tensor pattern = hook(1, torch::softmax(scores, -1));  // attn.hook_pattern
  const torch::Tensor z = torch::einsum("bhqk,bkhe->bqhe", {pattern, v});
  torch::Tensor attn_out = hook(2, torch::einsum("bqhe,hed->bqd", {z, b.W_O}) + b.b_O);
  torch::Tensor resid_mid = hook(3, x + attn_out);

  const torch::Tensor h2 = ln(resid_mid, b.ln2_w, b.ln2_b);
  torch::Tensor pre = hook(4, torch::matmul(h2, b.W_in) + b.b_in);  // mlp.hook_pre [B, T, d_mlp]
  torch::Tensor post = hook(5, activation(pre));                    // mlp.hook_post
  torch::Tensor mlp_out = hook(6, torch::matmul(post, b.W_out) + b.b_out);
  return hook(7, resid_mid + mlp_out);  // hook_resid_post
}

torch::Tensor HookedTransformer::forward(const torch::Tensor& tokens, const Hooks& hooks) const {
  if (tokens.dim() != 2 || tokens.size(0) == 0 || tokens.size(1) == 0)
    throw Error("HookedTransformer forward: tokens must be a non-empty [batch, positions] tensor");
  if (tokens.is_floating_point() || tokens.is_complex())
    throw Error("HookedTransformer forward: tokens must be integers");
  const std::int64_t B = tokens.size(0), T = tokens.size(1), d = cfg_.d_model;
  if (T > cfg_.n_ctx)
    throw Error("HookedTransformer forward: " + std::to_string(T) +
                " positions exceed n_ctx = " + std::to_string(cfg_.n_ctx));
  const torch::Tensor ids = tokens.to(device_, torch::kInt64);
  const auto lo = ids.min().item<std::int64_t>(), hi = ids.max().item<std::int64_t>();
  if (lo < 0 || hi >= cfg_.d_vocab)
    throw Error("HookedTransformer forward: token " + std::to_string(lo < 0 ? lo : hi) +
                " is outside the vocabulary [0, " + std::to_string(cfg_.d_vocab) + ")");

  torch::Tensor embed = torch::embedding(W_E, ids);  // [B, T, d]
  if (hooks.active("hook_embed")) embed = hooks("hook_embed", std::move(embed));
  torch::Tensor pos = W_pos.slice(0, 0, T).unsqueeze(0).expand({B, T, d});
  if (hooks.active("hook_pos_embed")) pos = hooks("hook_pos_embed", pos.contiguous());
  torch::Tensor x = embed + pos;

  // Query i sees keys j <= i.
  const torch::Tensor mask =
      torch::ones({T, T}, torch::TensorOptions().dtype(torch::kBool).device(device_)).tril();
  for (const auto& b : blocks_) x = block_forward(b, std::move(x), mask, hooks);

  // TransformerLens's ln_final.hook_normalized is before its weight and bias; with
  // normalization_type null there is no ln_final (and no such hook).
  if (cfg_.has_ln()) {
    torch::Tensor normalized = normalize(x, cfg_.eps);
    if (hooks.active("ln_final.hook_normalized"))
      normalized = hooks("ln_final.hook_normalized", std::move(normalized));
    x = normalized * lnf_w + lnf_b;
  }
  if (hooks.active("hook_final")) x = hooks("hook_final", std::move(x));
  return torch::matmul(x, W_U) + b_U;  // [B, T, d_vocab_out]
}

}  // namespace actlens::model
