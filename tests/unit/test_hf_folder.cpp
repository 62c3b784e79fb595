// io/hf_folder: the file layout of a Hugging Face model folder (the names and precedence
// transformers' from_pretrained uses: SAFE_WEIGHTS_NAME, SAFE_WEIGHTS_INDEX_NAME, WEIGHTS_NAME,
// WEIGHTS_INDEX_NAME; GPT-2's vocab.json + merges.txt, OpenAI's encoder.json + vocab.bpe), a
// sharded GPT-2 folder's token embedding against the transformers fixture, and io::shape_str.
#include <catch2/catch.hpp>

#include <map>
#include <nlohmann/json.hpp>

#include "actlens/error.hpp"
#include "actlens/io/embeddings.hpp"
#include "actlens/io/hf_folder.hpp"
#include "actlens/io/safetensors.hpp"
#include "actlens/io/shape.hpp"
#include "test_paths.hpp"

using namespace actlens::io;
namespace fs = std::filesystem;
using actlens::Error;
using actlens::test::scratch_dir;
using actlens::test::spit;
using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;

namespace {

fs::path tiny_dir() {
  return actlens::test::data_dir() / "models" / "tiny";
}

// Splits tiny's weights into two safetensors shards (the token embedding in the second) with an
// index, as save_pretrained(max_shard_size=...) lays them out.
fs::path sharded_tiny(const std::string& name) {
  const fs::path dir = scratch_dir(name);
  for (const char* f : {"config.json", "vocab.json", "merges.txt"})
    fs::copy_file(tiny_dir() / f, dir / f);
  const auto st = SafetensorsFile::open(tiny_dir() / "model.safetensors");
  std::map<std::string, Array> first, second;
  nlohmann::json map = nlohmann::json::object();
  for (const auto& k : st.keys()) {
    const bool two = k == "wte.weight" || k.rfind("h.1.", 0) == 0;
    (two ? second : first)[k] = st.read(k);
    map[k] = two ? "model-00002-of-00002.safetensors" : "model-00001-of-00002.safetensors";
  }
  write_safetensors(dir / "model-00001-of-00002.safetensors", first);
  write_safetensors(dir / "model-00002-of-00002.safetensors", second);
  spit(dir / "model.safetensors.index.json",
       nlohmann::json{{"metadata", {{"total_size", 0}}}, {"weight_map", map}}.dump());
  return dir;
}

}  // namespace

TEST_CASE("hf_folder: one weight file, in transformers' order of precedence", "[io][hf_folder]") {
  const auto st = hf_weights(tiny_dir());
  CHECK(st.safetensors);
  CHECK(st.index.empty());
  CHECK(st.files == std::vector<fs::path>{tiny_dir() / "model.safetensors"});
  CHECK(st.source() == tiny_dir() / "model.safetensors");
  CHECK(st.shard_of.empty());

  const fs::path bin = actlens::test::data_dir() / "models" / "tiny-bin";
  const auto pt = hf_weights(bin);
  CHECK_FALSE(pt.safetensors);
  CHECK(pt.files == std::vector<fs::path>{bin / "pytorch_model.bin"});

  // safetensors first, then its index, then pytorch_model.bin, then its index
  const fs::path dir = scratch_dir("hf_order");
  spit(dir / "pytorch_model.bin.index.json", R"({"weight_map": {"a": "p1.bin"}})");
  CHECK(hf_weights(dir).index == dir / "pytorch_model.bin.index.json");
  CHECK_FALSE(hf_weights(dir).safetensors);
  spit(dir / "pytorch_model.bin", "");
  CHECK(hf_weights(dir).files == std::vector<fs::path>{dir / "pytorch_model.bin"});
  spit(dir / "model.safetensors.index.json", R"({"weight_map": {"a": "s1.safetensors"}})");
  CHECK(hf_weights(dir).index == dir / "model.safetensors.index.json");
  CHECK(hf_weights(dir).safetensors);
  spit(dir / "model.safetensors", "");
  CHECK(hf_weights(dir).files == std::vector<fs::path>{dir / "model.safetensors"});
}

TEST_CASE("hf_folder: a sharded index lists each shard once, sorted", "[io][hf_folder]") {
  const fs::path dir = scratch_dir("hf_index");
  spit(dir / "model.safetensors.index.json", R"({"metadata": {}, "weight_map": {
         "h.1.w": "model-00002-of-00002.safetensors", "wte.weight": "model-00001-of-00002.safetensors",
         "h.0.w": "model-00001-of-00002.safetensors", "odd": 7}})");
  const auto w = hf_weights(dir);
  CHECK(w.index == dir / "model.safetensors.index.json");
  CHECK(w.source() == w.index);
  // not checked to exist: none of these shards is there
  CHECK(w.files == std::vector<fs::path>{dir / "model-00001-of-00002.safetensors",
                                         dir / "model-00002-of-00002.safetensors"});
  CHECK(w.shard_of.size() == 3);  // the non-string entry is no shard
  CHECK(w.shard_of.at("h.1.w") == dir / "model-00002-of-00002.safetensors");
  CHECK(w.shard_of.count("odd") == 0);

  spit(dir / "model.safetensors.index.json", R"({"metadata": {}})");
  CHECK_THROWS_WITH(hf_weights(dir), Contains("model.safetensors.index.json: no \"weight_map\""));
  spit(dir / "model.safetensors.index.json", "{\"weight_map\": ");
  CHECK_THROWS_WITH(hf_weights(dir), Contains("model.safetensors.index.json: not valid JSON"));
}

TEST_CASE("hf_folder: no weights, config and folder checks", "[io][hf_folder]") {
  const fs::path dir = scratch_dir("hf_empty");
  CHECK_FALSE(find_hf_weights(dir).has_value());
  CHECK_THROWS_AS(hf_weights(dir), Error);
  CHECK_THROWS_WITH(hf_weights(dir, "; give a GPT-2 model folder"),
                    dir.string() +
                        ": no weights (looked for model.safetensors, model.safetensors.index.json, "
                        "pytorch_model.bin, pytorch_model.bin.index.json); give a GPT-2 model "
                        "folder");

  CHECK(hf_config_file(dir) == dir / "config.json");
  CHECK_THROWS_WITH(
      require_hf_config(dir, "is --model a Hugging Face model folder?"),
      (dir / "config.json").string() + ": missing; is --model a Hugging Face model folder?");
  CHECK(require_hf_config(tiny_dir(), "x") == tiny_dir() / "config.json");

  CHECK_NOTHROW(require_hf_folder(dir, "GPT-2"));
  CHECK_THROWS_WITH(require_hf_folder(dir / "nope", "GPT-2"),
                    (dir / "nope").string() +
                        ": not a folder; --model takes a Hugging Face GPT-2 folder (config.json + "
                        "model.safetensors or pytorch_model.bin)");
}

TEST_CASE("hf_folder: tokenizer files, Hugging Face's names before OpenAI's", "[io][hf_folder]") {
  const auto tiny = find_hf_tokenizer(tiny_dir());
  REQUIRE(tiny);
  CHECK(tiny->vocab == tiny_dir() / "vocab.json");
  CHECK(tiny->merges == tiny_dir() / "merges.txt");

  const fs::path dir = scratch_dir("hf_tok");
  CHECK_FALSE(find_hf_tokenizer(dir));
  spit(dir / "encoder.json", "{}");
  spit(dir / "vocab.json", "{}");
  CHECK_FALSE(find_hf_tokenizer(dir));  // neither pair complete
  spit(dir / "vocab.bpe", "");
  CHECK(find_hf_tokenizer(dir)->vocab == dir / "encoder.json");
  CHECK(find_hf_tokenizer(dir)->merges == dir / "vocab.bpe");
  fs::create_directory(dir / "merges.txt");  // a folder is no merges file
  CHECK(find_hf_tokenizer(dir)->vocab == dir / "encoder.json");
  fs::remove(dir / "merges.txt");
  spit(dir / "merges.txt", "");
  CHECK(find_hf_tokenizer(dir)->vocab == dir / "vocab.json");
}

TEST_CASE("hf_folder: a sharded GPT-2 folder's token embedding", "[io][hf_folder][embeddings]") {
  // Rows as transformers reads them (tests/reference/make_embedding_fixtures.py).
  const nlohmann::json tiny =
      actlens::test::read_json(actlens::test::data_dir() / "embeddings" / "gpt2_expected.json")
          .at("tiny");
  const fs::path dir = sharded_tiny("hf_sharded");
  EmbeddingQuery q;
  q.words = {"the", "a"};  // one token each: ids 393 and 65
  const auto check_rows = [&](const Embeddings& e) {
    REQUIRE(e.words == q.words);
    CHECK(e.vocab_size == tiny.at("wte_shape")[0].get<std::int64_t>());
    for (std::size_t i = 0; i < q.words.size(); ++i) {
      const int id = tiny.at("ids").at("plain").at(q.words[i])[0].get<int>();
      const auto row =
          tiny.at("rows").at(std::to_string(id)).at("safetensors").get<std::vector<double>>();
      REQUIRE(row.size() == 64);
      for (std::size_t j = 0; j < row.size(); ++j)
        CHECK(e.vectors(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) == row[j]);
    }
  };
  check_rows(read_embeddings(dir, q));
  // Only the embedding's shard is read: another shard may be missing.
  fs::remove(dir / "model-00001-of-00002.safetensors");
  check_rows(read_embeddings(dir, q));
  // An index that names no shard for the embedding.
  spit(dir / "model.safetensors.index.json",
       R"({"weight_map": {"h.0.ln_1.weight": "model-00001-of-00002.safetensors"}})");
  CHECK_THROWS_WITH(read_embeddings(dir, q),
                    EndsWith("model.safetensors.index.json: no token embedding (wte.weight or "
                             "transformer.wte.weight); is this a GPT-2 model?"));
}

TEST_CASE("shape_str formats a shape as numpy prints a tuple, in brackets", "[io][shape]") {
  CHECK(shape_str({}) == "[]");
  CHECK(shape_str({7}) == "[7]");
  CHECK(shape_str({2, 3}) == "[2, 3]");
  CHECK(shape_str({50257, 768}) == "[50257, 768]");
}
