// model/: the TransformerLens-style HookedTransformer against TransformerLens itself, both ways
// (tests/reference/make_hooked_transformer_fixtures.py): models written by Python give TL's logits
// and residual streams here, and a model written here loads into TL (strict) with TL's logits.
// Plus save/load round trips, errors, hooks and gradients.
#include <algorithm>
#include <filesystem>
#include <limits>
#include <map>

#include "actlens/error.hpp"
#include "actlens/io/npy.hpp"
#include "actlens/model/checkpoint.hpp"
#include "actlens/model/hooked_transformer.hpp"
#include "actlens/model/hooks.hpp"

// Catch2 last: LibTorch's headers (glog) define CHECK too, and Catch's must win.
#include "../unit/test_paths.hpp"

using namespace actlens;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using model::HookedTransformer;
using model::HookedTransformerConfig;

namespace {

fs::path hooked_dir(const std::string& name) {
  return test::reference_dir() / "hooked" / name;
}

torch::Tensor npy(const fs::path& p) {
  return model::to_tensor(io::read_npy(p));
}

float max_abs(const torch::Tensor& a, const torch::Tensor& b) {
  REQUIRE(a.sizes() == b.sizes());
  return (a.to(torch::kCPU, torch::kFloat32) - b.to(torch::kCPU, torch::kFloat32))
      .abs()
      .max()
      .item<float>();
}

// The model of tests/reference/hooked/actlens_written (gelu: the one activation the Python-written
// models leave out).
HookedTransformerConfig written_config() {
  HookedTransformerConfig c;
  c.n_layers = 2;
  c.d_model = 16;
  c.n_heads = 2;
  c.d_head = 8;
  c.d_mlp = 32;
  c.d_vocab = 6;
  c.n_ctx = 5;
  c.act_fn = "gelu";
  c.seed = 7;
  return c;
}

// A copy of a Python-written model folder (config.json + model.pt) whose state dict or config
// is `edit`ed.
fs::path edited_copy(const std::string& name,
                     const std::function<void(std::map<std::string, torch::Tensor>&)>& edit,
                     const std::function<void(nlohmann::json&)>& edit_config = {}) {
  const fs::path src = hooked_dir("ln_relu"), dir = test::scratch_dir("hooked_" + name);
  auto sd = model::load_state_dict_file(src / "model.pt");
  edit(sd);
  model::save_state_dict_file(dir / "model.pt", {sd.begin(), sd.end()});
  auto j = test::read_json(src / "config.json");
  if (edit_config) edit_config(j);
  test::spit(dir / "config.json", j.dump());
  return dir;
}

std::string load_error(const fs::path& dir) {
  try {
    HookedTransformer::load(dir);
  } catch (const Error& e) {
    return e.what();
  }
  FAIL("no error loading " << dir);
  return {};
}

// Logits and every blocks.L.hook_resid_post of `m` on the folder's tokens, against TL's.
void check_against_tl(const HookedTransformer& m, const fs::path& dir, bool with_resid = true) {
  INFO(dir.string());
  torch::NoGradGuard no_grad;
  const torch::Tensor tokens = npy(dir / "tokens.npy");
  std::map<int, torch::Tensor> resid;
  model::Hooks hooks;
  for (int l = 0; l < m.config().n_layers; ++l)
    hooks.add_reader("blocks." + std::to_string(l) + ".hook_resid_post",
                     [&resid, l](const torch::Tensor& x) { resid[l] = x.clone(); });
  const torch::Tensor logits = m.forward(tokens, hooks);
  const float err = max_abs(logits, npy(dir / "logits.npy"));
  CHECK(err <= 1e-5f);
  if (!with_resid) return;
  for (int l = 0; l < m.config().n_layers; ++l) {
    const float e = max_abs(resid.at(l), npy(dir / ("resid_post_" + std::to_string(l) + ".npy")));
    INFO("resid_post " << l);
    CHECK(e <= 1e-5f);
  }
  // Causality: a prefix gives the prefix of our own logits. Not bit-equal: the shorter sequence
  // takes other GEMM shapes (other blockings, other summation orders), so float32 rounding of
  // the same size as in the comparison with TransformerLens above is allowed, relative to the
  // logits' scale.
  const auto T = tokens.size(1);
  const torch::Tensor full = m.forward(tokens);
  const float scale = std::max(1.0f, full.abs().max().item<float>());
  CHECK(max_abs(m.forward(tokens.slice(1, 0, T - 2)), full.slice(1, 0, T - 2)) <= 1e-5f * scale);
}

}  // namespace

TEST_CASE("HookedTransformer equals TransformerLens on models Python wrote", "[model][hooked]") {
  Catch::StringMaker<float>::precision = 9;  // `-s` then shows the errors themselves
  for (const char* name : {"ln_relu", "none_gelu_new", "ln_silu"}) {
    const auto m = HookedTransformer::load(hooked_dir(name));
    check_against_tl(m, hooked_dir(name));
  }
  const auto b = HookedTransformer::load(hooked_dir("none_gelu_new"));
  CHECK(b.config().vocab_out() == 4);
  CHECK_FALSE(b.config().has_ln());
  CHECK(b.parameter_count() == 7 * 24 + 6 * 24 + 3 * (3 * 24 * 6 + 3 * 6) + 3 * 6 * 24 + 24 +
                                   24 * 40 + 40 + 40 * 24 + 24 + 24 * 4 + 4);
}

TEST_CASE("A HookedTransformer actlens wrote loads into TransformerLens", "[model][hooked]") {
  const fs::path dir = hooked_dir("actlens_written");
  const auto m = HookedTransformer::load(dir);
  check_against_tl(m, dir);  // TL's numbers after load_state_dict(torch.load(...), strict=True)

  // The committed file is what our writer produces: same config, same initial weights.
  auto j = test::read_json(dir / "config.json");
  j.erase("actlens");
  CHECK(j == written_config().to_json());
  const auto fresh = HookedTransformer::init(written_config());
  REQUIRE(fresh.named_parameters().size() == m.named_parameters().size());
  for (std::size_t i = 0; i < m.named_parameters().size(); ++i) {
    const auto& [name, p] = fresh.named_parameters()[i];
    INFO(name);
    CHECK(name == m.named_parameters()[i].first);
    CHECK(torch::equal(p, m.named_parameters()[i].second));
  }
}

TEST_CASE("HookedTransformer save -> load round-trips exactly", "[model][hooked]") {
  auto cfg = written_config();
  cfg.normalization_type = "";
  cfg.d_vocab_out = 3;
  cfg.act_fn = "gelu_new";
  cfg.init_range = 0.5;
  const auto m = HookedTransformer::init(cfg);
  const fs::path dir = test::scratch_dir("hooked_roundtrip");
  m.save(dir, {{"step", 12}});
  const auto j = test::read_json(dir / "config.json");
  CHECK(j.at("actlens").at("step") == 12);
  CHECK(j.at("normalization_type").is_null());
  CHECK(j.at("initializer_range") == 0.5);

  const auto back = HookedTransformer::load(dir);
  CHECK(back.config().to_json() == cfg.to_json());
  REQUIRE(back.named_parameters().size() == m.named_parameters().size());
  for (std::size_t i = 0; i < m.named_parameters().size(); ++i) {
    INFO(m.named_parameters()[i].first);
    CHECK(torch::equal(back.named_parameters()[i].second, m.named_parameters()[i].second));
    CHECK(back.named_parameters()[i].second.requires_grad());
  }
  // TransformerLens's buffers are in the file (strict loading in Python), ignored here.
  const auto sd = model::load_state_dict_file(dir / "model.pt");
  CHECK(torch::equal(sd.at("blocks.1.attn.mask"), torch::ones({5, 5}, torch::kBool).tril()));
  CHECK(std::isinf(sd.at("blocks.0.attn.IGNORE").item<float>()));
  CHECK(sd.size() == m.named_parameters().size() + 2 * 2);

  const auto tokens = torch::tensor({{0, 5, 2, 3}, {1, 1, 4, 0}}, torch::kInt64);
  torch::NoGradGuard no_grad;
  CHECK(torch::equal(back.forward(tokens), m.forward(tokens)));
  CHECK(m.forward(tokens).sizes() == torch::IntArrayRef{2, 4, 3});
  // A different seed gives different weights; init_std is TL's 0.8 / sqrt(d_model) by default.
  cfg.seed = 8;
  CHECK_FALSE(torch::equal(HookedTransformer::init(cfg).parameters()[0], m.parameters()[0]));
  CHECK(written_config().init_std() == Approx(0.2));
}

// Regenerates tests/reference/hooked/actlens_written (then rerun the Python script).
TEST_CASE("Write the actlens_written HookedTransformer fixture", "[.write-hooked-fixture]") {
  HookedTransformer::init(written_config())
      .save(hooked_dir("actlens_written"), {{"written_by", "actlens_model_tests"}});
}

TEST_CASE("Loading a HookedTransformer: clear errors", "[model][hooked]") {
  SECTION("missing weight names it and its shape") {
    const auto dir = edited_copy("missing", [](auto& sd) { sd.erase("blocks.1.attn.W_K"); });
    const auto msg = load_error(dir);
    CHECK_THAT(msg, Contains("model.pt: missing weight 'blocks.1.attn.W_K'"));
    CHECK_THAT(msg, Contains("[4, 32, 8]"));
  }
  SECTION("wrong shape gives both shapes") {
    const auto dir = edited_copy("shape", [](auto& sd) {
      sd["blocks.0.mlp.W_in"] = torch::zeros({32, 63});
    });
    CHECK_THAT(load_error(dir), Contains("'blocks.0.mlp.W_in' has shape [32, 63] but config.json "
                                         "implies [32, 64]"));
  }
  SECTION("NaN, integer and unexpected weights") {
    auto dir = edited_copy(
        "nan", [](auto& sd) { sd["ln_final.b"][3] = std::numeric_limits<float>::quiet_NaN(); });
    CHECK_THAT(load_error(dir), Contains("'ln_final.b' holds NaN"));
    dir =
        edited_copy("int", [](auto& sd) { sd["unembed.b_U"] = torch::zeros({5}, torch::kInt64); });
    CHECK_THAT(load_error(dir), Contains("'unembed.b_U' is not a floating-point"));
    dir = edited_copy("extra", [](auto& sd) { sd["blocks.2.attn.W_Q"] = torch::zeros({1}); });
    CHECK_THAT(load_error(dir), Contains("unexpected weight 'blocks.2.attn.W_Q'"));
  }
  SECTION("unsupported configurations are refused by name") {
    const std::vector<std::pair<std::string, nlohmann::json>> bad = {
        {"attn_only", true},
        {"positional_embedding_type", "rotary"},
        {"normalization_type", "LNPre"},
        {"parallel_attn_mlp", true},
        {"act_fn", "solu_ln"},
        {"d_vocab", 0},
        {"n_heads", "4"},
        {"attn_scale", 3.0}};
    for (const auto& [key, value] : bad) {
      INFO(key);
      const auto dir = edited_copy(
          "cfg", [](auto&) {}, [&](auto& j) { j[key] = value; });
      const auto msg = load_error(dir);
      CHECK_THAT(msg, Contains("config.json"));
      CHECK_THAT(msg, Contains(key));
    }
    // What Python's cfg.to_dict() holds for an ordinary model is accepted.
    const nlohmann::json dumped = {{"n_layers", 1},
                                   {"d_model", 8},
                                   {"n_ctx", 4},
                                   {"d_head", 4},
                                   {"d_vocab", 3},
                                   {"attn_scale", 2.0},
                                   {"use_attn_scale", true},
                                   {"attn_only", false},
                                   {"rotary_dim", nullptr},
                                   {"device", "cpu"},
                                   {"init_mode", "gpt2"},
                                   {"d_mlp", nullptr}};
    const auto c = HookedTransformerConfig::from_json(dumped, "c");
    CHECK(c.n_heads == 2);
    CHECK(c.d_mlp == 32);
    CHECK(c.vocab_out() == 3);
    CHECK_THROWS_WITH(HookedTransformerConfig::from_json({{"d_model", 4}}, "c"),
                      Contains("missing \"n_layers\""));
  }
  SECTION("missing or broken config.json, no weights, not a folder") {
    const auto dir = edited_copy("files", [](auto&) {});
    test::spit(dir / "config.json", "{\"n_layers\": ");
    CHECK_THAT(load_error(dir), Contains("config.json: not valid JSON"));
    fs::remove(dir / "config.json");
    CHECK_THAT(load_error(dir), Contains("config.json: missing"));
    fs::copy_file(hooked_dir("ln_relu") / "config.json", dir / "config.json");
    fs::remove(dir / "model.pt");
    CHECK_THAT(load_error(dir), Contains("no weights"));
    CHECK_THAT(load_error(dir / "nope"), Contains("not a folder"));
  }
}

TEST_CASE("HookedTransformer forward: token and length checks", "[model][hooked]") {
  const auto m = HookedTransformer::load(hooked_dir("ln_relu"));  // d_vocab 5, n_ctx 8
  torch::NoGradGuard no_grad;
  CHECK_THROWS_WITH(m.forward(torch::tensor({{0, 5}}, torch::kInt64)),
                    Contains("token 5 is outside the vocabulary [0, 5)"));
  CHECK_THROWS_WITH(m.forward(torch::tensor({{0, -1}}, torch::kInt64)), Contains("token -1"));
  CHECK_THROWS_WITH(m.forward(torch::zeros({1, 9}, torch::kInt64)),
                    Contains("9 positions exceed n_ctx = 8"));
  CHECK_THROWS_AS(m.forward(torch::zeros({4}, torch::kInt64)), Error);
  CHECK(m.forward(torch::zeros({2, 8}, torch::kInt32)).sizes() == torch::IntArrayRef{2, 8, 5});
}

TEST_CASE("HookedTransformer hooks: forward order, and an edit equals the manual sum",
          "[model][hooked]") {
  const auto m = HookedTransformer::load(hooked_dir("ln_silu"));  // one block, LayerNorm
  const auto& c = m.config();
  torch::NoGradGuard no_grad;
  const torch::Tensor tokens = npy(hooked_dir("ln_silu") / "tokens.npy");

  std::vector<std::string> seen;
  model::Hooks all;
  for (const auto& name : model::all_hook_names(static_cast<int>(c.n_layers)))
    all.add_reader(name, [&seen, name](const torch::Tensor&) { seen.push_back(name); });
  m.forward(tokens, all);
  CHECK(seen == model::all_hook_names(static_cast<int>(c.n_layers)));

  // Steering blocks.0.hook_resid_post by v = ln_final and unembed of (resid_post + v), by hand.
  const torch::Tensor v = torch::linspace(-1.0, 2.0, c.d_model);
  torch::Tensor resid;
  model::Hooks read;
  read.add_reader("blocks.0.hook_resid_post", [&](const torch::Tensor& x) { resid = x.clone(); });
  m.forward(tokens, read);
  std::map<std::string, torch::Tensor> p(m.named_parameters().begin(), m.named_parameters().end());
  const torch::Tensor x = resid + v;
  const torch::Tensor centred = x - x.mean(-1, true);
  const torch::Tensor normed = centred / (centred.pow(2).mean(-1, true) + c.eps).sqrt();
  const torch::Tensor manual =
      torch::matmul(normed * p["ln_final.w"] + p["ln_final.b"], p["unembed.W_U"]) +
      p["unembed.b_U"];
  model::Hooks steer;
  steer.add_editor("blocks.0.hook_resid_post", [&](const torch::Tensor& t) { return t + v; });
  const torch::Tensor steered = m.forward(tokens, steer);
  // Two float32 routes to the same logits (our fused kernels vs torch's ops): rounding relative to
  // the logits' scale, as between CPUs.
  CHECK(max_abs(steered, manual) <= 1e-5f * std::max(1.0f, manual.abs().max().item<float>()));
  CHECK(max_abs(steered, m.forward(tokens)) > 1e-2f);

  // Without normalization there is no ln_final (nor its hook), as in TransformerLens.
  const auto b = HookedTransformer::load(hooked_dir("none_gelu_new"));
  bool normalized = false, final_seen = false;
  model::Hooks h;
  h.add_reader("ln_final.hook_normalized", [&](const torch::Tensor&) { normalized = true; });
  h.add_reader("hook_final", [&](const torch::Tensor&) { final_seen = true; });
  b.forward(npy(hooked_dir("none_gelu_new") / "tokens.npy"), h);
  CHECK_FALSE(normalized);
  CHECK(final_seen);
}

TEST_CASE("HookedTransformer is differentiable and trains with AdamW", "[model][hooked]") {
  auto cfg = written_config();
  cfg.act_fn = "relu";
  const auto m = HookedTransformer::init(cfg);
  const auto tokens = torch::tensor({{0, 1, 2, 3, 4}, {5, 4, 3, 2, 1}}, torch::kInt64);
  const auto targets = torch::tensor({{1, 2, 3, 4, 5}, {4, 3, 2, 1, 0}}, torch::kInt64);
  auto loss_of = [&] {
    return torch::nn::functional::cross_entropy(m.forward(tokens).reshape({-1, cfg.d_vocab}),
                                                targets.reshape({-1}));
  };
  torch::Tensor loss = loss_of();
  loss.backward();
  float g_max = 0;
  for (const auto& [name, p] : m.named_parameters()) {
    REQUIRE(p.grad().defined());
    g_max = std::max(g_max, p.grad().abs().max().item<float>());
  }
  REQUIRE(g_max > 0);
  for (const auto& [name, p] : m.named_parameters()) {
    INFO(name << ": largest gradient " << p.grad().abs().max().item<float>() << " of " << g_max);
    const float g = p.grad().abs().max().item<float>();
    // b_K shifts every score of a query by the same amount, which softmax ignores: its gradient
    // is zero up to float32 rounding of the cancelling terms (a few ulps of the gradients' scale;
    // how many depends on the CPU's kernels). Every other parameter gets a real one, within a
    // few orders of magnitude of the largest.
    if (name.find("attn.b_K") != std::string::npos)
      CHECK(g <= 1e-5f * g_max);
    else
      CHECK(g > 1e-5f * g_max);
  }
  torch::optim::AdamW opt(m.parameters(), torch::optim::AdamWOptions(1e-2));
  const float first = loss.item<float>();
  for (int step = 0; step < 30; ++step) {
    opt.zero_grad();
    loss = loss_of();
    loss.backward();
    opt.step();
  }
  CHECK(loss_of().item<float>() < 0.5f * first);
}

TEST_CASE("HookedTransformer on CUDA equals the CPU", "[model][hooked]") {
  if (!torch::cuda::is_available()) return;  // CPU-only LibTorch or no GPU
  const torch::Device gpu(torch::kCUDA);
  const auto m = HookedTransformer::load(hooked_dir("ln_relu"), gpu);
  CHECK(m.device() == gpu);
  CHECK(m.parameters()[0].device() == gpu);
  torch::NoGradGuard no_grad;
  const torch::Tensor tokens = npy(hooked_dir("ln_relu") / "tokens.npy");
  CHECK(max_abs(m.forward(tokens), npy(hooked_dir("ln_relu") / "logits.npy")) <= 1e-4f);
  const auto fresh = HookedTransformer::init(written_config(), gpu);
  CHECK(torch::equal(fresh.parameters()[0].cpu(),
                     HookedTransformer::init(written_config()).parameters()[0]));
}
