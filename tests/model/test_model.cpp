// model/: hook names and editing, aggregation parsing and token matching, and the errors of
// loading a GPT-2 folder (missing/misshaped weights, bad config, wrong device).
#include <filesystem>

#include "actlens/error.hpp"
#include "actlens/io/safetensors.hpp"
#include "actlens/model/capture.hpp"
#include "actlens/model/gpt2.hpp"
#include "actlens/model/hooks.hpp"

// Catch2 last: LibTorch's headers (glog) define CHECK too, and Catch's must win.
#include "../unit/test_paths.hpp"

using namespace actlens;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

fs::path tiny_dir() {
  return test::data_dir() / "models" / "tiny";
}

// A copy of the tiny model folder whose weights are `edit`ed.
fs::path edited_copy(const std::string& name,
                     const std::function<void(std::map<std::string, io::Array>&)>& edit) {
  const fs::path dir = test::scratch_dir("model_" + name);
  for (const char* f : {"config.json", "vocab.json", "merges.txt"})
    fs::copy_file(tiny_dir() / f, dir / f);
  const auto st = io::SafetensorsFile::open(tiny_dir() / "model.safetensors");
  std::map<std::string, io::Array> w;
  for (const auto& k : st.keys()) w[k] = st.read(k);
  edit(w);
  io::write_safetensors(dir / "model.safetensors", w);
  return dir;
}

}  // namespace

TEST_CASE("Hook patterns expand to TransformerLens names in forward order", "[model]") {
  const auto all = model::all_hook_names(2);
  CHECK(all.front() == "hook_embed");
  CHECK(all.back() == "hook_final");
  CHECK(all.size() == 2 + 2 * 8 + 2);

  CHECK(model::resolve_hooks({"blocks.*.hook_resid_post"}, 3, {}) ==
        std::vector<std::string>{"blocks.0.hook_resid_post", "blocks.1.hook_resid_post",
                                 "blocks.2.hook_resid_post"});
  // comma lists, duplicates and order: forward order, once each
  CHECK(
      model::resolve_hooks({"hook_final, blocks.1.mlp.hook_pre", "blocks.1.mlp.hook_pre"}, 2, {}) ==
      std::vector<std::string>{"blocks.1.mlp.hook_pre", "hook_final"});
  // --layers keeps block hooks of those layers only, not the others
  CHECK(model::resolve_hooks({"blocks.*.hook_resid_post", "hook_embed"}, 12, {8}) ==
        std::vector<std::string>{"hook_embed", "blocks.8.hook_resid_post"});
  CHECK(model::resolve_hooks({"blocks.1?.mlp.hook_*"}, 12, {}).empty() == false);
  CHECK(model::hook_layer("blocks.10.attn.hook_pattern", 12) == 10);
  CHECK(model::hook_layer("hook_pos_embed", 12) == -1);
  CHECK(model::hook_layer("ln_final.hook_normalized", 12) == 12);

  try {
    model::resolve_hooks({"blocks.*.hook_resid"}, 2, {});
    FAIL("no error");
  } catch (const UsageError& e) {
    CHECK_THAT(e.what(), Contains("'blocks.*.hook_resid' matches no hook point"));
    CHECK_THAT(e.what(), Contains("hook_resid_post"));
  }
  CHECK_THROWS_AS(model::resolve_hooks({"blocks.5.hook_resid_post"}, 12, {8}), UsageError);
}

TEST_CASE("Aggregation specs", "[model]") {
  CHECK(model::Aggregation::parse("final").kind == model::Aggregation::Kind::Final);
  const auto t = model::Aggregation::parse("token:him, her");
  CHECK(t.kind == model::Aggregation::Kind::Token);
  CHECK(t.words == std::vector<std::string>{"him", "her"});
  CHECK(t.spec() == "token:him,her");
  CHECK_THROWS_AS(model::Aggregation::parse("token:"), UsageError);
  CHECK_THROWS_AS(model::Aggregation::parse("median"), UsageError);
}

TEST_CASE("First match of a word's tokens: earliest, then longest", "[model]") {
  const std::vector<std::vector<std::int32_t>> cands = {{5, 6}, {5}, {9}};
  CHECK(model::find_first_match({1, 2, 5, 6, 9}, cands).begin == 2);
  CHECK(model::find_first_match({1, 2, 5, 6, 9}, cands).length == 2);  // {5,6} beats {5}
  CHECK(model::find_first_match({9, 5, 6}, cands).begin == 0);
  CHECK(model::find_first_match({1, 5}, cands).length == 1);
  CHECK(model::find_first_match({1, 2, 3}, cands).begin == -1);
  // With the real GPT-2 vocabulary " him" is one token, as the GED seed's encode(' him').
  const auto tok = io::Gpt2Tokenizer::from_folder(test::data_dir() / "tokenizer" / "gpt2");
  const auto seqs = model::word_token_sequences(tok, {"him"});
  REQUIRE(seqs.size() == 2);
  CHECK(seqs[0] == tok.encode(" him"));
  CHECK(seqs[0].size() == 1);
  const auto ids = tok.encode("I saw him at the market.");
  CHECK(model::find_first_match(ids, seqs).begin == 2);
}

TEST_CASE("An editor at a hook changes everything downstream; readers see the edit", "[model]") {
  const auto m = model::Gpt2Model::load(tiny_dir());
  torch::InferenceMode guard;
  const auto ids = torch::tensor({{3, 17, 42, 7}}, torch::kInt64);
  const auto mask = torch::ones({1, 4}, torch::kInt64);
  const torch::Tensor base = m.forward(ids, mask, model::Hooks{});

  model::Hooks zero;  // adding zero changes nothing
  zero.add_editor("blocks.0.hook_resid_post", [](const torch::Tensor& x) { return x + 0.0; });
  CHECK(torch::equal(m.forward(ids, mask, zero), base));

  // Not a constant vector: LayerNorm removes a uniform shift, so that would change nothing.
  const torch::Tensor v = torch::linspace(-1.0, 1.0, 64);
  model::Hooks steer;
  torch::Tensor seen;
  steer.add_editor("blocks.0.hook_resid_post", [&](const torch::Tensor& x) { return x + v; });
  steer.add_reader("blocks.0.hook_resid_post", [&](const torch::Tensor& x) { seen = x.clone(); });
  torch::Tensor before;
  model::Hooks plain;
  plain.add_reader("blocks.0.hook_resid_post", [&](const torch::Tensor& x) { before = x.clone(); });
  m.forward(ids, mask, plain);
  const torch::Tensor steered = m.forward(ids, mask, steer);
  CHECK(torch::allclose(seen, before + v));
  CHECK((steered - base).abs().max().item<float>() > 1e-3f);
}

TEST_CASE("Loading a GPT-2 folder: clear errors", "[model]") {
  SECTION("missing weight names it and its shape") {
    const auto dir = edited_copy("missing", [](auto& w) { w.erase("h.1.mlp.c_fc.weight"); });
    try {
      model::Gpt2Model::load(dir);
      FAIL("no error");
    } catch (const Error& e) {
      CHECK_THAT(e.what(), Contains("missing weight 'h.1.mlp.c_fc.weight'"));
      CHECK_THAT(e.what(), Contains("[64, 256]"));
    }
  }
  SECTION("misshaped weight gives both shapes") {
    const auto dir = edited_copy("misshaped", [](auto& w) {
      auto& a = w.at("h.0.attn.c_proj.weight");
      a.shape = {32, 128};
    });
    try {
      model::Gpt2Model::load(dir);
      FAIL("no error");
    } catch (const Error& e) {
      CHECK_THAT(e.what(), Contains("'h.0.attn.c_proj.weight' has shape [32, 128]"));
      CHECK_THAT(e.what(), Contains("implies [64, 64]"));
    }
  }
  SECTION("NaN in a weight") {
    const auto dir = edited_copy("nan", [](auto& w) {
      auto& a = w.at("ln_f.bias");
      const float nan = std::numeric_limits<float>::quiet_NaN();
      std::memcpy(a.data.data(), &nan, sizeof nan);
    });
    CHECK_THROWS_WITH(model::Gpt2Model::load(dir), Contains("'ln_f.bias' holds NaN"));
  }
  SECTION("truncated weights file") {
    const auto dir = edited_copy("truncated", [](auto&) {});
    const auto bytes = test::slurp(dir / "model.safetensors");
    test::spit(dir / "model.safetensors", bytes.substr(0, bytes.size() / 2));
    CHECK_THROWS_AS(model::Gpt2Model::load(dir), Error);
  }
  SECTION("no weights, no config, not a folder") {
    const auto dir = test::scratch_dir("model_empty");
    fs::copy_file(tiny_dir() / "config.json", dir / "config.json");
    CHECK_THROWS_WITH(model::Gpt2Model::load(dir), Contains("no weights"));
    fs::remove(dir / "config.json");
    CHECK_THROWS_WITH(model::Gpt2Model::load(dir), Contains("config.json: missing"));
    CHECK_THROWS_WITH(model::Gpt2Model::load(dir / "nope"), Contains("not a folder"));
  }
}

TEST_CASE("GPT-2 config validation", "[model]") {
  nlohmann::json j = {{"n_layer", 2}, {"n_embd", 64}, {"n_head", 4}};
  CHECK(model::Gpt2Config::from_json(j, "c").d_mlp() == 256);
  j["n_inner"] = 100;
  CHECK(model::Gpt2Config::from_json(j, "c").d_mlp() == 100);
  j["n_head"] = 5;
  CHECK_THROWS_WITH(model::Gpt2Config::from_json(j, "c"), Contains("not divisible"));
  j["n_head"] = 4;
  j["activation_function"] = "mish";
  CHECK_THROWS_WITH(model::Gpt2Config::from_json(j, "c"), Contains("not implemented"));
  CHECK_THROWS_WITH(model::Gpt2Config::from_json({{"n_embd", 4}}, "c"), Contains("n_layer"));
  CHECK_THROWS_WITH(model::Gpt2Config::from_json({{"model_type", "llama"}}, "c"),
                    Contains("llama"));
}

TEST_CASE("Devices and dtypes", "[model]") {
  CHECK(model::parse_device("cpu") == torch::Device(torch::kCPU));
  CHECK_THROWS_AS(model::parse_device("gpu"), UsageError);
  CHECK_THROWS_AS(model::parse_device("cuda:x"), UsageError);
  if (!model::built_with_cuda())
    CHECK_THROWS_WITH(model::parse_device("cuda"), Contains("CPU-only LibTorch"));
  CHECK(model::parse_dtype("bf16") == torch::kBFloat16);
  CHECK_THROWS_AS(model::parse_dtype("int8"), UsageError);
}

TEST_CASE("bfloat16 compute stays close to float32", "[model]") {
  const auto m32 = model::Gpt2Model::load(tiny_dir());
  const auto m16 = model::Gpt2Model::load(tiny_dir(), {torch::kCPU, torch::kBFloat16});
  torch::InferenceMode guard;
  const auto ids = torch::tensor({{3, 17, 42, 7, 9, 11}}, torch::kInt64);
  const auto mask = torch::ones({1, 6}, torch::kInt64);
  const auto a = m32.forward(ids, mask, model::Hooks{});
  const auto b = m16.forward(ids, mask, model::Hooks{}).to(torch::kFloat32);
  CHECK(b.scalar_type() == torch::kFloat32);
  // bf16 keeps 8 bits of mantissa: LayerNorm outputs of order 1 agree to a few 1e-2.
  CHECK((a - b).abs().max().item<float>() < 0.1f);
  CHECK((a - b).abs().max().item<float>() > 0.0f);  // and it really ran in bf16
}
