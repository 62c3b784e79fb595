// model/steering: the steering math without the CLI. Against independent references:
// transformers on the tiny GPT-2 (tests/reference/make_steer_gpt2_fixtures.py: contrastive
// vectors, steered next-token probabilities and logits), TransformerLens's logits of the
// hooked fixtures (tests/reference/make_hooked_transformer_fixtures.py; steering hook_final, the
// input of the unembedding, shifts the logits by m * v W_U exactly), and facts of the math (KL of
// a distribution from itself is 0, known small cases, means of hand-made data).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "actlens/io/gpt2_tokenizer.hpp"
#include "actlens/io/npy.hpp"
#include "actlens/model/capture.hpp"
#include "actlens/model/checkpoint.hpp"
#include "actlens/model/gpt2.hpp"
#include "actlens/model/hooked_transformer.hpp"
#include "actlens/model/steering.hpp"

// Catch2 last: LibTorch's headers (glog) define CHECK too, and Catch's must win.
#include "../unit/test_paths.hpp"

using namespace actlens;
namespace fs = std::filesystem;

namespace {

fs::path steer_ref(const std::string& name) {
  return test::reference_dir() / "steer_gpt2" / name;
}

fs::path tiny_dir() {
  return test::data_dir() / "models" / "tiny";
}

torch::Tensor npy(const fs::path& p) {
  return model::to_tensor(io::read_npy(p));
}

// The non-blank lines of a text file (the fixture script's read_lines).
std::vector<std::string> read_lines(const fs::path& p) {
  std::ifstream in(p);
  REQUIRE(in.good());
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);)
    if (line.find_first_not_of(" \t\r") != std::string::npos) out.push_back(line);
  return out;
}

std::vector<model::CaptureText> tokenized(const io::Gpt2Tokenizer& tok, const fs::path& file) {
  std::vector<model::CaptureText> texts;
  for (const auto& line : read_lines(file)) {
    model::CaptureText t;
    t.ids = tok.encode(line);
    texts.push_back(std::move(t));
  }
  return texts;
}

// Rows of got [n, d] equal want [n, d] to `rel` times the largest |element| of each row (elements
// near zero have no relative precision of their own).
void check_rows(const torch::Tensor& got, const torch::Tensor& want, double rel) {
  REQUIRE(got.sizes() == want.sizes());
  const torch::Tensor g = got.to(torch::kFloat64), w = want.to(torch::kFloat64);
  for (std::int64_t r = 0; r < w.size(0); ++r) {
    INFO("row " << r);
    CHECK((g[r] - w[r]).abs().max().item<double>() <= rel * w[r].abs().max().item<double>());
  }
}

// One case of the transformers fixture: steered_next_tokens with the fixture's vectors, prompt
// ids and multipliers against its probabilities and logits; the KL against the KL of its
// probabilities.
void check_next_tokens(const std::string& name, const torch::Tensor& vectors,
                       std::int64_t batch_size) {
  INFO("case " << name << ", batch size " << batch_size);
  const auto meta = test::read_json(steer_ref(name) / "meta.json");
  const auto hooks = meta["hooks"].get<std::vector<std::string>>();
  const auto mults = meta["multipliers"].get<std::vector<double>>();
  const auto ids = meta["prompt_ids"].get<std::vector<std::vector<std::int32_t>>>();
  const auto k = meta["top_k"].get<std::int64_t>();
  const torch::Tensor probs = npy(steer_ref(name) / "probs.npy");    // [P, M, V] float64
  const torch::Tensor logits = npy(steer_ref(name) / "logits.npy");  // [P, M, V]
  const auto m = model::Gpt2Model::load(tiny_dir());
  const auto got = model::steered_next_tokens(m, ids, hooks, vectors, mults, {k, batch_size, 0});
  REQUIRE(got.size() == ids.size());
  for (std::size_t p = 0; p < ids.size(); ++p) {
    REQUIRE(got[p].size() == mults.size());
    const auto P = static_cast<std::int64_t>(p);
    const torch::Tensor base = probs[P][0];
    for (std::size_t j = 0; j < mults.size(); ++j) {
      INFO("prompt " << p << ", multiplier " << mults[j]);
      const auto J = static_cast<std::int64_t>(j);
      const model::NextTokens& nt = got[p][j];
      REQUIRE(nt.ids.size() == static_cast<std::size_t>(k));
      const torch::Tensor sorted = std::get<0>(probs[P][J].sort(-1, /*descending=*/true));
      for (std::int64_t q = 0; q < k; ++q) {
        const auto i = static_cast<std::size_t>(q);
        const double want_p = probs[P][J][nt.ids[i]].item<double>();
        const double want_l = logits[P][J][nt.ids[i]].item<double>();
        CHECK(std::fabs(nt.probs[i] - want_p) <= 1e-4);
        CHECK(std::fabs(nt.logits[i] - want_l) <= 1e-4 * std::max(1.0, std::fabs(want_l)));
        // the q-th largest reference probability (robust to near-ties swapping tokens)
        CHECK(std::fabs(nt.probs[i] - sorted[q].item<double>()) <= 1e-4);
      }
      if (sorted[0].item<double>() - sorted[1].item<double>() > 1e-3)
        CHECK(nt.ids[0] == meta["top_ids"][p][j][0].get<std::int64_t>());
      const double want_kl = (base * (base.log() - probs[P][J].log())).sum().item<double>();
      CHECK(std::fabs(nt.kl - want_kl) <= 1e-4 * std::max(1.0, want_kl));
      if (j == 0) CHECK(nt.kl == 0.0);
    }
  }
}

}  // namespace

TEST_CASE("Contrastive steering vectors equal transformers (tiny GPT-2, mean aggregation)",
          "[model][steering][reference]") {
  const auto meta = test::read_json(steer_ref("contrastive") / "meta.json");
  const auto hooks = meta["hooks"].get<std::vector<std::string>>();
  const auto tok = io::Gpt2Tokenizer::from_folder(tiny_dir());
  const auto pos = tokenized(tok, test::data_dir() / "steer" / "positive.txt");
  const auto neg = tokenized(tok, test::data_dir() / "steer" / "negative.txt");
  const auto m = model::Gpt2Model::load(tiny_dir());
  model::CaptureOptions copt;
  copt.batch_size = 4;  // several batches per set
  copt.pad_id = tok.eos_id();
  std::size_t seen = 0;
  const torch::Tensor v =
      model::contrastive_vectors(m, pos, neg, hooks, model::Aggregation::parse("mean"), copt,
                                 [&](std::size_t n) { seen += n; });
  CHECK(seen == pos.size() + neg.size());
  CHECK(v.scalar_type() == torch::kFloat32);
  check_rows(v, npy(steer_ref("contrastive") / "vectors.npy"), 1e-5);

  // Swapping the sets negates the vector exactly (the same sums, subtracted the other way).
  const torch::Tensor w =
      model::contrastive_vectors(m, neg, pos, hooks, model::Aggregation::parse("mean"), copt);
  CHECK(torch::equal(w, -v));
  CHECK_THROWS_AS(
      model::contrastive_vectors(m, pos, {}, hooks, model::Aggregation::parse("mean"), copt),
      std::invalid_argument);
  CHECK_THROWS_AS(model::contrastive_vectors(m, pos, neg, {"blocks.0.attn.hook_pattern"},
                                             model::Aggregation::parse("mean"), copt),
                  std::invalid_argument);
}

TEST_CASE("Steered next tokens of GPT-2 equal transformers (top-k, probabilities, logits, KL)",
          "[model][steering][reference]") {
  // vector.npy: [2, 64] float32 rows for hook_embed and blocks.1.hook_resid_post
  const torch::Tensor file_vectors = npy(test::data_dir() / "steer" / "vector.npy");
  check_next_tokens("vector", file_vectors, 2);  // one prompt (3 rows) per forward pass
  check_next_tokens("vector", file_vectors, 16);
  // the fixture's own contrastive vectors, as the float32 the model adds
  check_next_tokens("contrastive",
                    npy(steer_ref("contrastive") / "vectors.npy").to(torch::kFloat32), 16);

  const auto m = model::Gpt2Model::load(tiny_dir());
  const std::vector<std::vector<std::int32_t>> ids = {{40, 69}};
  const std::vector<std::string> hooks = {"hook_embed", "blocks.1.hook_resid_post"};
  CHECK_THROWS_AS(model::steered_next_tokens(m, ids, hooks, file_vectors, {1.0}, {}),
                  std::invalid_argument);  // no unsteered run first
  CHECK_THROWS_AS(model::steered_next_tokens(m, ids, hooks, file_vectors, {0.0, 1.0}, {501, 16, 0}),
                  std::invalid_argument);  // top-k beyond the vocabulary
}

TEST_CASE("KL divergence from log-probabilities", "[model][steering]") {
  const torch::Tensor p = torch::tensor({0.5, 0.5}, torch::kFloat64);
  const torch::Tensor q = torch::tensor({0.25, 0.75}, torch::kFloat64);
  // KL(p || q) = 0.5 ln(0.5 / 0.25) + 0.5 ln(0.5 / 0.75)
  const double want = 0.5 * std::log(2.0) + 0.5 * std::log(2.0 / 3.0);
  CHECK(model::kl_divergence(p.log(), q.log()).item<double>() == Approx(want).epsilon(1e-14));
  // not symmetric: KL(q || p) = 0.25 ln(0.5) + 0.75 ln(1.5)
  CHECK(model::kl_divergence(q.log(), p.log()).item<double>() ==
        Approx(0.25 * std::log(0.5) + 0.75 * std::log(1.5)).epsilon(1e-14));
  // a distribution's KL from itself is exactly 0, and rows broadcast against one reference row
  const torch::Tensor rows = torch::log_softmax(torch::randn({3, 4, 7}, torch::kFloat32), -1);
  const torch::Tensor kl = model::kl_divergence(rows.select(1, 0).unsqueeze(1), rows);
  REQUIRE(kl.sizes() == torch::IntArrayRef({3, 4}));
  CHECK(torch::all(kl.select(1, 0) == 0).item<bool>());
  CHECK(torch::all(kl > -1e-6).item<bool>());  // Gibbs' inequality, up to float32 rounding
}

TEST_CASE("Top tokens: the k largest probabilities with their logits", "[model][steering]") {
  const torch::Tensor logits = torch::tensor({{0.0f, 3.0f, -1.0f, 2.0f}, {5.0f, 1.0f, 4.0f, 0.5f}});
  const torch::Tensor probs = logits.softmax(-1);
  const model::TopTokens t = model::top_tokens(probs, logits, 3);
  CHECK(torch::equal(t.ids, torch::tensor({{1, 3, 0}, {0, 2, 1}}, torch::kInt64)));
  CHECK(torch::equal(t.logits, torch::tensor({{3.0f, 2.0f, 0.0f}, {5.0f, 4.0f, 1.0f}})));
  CHECK(torch::equal(t.probs, probs.gather(-1, t.ids)));
  CHECK_THROWS_AS(model::top_tokens(probs, logits, 0), std::invalid_argument);
  CHECK_THROWS_AS(model::top_tokens(probs, logits, 5), std::invalid_argument);
}

TEST_CASE("Label mean difference: mean over `to` positions minus mean over `from`",
          "[model][steering]") {
  // 2 inputs x 3 positions, d = 2; labels 7 at three positions, 4 at two, 9 at one
  const torch::Tensor labels = torch::tensor({{7, 4, 7}, {9, 7, 4}}, torch::kInt64);
  const torch::Tensor a =
      torch::tensor({1.0f, 2.0f, 10.0f, 20.0f, 3.0f, 4.0f, 0.0f, 0.0f, 5.0f, 6.0f, 30.0f, 40.0f})
          .view({2, 3, 2});
  const torch::Tensor b = 2 * a;
  const auto r = model::label_mean_difference({a, b}, labels, /*from=*/7, /*to=*/4);
  CHECK(r.n_from == 3);
  CHECK(r.n_to == 2);
  REQUIRE(r.vectors.sizes() == torch::IntArrayRef({2, 2}));
  CHECK(r.vectors.scalar_type() == torch::kFloat32);
  // mean over label 4: (10 + 30) / 2, (20 + 40) / 2 = 20, 30; over label 7: 3, 4
  CHECK(torch::equal(r.vectors[0], torch::tensor({17.0f, 26.0f})));
  CHECK(torch::equal(r.vectors[1], torch::tensor({34.0f, 52.0f})));
  const auto none = model::label_mean_difference({a}, labels, 7, 5);
  CHECK(none.n_to == 0);
  CHECK_FALSE(none.vectors.defined());
  CHECK_THROWS_AS(model::label_mean_difference({a.slice(1, 0, 2)}, labels, 7, 4),
                  std::invalid_argument);
}

TEST_CASE("Prompts ending in a belief: cut, filtered, without duplicates", "[model][steering]") {
  core::MspInputs in;
  in.tokens.resize(4, 3);
  in.tokens << 0, 1, 0,  //
      0, 1, 1,           // same first two tokens as row 0
      1, 1, 0,           //
      1, 0, 0;
  in.belief_indices.resize(4, 3);
  in.belief_indices << 5, 2, 3,  //
      5, 2, 2,                   //
      6, 2, 3,                   //
      6, 4, 3;
  const torch::Tensor two = model::prompts_ending_in(in, 2, 2);
  CHECK(torch::equal(two, torch::tensor({{0, 1}, {1, 1}}, torch::kInt64)));
  const torch::Tensor three = model::prompts_ending_in(in, 3, 3);
  CHECK(torch::equal(three, torch::tensor({{0, 1, 0}, {1, 1, 0}, {1, 0, 0}}, torch::kInt64)));
  CHECK_FALSE(model::prompts_ending_in(in, 1, 2).defined());
  CHECK_THROWS_AS(model::prompts_ending_in(in, 4, 2), std::invalid_argument);
  CHECK_THROWS_AS(model::prompts_ending_in(in, 0, 2), std::invalid_argument);
}

TEST_CASE(
    "HookedTransformer next-token probabilities: TransformerLens's, and steering hook_final "
    "shifts the logits by m v W_U",
    "[model][steering][hooked]") {
  const fs::path dir = test::reference_dir() / "hooked" / "ln_relu";
  const auto m = model::HookedTransformer::load(dir);
  const torch::Tensor tokens = npy(dir / "tokens.npy");
  const torch::Tensor tl = npy(dir / "logits.npy").to(torch::kFloat64);  // [n, T, V]
  const torch::Tensor tl_last = tl.select(1, tl.size(1) - 1);            // [n, V]
  const std::int64_t d = m.config().d_model;
  const torch::Tensor v = torch::linspace(-1.0, 1.0, d, torch::kFloat32).view({1, d});
  const std::vector<std::string> hooks = {"hook_final"};

  const torch::Tensor plain = model::mean_next_token_probs(m, tokens, hooks, v, 0.0);
  CHECK(plain.scalar_type() == torch::kFloat64);
  CHECK((plain - tl_last.softmax(-1).mean(0)).abs().max().item<double>() <= 1e-5);

  std::map<std::string, torch::Tensor> p(m.named_parameters().begin(), m.named_parameters().end());
  const torch::Tensor shift =
      torch::matmul(v.to(torch::kFloat64), p["unembed.W_U"].to(torch::kFloat64));
  for (double mult : {1.5, -4.0}) {
    INFO("multiplier " << mult);
    const torch::Tensor steered = model::mean_next_token_probs(m, tokens, hooks, v, mult);
    const torch::Tensor want = (tl_last + mult * shift).softmax(-1).mean(0);
    CHECK((steered - want).abs().max().item<double>() <= 1e-5);
    CHECK((steered - plain).abs().max().item<double>() > 1e-3);
  }

  // One multiplier per batch row: row b gets coef[b] * v, a row with 0 the plain logits.
  torch::NoGradGuard no_grad;
  const torch::Tensor coef = torch::tensor({0.0f, 2.0f}).view({2, 1, 1});
  const torch::Tensor two = tokens.slice(0, 0, 1).repeat({2, 1});
  const torch::Tensor out =
      m.forward(two, model::steering_hooks(hooks, v, coef)).to(torch::kFloat64);
  const torch::Tensor row = tl[0];  // [T, V]
  CHECK((out[0] - row).abs().max().item<double>() <= 1e-5);
  const torch::Tensor want = row + 2.0 * shift;
  CHECK((out[1] - want).abs().max().item<double>() <=
        1e-5 * std::max(1.0, want.abs().max().item<double>()));
  CHECK_THROWS_AS(model::steering_hooks({"hook_final", "hook_embed"}, v, coef),
                  std::invalid_argument);
}
