// actlens's GPT-2 forward pass and capture aggregations against Hugging Face transformers:
// fixtures from tests/reference/make_gpt2_fixtures.py (random-weight GPT-2 folders saved with
// save_pretrained, activations read with PyTorch hooks on GPT2Model, aggregated in numpy/torch).
// Tolerance: max-abs 1e-4 in float32 per hook (the bound); batch sizes 1, 3 and 8 agree
// with each other to 1e-5.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <numeric>

#include "actlens/error.hpp"
#include "actlens/io/csv.hpp"
#include "actlens/io/gpt2_tokenizer.hpp"
#include "actlens/io/npy.hpp"
#include "actlens/io/safetensors.hpp"
#include "actlens/io/text_corpus.hpp"
#include "actlens/model/capture.hpp"
#include "actlens/model/gpt2.hpp"

// Catch2 last: LibTorch's headers (glog) define CHECK too, and Catch's must win.
#include "../unit/test_paths.hpp"

using namespace actlens;
using actlens::test::data_dir;
using actlens::test::reference_dir;

namespace {

struct Fixture {
  nlohmann::json meta;
  std::vector<model::CaptureText> texts;
  io::Gpt2Tokenizer tokenizer;
};

Fixture load_fixture(const std::string& ref_model, const std::string& model_dir,
                     const model::Aggregation& agg) {
  const auto meta = test::read_json(reference_dir() / "capture" / ref_model / "meta.json");
  auto tok = io::Gpt2Tokenizer::from_folder(data_dir() / "models" / model_dir);
  const auto records = io::read_text_corpus(data_dir() / "capture" / "texts.csv");
  const auto cands = agg.kind == model::Aggregation::Kind::Token
                         ? model::word_token_sequences(tok, agg.words)
                         : std::vector<std::vector<std::int32_t>>{};
  std::vector<model::CaptureText> texts;
  for (const auto& r : records) {
    model::CaptureText t;
    t.ids = tok.encode(r.text);
    if (!cands.empty()) t.match = model::find_first_match(t.ids, cands);
    texts.push_back(std::move(t));
  }
  return {meta, std::move(texts), tok};
}

std::string npz_name(const model::Aggregation& a) {
  return a.kind == model::Aggregation::Kind::Token ? "token_him_her" : a.spec();
}

double max_abs(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(double(a[i]) - b[i]));
  return m;
}

void check_model(const std::string& ref_model, const std::string& model_dir) {
  const auto m = model::Gpt2Model::load(data_dir() / "models" / model_dir);
  const auto& cfg = m.config();
  for (const char* spec : {"final", "mean", "max", "sum", "all", "token:him,her"}) {
    const auto agg = model::Aggregation::parse(spec);
    const Fixture fx = load_fixture(ref_model, model_dir, agg);
    INFO(model_dir << " --aggregate " << spec);
    // Our tokenizer gives Hugging Face's ids, and the same token matches.
    for (std::size_t i = 0; i < fx.texts.size(); ++i) {
      CHECK(fx.texts[i].ids == fx.meta["ids"][i].get<std::vector<std::int32_t>>());
      if (agg.kind == model::Aggregation::Kind::Token) {
        CHECK(fx.texts[i].match.begin == fx.meta["token_match"][i][0].get<std::int64_t>());
        CHECK(fx.texts[i].match.length == fx.meta["token_match"][i][1].get<std::int64_t>());
      }
    }
    const auto hooks = model::all_hook_names(static_cast<int>(cfg.n_layer));
    REQUIRE(hooks == fx.meta["hooks"].get<std::vector<std::string>>());
    const auto want =
        io::read_npz(reference_dir() / "capture" / ref_model / (npz_name(agg) + ".npz"));

    std::map<std::string, model::HookOutput> first;
    for (std::int64_t bs : {1, 3, 8}) {
      INFO("batch size " << bs);
      model::CaptureOptions opt;
      opt.batch_size = bs;
      opt.pad_id = fx.tokenizer.eos_id();
      torch::InferenceMode guard;
      auto got = model::capture(m, fx.texts, hooks, agg, opt);
      for (const auto& h : hooks) {
        INFO("hook " << h);
        const auto& o = got.at(h);
        const io::Array& w = want.at(h);
        std::vector<std::int64_t> shape = {o.rows};
        shape.insert(shape.end(), o.row_shape.begin(), o.row_shape.end());
        REQUIRE(shape == w.shape);
        const auto wd = io::to_double_vector(w);
        const std::vector<float> wf(wd.begin(), wd.end());
        CHECK(max_abs(o.data, wf) < 1e-4);
        if (agg.kind == model::Aggregation::Kind::All) {
          const auto off = io::to_double_vector(want.at("offsets"));
          CHECK(std::vector<std::int64_t>(off.begin(), off.end()) == o.offsets);
        }
        if (bs == 1) {
          first[h] = o;
        } else {
          CHECK(max_abs(o.data, first.at(h).data) < 1e-5);
        }
      }
    }
  }
}

}  // namespace

TEST_CASE("GPT-2 capture equals transformers on every hook and aggregation (tiny, safetensors)",
          "[model][reference]") {
  check_model("tiny", "tiny");
}

TEST_CASE("pytorch_model.bin with the transformer. prefix loads the same weights (tiny-bin)",
          "[model][reference]") {
  check_model("tiny", "tiny-bin");
}

TEST_CASE("GPT-2 with 12 heads, d=768, bfloat16 weights, n_inner (wide)", "[model][reference]") {
  check_model("wide", "wide");
}

TEST_CASE("Fast paths (no attn_out/mlp_out/pattern readers, early stop) equal transformers",
          "[model][reference]") {
  const auto m = model::Gpt2Model::load(data_dir() / "models" / "tiny");
  const auto agg = model::Aggregation::parse("final");
  const Fixture fx = load_fixture("tiny", "tiny", agg);
  const auto want = io::read_npz(reference_dir() / "capture" / "tiny" / "final.npz");
  torch::InferenceMode guard;
  model::CaptureOptions opt;
  opt.pad_id = fx.tokenizer.eos_id();
  // Only the residual stream is read: the residual adds run inside the products (affine_add),
  // the attention pattern is never materialized, and for block 0 alone block 1 is not run.
  for (const auto& hooks : std::vector<std::vector<std::string>>{
           {"blocks.0.hook_resid_post"},
           {"blocks.0.hook_resid_post", "blocks.1.hook_resid_post", "hook_final"},
           {"blocks.1.hook_resid_mid"}}) {
    auto got = model::capture(m, fx.texts, hooks, agg, opt);
    for (const auto& h : hooks) {
      INFO("hook " << h);
      const auto wd = io::to_double_vector(want.at(h));
      CHECK(max_abs(got.at(h).data, std::vector<float>(wd.begin(), wd.end())) < 1e-4);
    }
  }
}

// Run by CTest after `actlens capture --hooks '*'` on the tiny model (tests/cli/
// capture_tests.cmake, ACTLENS_CAPTURE_OUT = its output folder): the files the command wrote
// hold the transformers values, labels.csv the input's labels and tokens.json the ids.
TEST_CASE("Files written by actlens capture equal transformers", "[.cli-output]") {
  const char* env = std::getenv("ACTLENS_CAPTURE_OUT");
  REQUIRE(env != nullptr);
  const std::filesystem::path out = env;
  const auto meta = test::read_json(reference_dir() / "capture" / "tiny" / "meta.json");
  const auto want = io::read_npz(reference_dir() / "capture" / "tiny" / "final.npz");
  const auto hooks = meta["hooks"].get<std::vector<std::string>>();
  for (const auto& h : hooks) {
    INFO("hook " << h);
    const auto st = io::SafetensorsFile::open(out / (h + ".safetensors"));
    const io::Array got = st.read("activations");
    REQUIRE(got.shape == want.at(h).shape);
    const auto g = io::to_double_vector(got);
    const auto w = io::to_double_vector(want.at(h));
    double m = 0;
    for (std::size_t i = 0; i < g.size(); ++i) m = std::max(m, std::fabs(g[i] - w[i]));
    CHECK(m < 1e-4);
  }
  const auto labels = io::read_csv(out / "labels.csv");
  const auto input = io::read_text_corpus(data_dir() / "capture" / "texts.csv");
  REQUIRE(labels.rows.size() == input.size());
  for (std::size_t i = 0; i < input.size(); ++i) {
    CHECK(labels.rows[i][labels.column("label")] == input[i].label);
    CHECK(labels.rows[i][labels.column("text")] == input[i].text);
  }
  const auto tokens = test::read_json(out / "tokens.json");
  for (std::size_t i = 0; i < input.size(); ++i) CHECK(tokens["texts"][i]["ids"] == meta["ids"][i]);
}

// position:N (the GED seed's test windows: the target at index 5) is the transformers row at
// that token: the `all` fixture's row offsets[i] + N.
TEST_CASE("position:N equals the transformers row at token N", "[model][reference]") {
  const auto m = model::Gpt2Model::load(data_dir() / "models" / "tiny");
  const auto agg = model::Aggregation::parse("position:2");
  CHECK(agg.kind == model::Aggregation::Kind::Position);
  CHECK(agg.spec() == "position:2");
  CHECK_THROWS_AS(model::Aggregation::parse("position:-1"), UsageError);
  CHECK_THROWS_AS(model::Aggregation::parse("position:x"), UsageError);
  Fixture fx = load_fixture("tiny", "tiny", agg);
  for (auto& t : fx.texts) {
    REQUIRE(t.ids.size() > 2);
    t.match = {2, 1};  // what `actlens capture --aggregate position:2` sets
  }
  const auto want = io::read_npz(reference_dir() / "capture" / "tiny" / "all.npz");
  const auto off = io::to_double_vector(want.at("offsets"));
  const std::string hook = "blocks.1.mlp.hook_pre";
  model::CaptureOptions opt;
  opt.batch_size = 3;
  opt.pad_id = fx.tokenizer.eos_id();
  torch::InferenceMode guard;
  const auto got = model::capture(m, fx.texts, {hook}, agg, opt).at(hook);
  const auto all = io::to_double_vector(want.at(hook));
  const std::int64_t d = got.row_shape.at(0);
  REQUIRE(got.rows == static_cast<std::int64_t>(fx.texts.size()));
  double worst = 0;
  for (std::int64_t i = 0; i < got.rows; ++i)
    for (std::int64_t j = 0; j < d; ++j)
      worst = std::max(
          worst,
          std::fabs(
              got.data[static_cast<std::size_t>(i * d + j)] -
              all[static_cast<std::size_t>(
                  (static_cast<std::int64_t>(off[static_cast<std::size_t>(i)]) + 2) * d + j)]));
  CHECK(worst < 1e-4);
}
