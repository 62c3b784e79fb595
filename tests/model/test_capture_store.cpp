// The pieces of `actlens capture` below the CLI: the sharded, resumable capture
// (model/capture_store.hpp), the cache key and the output folder as a cache
// (model/capture_cache.hpp), and the texts made ready for the model (model/capture_texts.hpp).
// The numbers of capture itself are checked against transformers in test_capture_reference.cpp;
// here: shards give what one capture of all texts gives, an interrupted capture resumes to the
// same bytes, files round-trip, the key depends on exactly what it documents, the cache decides
// what is stale.
#include <algorithm>
#include <filesystem>
#include <numeric>

#include "actlens/error.hpp"
#include "actlens/io/content_hash.hpp"
#include "actlens/io/npy.hpp"
#include "actlens/io/safetensors.hpp"
#include "actlens/model/capture.hpp"
#include "actlens/model/capture_cache.hpp"
#include "actlens/model/capture_store.hpp"
#include "actlens/model/capture_texts.hpp"
#include "actlens/model/gpt2.hpp"

// Catch2 last: LibTorch's headers (glog) define CHECK too, and Catch's must win.
#include "../unit/test_paths.hpp"

using namespace actlens;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

fs::path tiny() {
  return test::data_dir() / "models" / "tiny";
}
fs::path texts_csv() {
  return test::data_dir() / "capture" / "texts.csv";
}

std::vector<model::CaptureText> encoded_texts(const io::Gpt2Tokenizer& tok) {
  std::vector<model::CaptureText> texts;
  for (const auto& r : io::read_text_corpus(texts_csv())) texts.push_back({tok.encode(r.text), {}});
  return texts;
}

float max_abs(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  float m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

struct Stop {};

std::string usage_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  FAIL("no UsageError");
  return {};
}

model::CaptureKeyOptions key_options() {
  return {"text", "label", "", "final", 32, "float32", false};
}

}  // namespace

TEST_CASE("capture_sharded: shards give one capture's rows; an interrupted run resumes",
          "[model][capture]") {
  const auto m = model::Gpt2Model::load(tiny());
  const auto tok = io::Gpt2Tokenizer::from_folder(tiny());
  const auto texts = encoded_texts(tok);
  REQUIRE(texts.size() == 8);
  const std::vector<std::string> hooks = {"blocks.0.hook_resid_post", "hook_final"};
  const auto agg = model::Aggregation::parse("all");
  model::CaptureOptions copt;
  copt.batch_size = 3;
  torch::InferenceMode guard;
  const auto whole = model::capture(m, texts, hooks, agg, copt);

  const fs::path dir = test::scratch_dir("capture_sharded");
  const model::ShardStore store(dir / ".partial-x");
  // Batches of 3 in shards of 3: the second progress call comes from shard 1, after shard 0 was
  // saved.
  int calls = 0;
  CHECK_THROWS_AS(model::capture_sharded(m, texts, hooks, agg, copt, 3, store,
                                         [&](std::size_t) {
                                           if (++calls == 2) throw Stop{};
                                         }),
                  Stop);
  CHECK(fs::exists(store.dir() / "shard-000000.safetensors"));
  CHECK_FALSE(fs::exists(store.dir() / "shard-000001.safetensors"));

  std::size_t done = 0;
  const auto resumed = model::capture_sharded(m, texts, hooks, agg, copt, 3, store,
                                              [&](std::size_t k) { done += k; });
  CHECK(resumed.n_shards == 3);
  CHECK(resumed.resumed == 1);
  CHECK(done == 8);
  const model::ShardStore fresh_store(dir / ".partial-y");
  const auto fresh = model::capture_sharded(m, texts, hooks, agg, copt, 3, fresh_store);
  CHECK(fresh.resumed == 0);
  for (const auto& h : hooks) {
    INFO(h);
    const auto& w = whole.at(h);
    const auto& r = resumed.outputs.at(h);
    // Resuming changes nothing: the same bytes as an uninterrupted run with the same shards.
    CHECK(r.data == fresh.outputs.at(h).data);
    CHECK(r.rows == w.rows);
    CHECK(r.row_shape == w.row_shape);
    // Other batches, other padding: float32 rounding only.
    CHECK(max_abs(r.data, w.data) < 1e-5f);
    // `all`: offsets re-based across shards are the running token counts.
    std::vector<std::int64_t> want = {0};
    for (const auto& t : texts)
      want.push_back(want.back() + static_cast<std::int64_t>(t.ids.size()));
    CHECK(r.offsets == want);
  }
  store.remove();
  CHECK_FALSE(fs::exists(store.dir()));
}

TEST_CASE("ShardStore and write_hook_output round-trip; a shard without a hook is not used",
          "[model][capture]") {
  const fs::path dir = test::scratch_dir("shard_store");
  model::HookOutput o;
  o.row_shape = {2, 3};
  o.rows = 2;
  o.data = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  o.offsets = {0, 1, 2};
  const model::ShardStore store(dir / "shards");
  store.save(4, {{"h", o}});
  model::HookOutputs back;
  REQUIRE(store.load(4, {"h"}, back));
  CHECK(back.at("h").data == o.data);
  CHECK(back.at("h").row_shape == o.row_shape);
  CHECK(back.at("h").offsets == o.offsets);
  CHECK_FALSE(store.load(4, {"h", "other"}, back));
  CHECK_FALSE(store.load(5, {"h"}, back));
  test::spit(store.dir() / "shard-000004.safetensors", "damaged");
  CHECK_FALSE(store.load(4, {"h"}, back));

  CHECK(model::write_hook_output(dir, "h", o, "npy", {}) ==
        std::vector<std::string>{"h.npy", "h.offsets.npy"});
  const io::Array a = io::read_npy(dir / "h.npy");
  CHECK(a.shape == std::vector<std::int64_t>{2, 2, 3});
  CHECK(io::to_double_vector(a)[11] == 12.0);
  CHECK(io::to_double_vector(io::read_npy(dir / "h.offsets.npy")) == std::vector<double>{0, 1, 2});
  CHECK(model::write_hook_output(dir, "h", o, "safetensors", {{"hook", "h"}}) ==
        std::vector<std::string>{"h.safetensors"});
  const auto st = io::SafetensorsFile::open(dir / "h.safetensors");
  CHECK(st.read("activations").shape == std::vector<std::int64_t>{2, 2, 3});
  CHECK(io::to_double_vector(st.read("offsets")) == std::vector<double>{0, 1, 2});

  // concat_shards: rows appended in order, offsets shifted by the rows before.
  std::vector<model::HookOutputs> shards = {{{"h", o}}, {{"h", o}}};
  const auto joined = model::concat_shards(shards, {"h"});
  CHECK(joined.at("h").rows == 4);
  CHECK(joined.at("h").offsets == std::vector<std::int64_t>{0, 1, 2, 3, 4});
  CHECK(joined.at("h").data.size() == 24);
  CHECK(joined.at("h").data[12] == 1.0f);
}

TEST_CASE("weight_files and tokenizer_files of a model folder", "[model][capture]") {
  CHECK(model::weight_files(tiny()) == std::vector<fs::path>{tiny() / "model.safetensors"});
  const fs::path bin = test::data_dir() / "models" / "tiny-bin";
  CHECK(model::weight_files(bin) == std::vector<fs::path>{bin / "pytorch_model.bin"});
  CHECK(model::tokenizer_files(tiny()) ==
        std::vector<fs::path>{tiny() / "vocab.json", tiny() / "merges.txt"});

  const fs::path idx = test::scratch_dir("weights_index");
  test::spit(idx / "model.safetensors.index.json",
             R"({"weight_map": {"a": "s2.safetensors", "b": "s1.safetensors",
                                "c": "s1.safetensors"}})");
  CHECK(model::weight_files(idx) == std::vector<fs::path>{idx / "model.safetensors.index.json",
                                                          idx / "s1.safetensors",
                                                          idx / "s2.safetensors"});
  const fs::path empty = test::scratch_dir("weights_none");
  CHECK_THROWS_WITH(model::weight_files(empty), Contains("no weights"));
  CHECK_THROWS_WITH(model::tokenizer_files(empty), Contains("--tokenizer"));
  test::spit(empty / "encoder.json", "{}");
  test::spit(empty / "vocab.bpe", "");
  CHECK(model::tokenizer_files(empty) ==
        std::vector<fs::path>{empty / "encoder.json", empty / "vocab.bpe"});
}

TEST_CASE("capture_key: the bytes the results depend on and the options that change them",
          "[model][capture]") {
  const auto k = model::capture_key(tiny(), tiny(), texts_csv(), key_options());
  // The layout the header documents (every existing cache depends on it).
  CHECK(k.parts["config"] == io::hash_file(tiny() / "config.json"));
  CHECK(k.parts["weights"] == nlohmann::json::array({io::hash_file(tiny() / "model.safetensors")}));
  CHECK(k.parts["tokenizer"] == nlohmann::json::array({io::hash_file(tiny() / "vocab.json"),
                                                       io::hash_file(tiny() / "merges.txt")}));
  CHECK(k.parts["input"] == io::hash_file(texts_csv()));
  std::vector<std::string> names;
  for (const auto& [name, v] : k.parts["options"].items()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"aggregate", "dtype", "ids_column", "label_column",
                                          "max_length", "skip_unmatched", "text_column"});
  CHECK(k.base == io::hash_bytes(k.parts.dump()));
  CHECK(k.weights == std::vector<fs::path>{tiny() / "model.safetensors"});
  CHECK(k.hook("hook_final") == io::hash_bytes(k.base + "|hook_final"));
  CHECK(k.hook("hook_final") != k.hook("hook_embed"));
  CHECK(k.partial_dir({"a", "b"}) == ".partial-" + io::hash_bytes(k.base + "|a;b;"));
  CHECK(k.partial_dir({"a", "b"}) != k.partial_dir({"b", "a"}));

  // Content, not paths: the same tokenizer files elsewhere give the same key.
  const fs::path tok = test::scratch_dir("key_tokenizer");
  fs::copy_file(tiny() / "vocab.json", tok / "vocab.json");
  fs::copy_file(tiny() / "merges.txt", tok / "merges.txt");
  CHECK(model::capture_key(tiny(), tok, texts_csv(), key_options()).base == k.base);
  // Every option and every file changes it.
  auto changed = [&](const std::function<void(model::CaptureKeyOptions&)>& edit) {
    auto o = key_options();
    edit(o);
    return model::capture_key(tiny(), tiny(), texts_csv(), o).base != k.base;
  };
  CHECK(changed([](auto& o) { o.text_column = "t"; }));
  CHECK(changed([](auto& o) { o.label_column = "l"; }));
  CHECK(changed([](auto& o) { o.ids_column = "ids"; }));
  CHECK(changed([](auto& o) { o.aggregate = "mean"; }));
  CHECK(changed([](auto& o) { o.max_length = 16; }));
  CHECK(changed([](auto& o) { o.dtype = "bfloat16"; }));
  CHECK(changed([](auto& o) { o.skip_unmatched = true; }));
  const fs::path wide = test::data_dir() / "models" / "wide";
  CHECK(model::capture_key(wide, tiny(), texts_csv(), key_options()).base != k.base);
  CHECK(model::capture_key(tiny(), tiny(), test::data_dir() / "capture" / "long.txt", key_options())
            .base != k.base);
}

TEST_CASE("CaptureCache: what is stale, what is kept, which folders are refused",
          "[model][capture]") {
  const auto key = model::capture_key(tiny(), tiny(), texts_csv(), key_options());
  const fs::path out = test::scratch_dir("capture_cache") / "out";
  const std::vector<std::string> hooks = {"h1", "h2"};
  CHECK(model::CaptureCache::open(out, key, false).stale(hooks) == hooks);  // no folder yet

  // A finished run that wrote h1: its run.json records the cache.
  fs::create_directories(out);
  auto first = model::CaptureCache::open(out, key, false);
  first.add("h1", {"h1.npy"});
  test::spit(out / "h1.npy", "x");
  test::spit(
      out / "run.json",
      nlohmann::json{{"command", "capture"}, {"summary", {{"cache", first.summary()}}}}.dump());
  CHECK(first.summary()["key"] == key.base);
  CHECK(first.files("h1") == nlohmann::json::array({"h1.npy"}));
  CHECK(first.files("h2").is_null());

  CHECK(model::CaptureCache::open(out, key, false).stale(hooks) == std::vector<std::string>{"h2"});
  CHECK(model::CaptureCache::open(out, key, /*force=*/true).stale(hooks) == hooks);
  // Other options: a new key, nothing reused; the old hook's file goes once run.json is new.
  auto opts = key_options();
  opts.aggregate = "mean";
  const auto other = model::capture_key(tiny(), tiny(), texts_csv(), opts);
  auto second = model::CaptureCache::open(out, other, false);
  CHECK(second.stale(hooks) == hooks);
  second.add("h2", {"h2.npy"});
  CHECK_FALSE(second.summary()["hooks"].contains("h1"));
  second.remove_unlisted_files();
  CHECK_FALSE(fs::exists(out / "h1.npy"));
  // A recorded file that is gone makes its hook stale.
  CHECK(model::CaptureCache::open(out, key, false).stale({"h1"}) == std::vector<std::string>{"h1"});

  SECTION("refused folders, and a run.json that is not JSON") {
    test::spit(out / "run.json", R"({"command": "pca"})");
    CHECK_THAT(usage_error([&] { model::CaptureCache::open(out, key, false); }),
               Contains("holds the results of `actlens pca`"));
    test::spit(out / "run.json", "not json");
    CHECK(model::CaptureCache::open(out, key, false).stale(hooks) == hooks);
    fs::remove(out / "run.json");
    test::spit(out / "notes.txt", "not written by actlens");
    CHECK_THAT(usage_error([&] { model::CaptureCache::open(out, key, false); }),
               Contains("is not an actlens result"));
    const fs::path partial_only = test::scratch_dir("capture_cache_partial");
    fs::create_directories(partial_only / ".partial-abc");
    CHECK(model::CaptureCache::open(partial_only, key, false).stale(hooks) == hooks);
    const fs::path file = partial_only / "file";
    test::spit(file, "x");
    CHECK_THAT(usage_error([&] { model::CaptureCache::open(file, key, false); }),
               Contains("exists and is not a folder"));
  }
}

TEST_CASE("prepare_texts: ids, truncation, matches, refusals", "[model][capture]") {
  const auto tok = io::Gpt2Tokenizer::from_folder(tiny());
  const std::vector<io::TextRecord> records(4);
  const std::vector<std::string> ids = {"1 2 3", "4 5 6 7 8", "9", "10  11"};
  model::PrepareOptions o;
  o.max_length = 4;
  o.source = "in.csv";
  o.ids_column = "ids";
  const auto p = model::prepare_texts(records, tok, o, ids);
  REQUIRE(p.texts.size() == 4);
  CHECK(p.texts[1].ids == std::vector<std::int32_t>{4, 5, 6, 7});
  CHECK(p.texts[3].ids == std::vector<std::int32_t>{10, 11});
  CHECK(p.truncated == std::vector<bool>{false, true, false, false});
  CHECK(p.n_truncated == 1);
  CHECK(p.n_tokens == 3 + 4 + 1 + 2);
  CHECK(p.max_tokens == 4);
  CHECK(p.record == std::vector<std::size_t>{0, 1, 2, 3});

  o.aggregation = model::Aggregation::parse("position:1");
  CHECK_THROWS_WITH(model::prepare_texts(records, tok, o, ids),
                    Contains("in.csv: 1 record(s) (3) have no token at index 1") &&
                        Contains("within --max-length tokens") && Contains("--skip-unmatched"));
  o.skip_unmatched = true;
  const auto q = model::prepare_texts(records, tok, o, ids);
  CHECK(q.record == std::vector<std::size_t>{0, 1, 3});
  CHECK(q.n_unmatched == 1);
  CHECK(q.texts[2].match.begin == 1);
  CHECK(q.texts[2].match.length == 1);

  o = {};
  o.source = "in.csv";
  o.ids_column = "ids";
  CHECK_THROWS_WITH(model::prepare_texts(records, tok, o, {"1", "2 x", "3", "4"}),
                    Contains("in.csv: record 2, column 'ids': 'x' is not a token id"));
  CHECK_THROWS_WITH(model::prepare_texts(records, tok, o, {"1", "", "3", "4"}),
                    Contains("in.csv: record 2 is empty"));

  // Encoded texts and token:WORDS: the match is where the word's tokens are.
  const std::vector<io::TextRecord> words = {{"I saw him there", ""}, {"nothing here", ""}};
  o.aggregation = model::Aggregation::parse("token:him");
  o.skip_unmatched = true;
  const auto w = model::prepare_texts(words, tok, o);
  REQUIRE(w.texts.size() == 1);
  CHECK(w.texts[0].ids == tok.encode("I saw him there"));
  const auto him = tok.encode(" him");
  REQUIRE(w.texts[0].match.begin >= 0);
  CHECK(std::vector<std::int32_t>(
            w.texts[0].ids.begin() + w.texts[0].match.begin,
            w.texts[0].ids.begin() + w.texts[0].match.begin + w.texts[0].match.length) == him);
  o.skip_unmatched = false;
  CHECK_THROWS_WITH(model::prepare_texts({{"nothing here", ""}}, tok, o),
                    Contains("contain none of the words of --aggregate token:him"));
}

TEST_CASE("read_ids_column: a .csv column, one row per record", "[model][capture]") {
  const fs::path dir = test::scratch_dir("ids_column");
  test::spit(dir / "w.csv", "text,ids\na,1 2\nb,3\n");
  CHECK(model::read_ids_column(dir / "w.csv", "ids", 2) == std::vector<std::string>{"1 2", "3"});
  CHECK_THAT(usage_error([&] { model::read_ids_column(dir / "w.csv", "nope", 2); }),
             Contains("has no column 'nope'"));
  test::spit(dir / "w.txt", "a\n");
  CHECK_THAT(usage_error([&] { model::read_ids_column(dir / "w.txt", "ids", 1); }),
             Contains("needs a .csv input"));
  CHECK_THROWS_WITH(model::read_ids_column(dir / "w.csv", "ids", 3),
                    Contains("2 rows of ids for 3 texts"));
}
