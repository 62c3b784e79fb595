// model/weights (WeightTaker: a state dict's weights taken one by one with their shape, dtype and
// finiteness checked), and the Hugging Face folder layout (io/hf_folder) as the model loaders use
// it: load_hf_checkpoint on a sharded folder, Gpt2Config::from_folder.
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>

#include <nlohmann/json.hpp>

#include "actlens/error.hpp"
#include "actlens/io/safetensors.hpp"
#include "actlens/model/checkpoint.hpp"
#include "actlens/model/gpt2.hpp"
#include "actlens/model/weights.hpp"

// Catch2 last: LibTorch's headers (glog) define CHECK too, and Catch's must win.
#include "../unit/test_paths.hpp"

using namespace actlens;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;

namespace {

std::string take_error(model::WeightTaker& w, const std::string& name,
                       const std::vector<std::int64_t>& shape) {
  try {
    w.take(name, shape);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("WeightTaker takes checked weights out of a state dict", "[model][weights]") {
  std::map<std::string, torch::Tensor> sd;
  sd["a"] = torch::arange(6, torch::kFloat32).view({2, 3});
  sd["transformer.b"] = torch::ones({4}, torch::kFloat16);
  sd["c"] = torch::zeros({2});
  sd["ints"] = torch::zeros({2}, torch::kInt64);
  sd["nan"] = torch::tensor({1.0, std::numeric_limits<double>::quiet_NaN()});
  sd["inf"] = torch::tensor({std::numeric_limits<float>::infinity()});

  SECTION("as stored, removed from the dict; the alias prefix is tried second") {
    model::WeightTaker w(sd, "m.safetensors", {"transformer.", ""});
    const torch::Tensor a = w.take("a", {2, 3});
    CHECK(a.scalar_type() == torch::kFloat32);
    CHECK(a[1][2].item<float>() == 5.0f);
    const torch::Tensor b = w.take("b", {4});
    CHECK(b.scalar_type() == torch::kFloat16);  // the caller converts
    CHECK(w.rest().count("a") == 0);
    CHECK(w.rest().count("transformer.b") == 0);
    CHECK(w.rest().size() == 4);
    CHECK(w.file() == "m.safetensors");
  }
  SECTION("each fault is one message naming the file and the weight") {
    model::WeightTaker w(sd, "m.pt", {"", "; the checkpoint is corrupt"});
    CHECK(take_error(w, "b", {4}) ==
          "m.pt: missing weight 'b' (expected shape [4] from config.json)");  // no alias
    CHECK(take_error(w, "c", {3}) == "m.pt: weight 'c' has shape [2] but config.json implies [3]");
    CHECK(take_error(w, "ints", {2}) == "m.pt: weight 'ints' is not a floating-point tensor");
    CHECK(take_error(w, "nan", {2}) ==
          "m.pt: weight 'nan' holds NaN or Inf; the checkpoint is corrupt");
    model::WeightTaker plain(sd, "m.pt", {});
    CHECK(take_error(plain, "inf", {1}) == "m.pt: weight 'inf' holds NaN or Inf");
  }
}

TEST_CASE("load_hf_checkpoint reads every shard of a sharded folder", "[model][weights]") {
  const fs::path tiny = test::data_dir() / "models" / "tiny";
  const fs::path dir = test::scratch_dir("weights_sharded");
  const auto st = io::SafetensorsFile::open(tiny / "model.safetensors");
  std::map<std::string, io::Array> one, two;
  nlohmann::json map = nlohmann::json::object();
  for (const auto& k : st.keys()) {
    const bool second = k.rfind("h.1.", 0) == 0;
    (second ? two : one)[k] = st.read(k);
    map[k] = second ? "b.safetensors" : "a.safetensors";
  }
  io::write_safetensors(dir / "a.safetensors", one);
  io::write_safetensors(dir / "b.safetensors", two);
  test::spit(dir / "model.safetensors.index.json", nlohmann::json{{"weight_map", map}}.dump());

  const model::Checkpoint ck = model::load_hf_checkpoint(dir);
  CHECK(ck.files == std::vector<fs::path>{dir / "a.safetensors", dir / "b.safetensors"});
  const model::Checkpoint whole = model::load_hf_checkpoint(tiny);
  REQUIRE(ck.tensors.size() == whole.tensors.size());
  for (const auto& [k, t] : whole.tensors) {
    INFO(k);
    REQUIRE(ck.tensors.count(k) == 1);
    CHECK(torch::equal(ck.tensors.at(k), t));
  }

  fs::remove(dir / "b.safetensors");
  CHECK_THROWS_WITH(model::load_hf_checkpoint(dir),
                    EndsWith("b.safetensors: shard named by model.safetensors.index.json is "
                             "missing"));
  CHECK_THROWS_WITH(model::load_hf_checkpoint(dir / "nope"),
                    Contains("not a folder; --model takes a Hugging Face model folder"));
}

TEST_CASE("Gpt2Config::from_folder reads the folder's config.json", "[model][weights]") {
  const fs::path tiny = test::data_dir() / "models" / "tiny";
  const auto c = model::Gpt2Config::from_folder(tiny);  // tiny/config.json: 2 x 64, 4 heads
  CHECK(c.n_layer == 2);
  CHECK(c.n_embd == 64);
  CHECK(c.n_head == 4);
  CHECK(c.n_positions == 32);
  CHECK(c.vocab_size == 500);
  const fs::path dir = test::scratch_dir("weights_no_config");
  CHECK_THROWS_WITH(
      model::Gpt2Config::from_folder(dir, "is --model a Hugging Face model folder?"),
      (dir / "config.json").string() + ": missing; is --model a Hugging Face model folder?");
  CHECK_THROWS_WITH(model::Gpt2Config::from_folder(dir),
                    EndsWith("config.json: missing; a Hugging Face model folder has one"));
  CHECK_THROWS_WITH(model::Gpt2Config::from_folder(dir / "nope"),
                    Contains("nope: not a folder; --model takes a Hugging Face GPT-2 folder"));
}
