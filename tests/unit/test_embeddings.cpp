// Word embeddings: GloVe / word2vec text and binary (gensim's writer, the C tool's layout, gzip),
// .npy + vocabulary, and GPT-2 token embeddings, against the expected rows that
// tests/reference/make_embedding_fixtures.py wrote with numpy / gensim / safetensors / torch /
// transformers; damaged files; word lists; the bundled seed example.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "actlens/error.hpp"
#include "actlens/io/csv.hpp"
#include "actlens/io/embeddings.hpp"
#include "actlens/io/npy.hpp"
#include "actlens/io/safetensors.hpp"
#include "test_paths.hpp"

using actlens::Error;
using actlens::UsageError;
using namespace actlens::io;
namespace fs = std::filesystem;
using actlens::test::slurp;
using actlens::test::spit;
using Catch::Matchers::Matches;
using nlohmann::json;

namespace {

fs::path emb_dir() {
  return actlens::test::data_dir() / "embeddings";
}

// The query of query.txt / query.csv, as the generator wrote it (expected_query.npy's rows).
const std::vector<std::string> kQuery = {"date",  "moon", "café",  "the", "1998",
                                         "space", "kiwi", "naïve", "x",   "galaxy"};

// The 42 words of vectors.txt, in file order (FIXTURE_WORDS in the generator).
const std::vector<std::string> kFileWords = {
    "space",     "spaceship", "planet", "moon",   "star", "galaxy", "chair",  "table", "couch",
    "stool",     "floor",     "apple",  "banana", "pear", "kiwi",   "orange", "peach", "watermelon",
    "starfruit", "date",      "the",    "of",     "and",  "to",     "in",     "is",    "was",
    "for",       "on",        "with",   "as",     "by",   "at",     "from",   "it",    "he",
    "be",        "that",      "café",   "naïve",  "x",    "1998"};

const std::vector<std::string> kSeedWords = {
    "space", "spaceship", "planet", "moon",       "star",      "galaxy", "chair",
    "table", "couch",     "stool",  "floor",      "apple",     "banana", "pear",
    "kiwi",  "orange",    "peach",  "watermelon", "starfruit", "date"};

RowMatrixD expected(const std::string& name) {
  return to_double_matrix(read_npy(emb_dir() / name), name);
}

// Bitwise equality (no tolerance): float32 values widened exactly.
void check_exact(const actlens::core::RowMatrixXd& got, const RowMatrixD& want) {
  REQUIRE(got.rows() == want.rows());
  REQUIRE(got.cols() == want.cols());
  for (Eigen::Index i = 0; i < got.rows(); ++i)
    for (Eigen::Index j = 0; j < got.cols(); ++j) {
      INFO("row " << i << ", column " << j);
      CHECK(got(i, j) == want(i, j));
    }
}

Embeddings read(const fs::path& p, std::vector<std::string> words, bool skip = false) {
  EmbeddingQuery q;
  q.words = std::move(words);
  q.skip_missing = skip;
  return read_embeddings(p, q);
}

// Lines of a text file (without '\n').
std::vector<std::string> lines_of(const fs::path& p) {
  std::vector<std::string> out;
  std::istringstream in(slurp(p));
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

// The message of the Error `f` throws ("" if none, which fails the test).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  FAIL("no actlens::Error thrown");
  return "";
}

}  // namespace

TEST_CASE("embeddings: every file format returns the rows gensim reads", "[io][embeddings]") {
  const RowMatrixD want = expected("expected_query.npy");
  const std::vector<std::pair<std::string, std::string>> files = {
      {"vectors.txt", "glove-text"},         {"vectors.txt.gz", "glove-text"},
      {"vectors.w2v.txt", "word2vec-text"},  {"vectors.bin", "word2vec-binary"},
      {"vectors.bin.gz", "word2vec-binary"}, {"vectors_c.w2v", "word2vec-binary"},
  };
  for (const auto& [name, format] : files) {
    INFO(name);
    const Embeddings e = read(emb_dir() / name, kQuery);
    CHECK(e.format == format);
    CHECK(e.words == kQuery);
    CHECK(e.missing.empty());
    CHECK(e.vocab_size == 42);
    CHECK(e.dim == 8);
    check_exact(e.vectors, want);
  }
}

TEST_CASE("embeddings: .npy tables with a vocabulary file", "[io][embeddings]") {
  EmbeddingQuery q;
  q.words = kQuery;
  q.vocab = emb_dir() / "vectors.vocab.txt";
  for (const char* name : {"vectors.npy", "vectors_f64.npy"}) {
    INFO(name);
    const Embeddings e = read_embeddings(emb_dir() / name, q);
    CHECK(e.format == "npy+vocab");
    CHECK(e.words == kQuery);
    CHECK(e.vocab_size == 42);
    CHECK(e.dim == 8);
    check_exact(e.vectors, expected("expected_query.npy"));
  }
  const Embeddings h = read_embeddings(emb_dir() / "vectors_f16.npy", q);
  check_exact(h.vectors, expected("expected_query_f16.npy"));

  SECTION("the vocabulary is required and must match the rows") {
    EmbeddingQuery none = q;
    none.vocab.clear();
    CHECK_THROWS_AS(read_embeddings(emb_dir() / "vectors.npy", none), UsageError);
    const fs::path dir = actlens::test::scratch_dir("emb_npy");
    auto lines = lines_of(emb_dir() / "vectors.vocab.txt");
    lines.pop_back();
    spit(dir / "short.txt", joined(lines));
    EmbeddingQuery bad = q;
    bad.vocab = dir / "short.txt";
    CHECK_THAT(error_of([&] { read_embeddings(emb_dir() / "vectors.npy", bad); }),
               Matches(".*short\\.txt: 41 words, but .*vectors\\.npy has 42 rows.*"));
    lines = lines_of(emb_dir() / "vectors.vocab.txt");
    lines[40] = "moon";  // line 41 repeats line 4
    spit(dir / "dup.txt", joined(lines));
    bad.vocab = dir / "dup.txt";
    CHECK_THAT(error_of([&] { read_embeddings(emb_dir() / "vectors.npy", bad); }),
               Matches(".*dup\\.txt: word 'moon' appears on lines 4 and 41.*"));
  }
  SECTION("a vocabulary file with another format is a usage error") {
    EmbeddingQuery wrong = q;
    CHECK_THROWS_AS(read_embeddings(emb_dir() / "vectors.txt", wrong), UsageError);
  }
}

TEST_CASE("embeddings: an empty query returns every word in file order", "[io][embeddings]") {
  const RowMatrixD all = expected("expected_all.npy");
  for (const char* name : {"vectors.txt", "vectors.w2v.txt", "vectors.bin", "vectors_c.w2v"}) {
    INFO(name);
    const Embeddings e = read(emb_dir() / name, {});
    CHECK(e.words == kFileWords);
    CHECK(e.vocab_size == 42);
    check_exact(e.vectors, all);
  }
  EmbeddingQuery q;
  q.vocab = emb_dir() / "vectors.vocab.txt";
  const Embeddings n = read_embeddings(emb_dir() / "vectors.npy", q);
  CHECK(n.words == kFileWords);
  check_exact(n.vectors, all);
}

TEST_CASE("embeddings: query order, repeated words, missing words", "[io][embeddings]") {
  const RowMatrixD all = expected("expected_all.npy");
  const auto row_of = [&](const std::string& w) {
    return all.row(std::find(kFileWords.begin(), kFileWords.end(), w) - kFileWords.begin());
  };
  for (const char* name : {"vectors.txt", "vectors.bin"}) {
    INFO(name);
    const Embeddings e = read(emb_dir() / name, {"x", "moon", "space", "moon"});
    REQUIRE(e.words == std::vector<std::string>{"x", "moon", "space", "moon"});
    CHECK(e.vectors.row(0) == row_of("x"));
    CHECK(e.vectors.row(1) == row_of("moon"));
    CHECK(e.vectors.row(2) == row_of("space"));
    CHECK(e.vectors.row(3) == row_of("moon"));

    const std::string msg = error_of([&] {
      read(emb_dir() / name, {"moon", "Moon", "zebra", "space", "zebra"});
    });
    CHECK_THAT(msg, Matches(".*" + std::string(name) +
                            ": 2 of 4 words not found: 'Moon', 'zebra'; .*--skip-missing.*"));

    const Embeddings s = read(emb_dir() / name, {"Moon", "moon", "zebra", "space"}, true);
    CHECK(s.words == std::vector<std::string>{"moon", "space"});
    CHECK(s.missing == std::vector<std::string>{"Moon", "zebra"});
    CHECK(s.missing_reasons ==
          std::vector<std::string>{"not in the vocabulary", "not in the vocabulary"});
    CHECK(s.vectors.row(0) == row_of("moon"));
    CHECK(s.vectors.row(1) == row_of("space"));
  }
  SECTION("more than 20 missing words: the first 20 and a count") {
    std::vector<std::string> q = {"moon"};
    for (int i = 0; i < 25; ++i) q.push_back("nope" + std::to_string(i));
    const std::string msg = error_of([&] { read(emb_dir() / "vectors.txt", q); });
    CHECK_THAT(msg, Matches(".*25 of 26 words not found: 'nope0', .*'nope19' and 5 more;.*"));
    CHECK(msg.find("nope20") == std::string::npos);
  }
  SECTION("all words missing with skip_missing gives an empty [0, dim] matrix") {
    const Embeddings e = read(emb_dir() / "vectors.txt", {"zebra"}, true);
    CHECK(e.words.empty());
    CHECK(e.vectors.rows() == 0);
    CHECK(e.vectors.cols() == 8);
  }
}

TEST_CASE("embeddings: damaged text files name the file and the line", "[io][embeddings]") {
  const fs::path dir = actlens::test::scratch_dir("emb_text");
  const auto base = lines_of(emb_dir() / "vectors.txt");
  const auto write = [&](const std::string& name, std::vector<std::string> lines) {
    spit(dir / name, joined(lines));
    return dir / name;
  };
  SECTION("a row with too few values") {
    auto l = base;
    l[16] = l[16].substr(0, l[16].rfind(' '));  // line 17 loses its last value
    const auto p = write("ragged.txt", l);
    CHECK_THAT(error_of([&] { read(p, {"moon"}); }),
               Matches(".*ragged\\.txt: line 17 has 7 values, the first row has 8;.*"));
  }
  SECTION("a row with one number too many") {
    auto l = base;
    l[4] += " 0.5";
    const auto p = write("extra.txt", l);
    CHECK_THAT(error_of([&] { read(p, {"moon"}); }),
               Matches(".*extra\\.txt: line 5 has 9 values, the first row has 8;.*"));
  }
  SECTION("a non-numeric value in a requested row; not parsed in other rows") {
    auto l = base;
    l[2] = "planet 0.1 0.2 0.3 abc 0.5 0.6 0.7 0.8";  // line 3, column 5
    const auto p = write("nonnum.txt", l);
    CHECK_THAT(error_of([&] {
                 read(p, {"moon", "planet"});
               }),
               Matches(".*nonnum\\.txt: line 3, column 5 \\(word 'planet'\\): 'abc' is not a "
                       "number.*"));
    CHECK_NOTHROW(read(p, {"moon"}));
    CHECK_THROWS_AS(read(p, {}), Error);
  }
  SECTION("NaN and Inf") {
    auto l = base;
    l[3] = "moon 0.1 nan 0.3 0.4 0.5 0.6 0.7 0.8";
    l[5] = "galaxy 0.1 0.2 0.3 0.4 0.5 0.6 0.7 -inf";
    const auto p = write("nan.txt", l);
    CHECK_THAT(error_of([&] { read(p, {"moon"}); }),
               Matches(".*nan\\.txt: line 4, column 3 \\(word 'moon'\\): 'nan' is not a finite "
                       "number.*"));
    CHECK_THAT(error_of([&] { read(p, {"galaxy"}); }),
               Matches(".*nan\\.txt: line 6, column 9 .*'-inf' is not a finite number.*"));
    auto big = base;
    big[3] = "moon 0.1 1e39 0.3 0.4 0.5 0.6 0.7 0.8";
    const auto pb = write("big.txt", big);
    CHECK_THAT(error_of([&] { read(pb, {"moon"}); }),
               Matches(".*big\\.txt: line 4, column 3 .*'1e39' is outside the float32 range.*"));
  }
  SECTION("a requested word that appears twice, wherever the copy is") {
    auto l = base;
    l.push_back("moon 1 2 3 4 5 6 7 8");  // line 43
    const auto p = write("dup.txt", l);
    CHECK_THAT(error_of([&] {
                 read(p, {"space", "moon"});
               }),
               Matches(".*dup\\.txt: word 'moon' appears on lines 4 and 43;.*"));
    CHECK_NOTHROW(read(p, {"space"}));  // duplicates of other words are not looked for
    CHECK_THAT(error_of([&] { read(p, {}); }),
               Matches(".*word 'moon' appears on lines 4 and 43.*"));
  }
  SECTION("empty and missing files") {
    const auto p = write("empty.txt", {});
    CHECK_THAT(error_of([&] { read(p, {"moon"}); }), Matches(".*empty\\.txt: empty file;.*"));
    const auto b = write("blank.txt", {"", "  "});
    CHECK_THAT(error_of([&] { read(b, {"moon"}); }), Matches(".*blank\\.txt: empty file;.*"));
    CHECK_THAT(error_of([&] { read(dir / "absent.txt", {"moon"}); }),
               Matches(".*absent\\.txt: no such file.*"));
  }
  SECTION("a truncated gzip file") {
    const std::string gz = slurp(emb_dir() / "vectors.txt.gz");
    spit(dir / "cut.txt.gz", gz.substr(0, gz.size() / 2));
    CHECK_THAT(error_of([&] { read(dir / "cut.txt.gz", {"moon"}); }),
               Matches(".*cut\\.txt\\.gz: damaged or truncated gzip data.*"));
  }
  SECTION("CRLF line ends, blank lines and a word with spaces") {
    std::string text;
    for (std::size_t i = 0; i < 3; ++i) text += base[i] + "\r\n";
    text += "\r\n. . . 1 2 3 4 5 6 7 8\r\n";
    spit(dir / "odd.txt", text);
    const Embeddings e = read(dir / "odd.txt", {". . .", "planet"});
    CHECK(e.words == std::vector<std::string>{". . .", "planet"});
    CHECK(e.vocab_size == 4);
    Eigen::RowVectorXd one_to_eight(8);
    one_to_eight << 1, 2, 3, 4, 5, 6, 7, 8;
    CHECK(e.vectors.row(0) == one_to_eight);
    CHECK(e.vectors.row(1) == expected("expected_all.npy").row(2));
  }
}

TEST_CASE("embeddings: word2vec headers are checked against the rows", "[io][embeddings]") {
  const fs::path dir = actlens::test::scratch_dir("emb_w2v");
  auto l = lines_of(emb_dir() / "vectors.w2v.txt");
  REQUIRE(l[0] == "42 8");
  l[0] = "43 8";
  spit(dir / "more.txt", joined(l));
  CHECK_THAT(
      error_of([&] { read(dir / "more.txt", {"moon"}); }),
      Matches(".*more\\.txt: the header \\(line 1\\) says 43 words, the file has 42 rows;.*"));
  l[0] = "41 8";
  spit(dir / "fewer.txt", joined(l));
  CHECK_THAT(error_of([&] { read(dir / "fewer.txt", {"moon"}); }),
             Matches(".*fewer\\.txt: line 43 is a row past the 41 words the header.*"));
  l[0] = "42 9";
  spit(dir / "dim.txt", joined(l));
  CHECK_THAT(error_of([&] { read(dir / "dim.txt", {"moon"}); }),
             Matches(".*dim\\.txt: line 2 has 8 values, the header says 9;.*"));

  SECTION("forced formats") {
    EmbeddingQuery q;
    q.words = {"moon"};
    q.format = EmbeddingFormat::GloveText;  // the header becomes a 1-value row
    CHECK_THAT(error_of([&] { read_embeddings(emb_dir() / "vectors.w2v.txt", q); }),
               Matches(".*line 2 has 8 values, the first row has 1;.*"));
    q.format = EmbeddingFormat::Word2VecBinary;
    CHECK_THAT(error_of([&] { read_embeddings(emb_dir() / "vectors.txt", q); }),
               Matches(".*vectors\\.txt: line 1 is not a word2vec header.*"));
    q.format = EmbeddingFormat::Word2VecText;
    const Embeddings e = read_embeddings(emb_dir() / "vectors.w2v.txt", q);
    CHECK(e.format == "word2vec-text");
  }
}

TEST_CASE("embeddings: damaged word2vec binary files", "[io][embeddings]") {
  const fs::path dir = actlens::test::scratch_dir("emb_bin");
  const std::string bin = slurp(emb_dir() / "vectors.bin");
  REQUIRE(bin.substr(0, 5) == "42 8\n");
  // Record k (1-based) starts after the header and k-1 records of word + ' ' + 32 bytes.
  std::vector<std::size_t> starts = {5};
  for (std::size_t k = 0; k < kFileWords.size(); ++k)
    starts.push_back(starts.back() + kFileWords[k].size() + 1 + 32);
  REQUIRE(starts.back() == bin.size());

  spit(dir / "cut_vector.bin", bin.substr(0, starts[10] + 20));  // inside word 11's vector
  CHECK_THAT(error_of([&] { read(dir / "cut_vector.bin", {"moon"}); }),
             Matches(".*cut_vector\\.bin: the file ends inside the vector of word 11 of 42 "
                     "\\('floor', 32 bytes\\); it is truncated.*"));
  spit(dir / "cut_word.bin", bin.substr(0, starts[10] + 3));  // inside word 11
  CHECK_THAT(error_of([&] { read(dir / "cut_word.bin", {"moon"}); }),
             Matches(".*cut_word\\.bin: the file ends inside word 11 of 42;.*"));
  spit(dir / "cut_requested.bin", bin.substr(0, starts[4] - 1));  // inside 'moon', requested
  CHECK_THAT(error_of([&] { read(dir / "cut_requested.bin", {"moon"}); }),
             Matches(".*the file ends inside the vector of word 4 of 42 \\('moon'.*"));

  spit(dir / "count_high.bin", "43 8\n" + bin.substr(5));
  CHECK_THAT(error_of([&] { read(dir / "count_high.bin", {"moon"}); }),
             Matches(".*count_high\\.bin: the file ends before word 43 of 43; .*header \\(43 "
                     "words x 8 dims\\) is wrong.*"));
  spit(dir / "count_low.bin", "41 8\n" + bin.substr(5));
  CHECK_THAT(error_of([&] { read(dir / "count_low.bin", {"moon"}); }),
             Matches(".*count_low\\.bin: data follows the 41 words the header promises;.*"));
  spit(dir / "dim_high.bin", "42 9\n" + bin.substr(5));
  CHECK_THAT(error_of([&] { read(dir / "dim_high.bin", {"moon"}); }),
             Matches(".*dim_high\\.bin: .*word [0-9]+ of 42.*header \\(42 words x 9 dims\\).*"));

  // A NaN in a requested vector (value 3 of 'moon').
  std::string nan_bin = bin;
  const unsigned char nan_bytes[4] = {0x00, 0x00, 0xc0, 0x7f};
  std::memcpy(nan_bin.data() + starts[3] + 5 + 8, nan_bytes, 4);
  spit(dir / "nan.bin", nan_bin);
  CHECK_THAT(error_of([&] { read(dir / "nan.bin", {"moon"}); }),
             Matches(".*nan\\.bin: value 3 of word 4 of 42 \\('moon'\\) is NaN or Inf.*"));
  CHECK_NOTHROW(read(dir / "nan.bin", {"space"}));

  // A duplicate of a requested word: 'moon''s record appended as word 43.
  const std::string dup2 = "43 8\n" + bin.substr(5) + bin.substr(starts[3], starts[4] - starts[3]);
  spit(dir / "dup.bin", dup2);
  CHECK_THAT(error_of([&] { read(dir / "dup.bin", {"moon"}); }),
             Matches(".*dup\\.bin: word 'moon' appears as words 4 and 43;.*"));
}

TEST_CASE("embeddings: GPT-2 folders give single-token words their wte row", "[io][embeddings]") {
  const json want = actlens::test::read_json(emb_dir() / "gpt2_expected.json");
  const json& tiny = want.at("tiny");
  const auto words = tiny.at("words").get<std::vector<std::string>>();
  struct Case {
    const char* folder;
    const char* rows_key;
  };
  for (const Case c : {Case{"tiny", "safetensors"}, Case{"tiny-bin", "torch"}}) {
    for (const bool space : {false, true}) {
      INFO(c.folder << (space ? " with leading space" : ""));
      const json& ids = tiny.at("ids").at(space ? "space" : "plain");
      EmbeddingQuery q;
      q.words = words;
      q.gpt2_leading_space = space;
      q.skip_missing = true;
      const Embeddings e = read_embeddings(actlens::test::data_dir() / "models" / c.folder, q);
      CHECK(e.format == "gpt2-wte");
      CHECK(e.vocab_size == tiny.at("wte_shape")[0].get<std::int64_t>());
      CHECK(e.dim == 64);
      std::vector<std::string> found, missing, reasons;
      for (const auto& w : words) {
        const auto t = ids.at(w).get<std::vector<int>>();
        if (t.size() == 1) {
          found.push_back(w);
        } else {
          missing.push_back(w);
          reasons.push_back(std::to_string(t.size()) + " tokens");
        }
      }
      REQUIRE(e.words == found);
      CHECK(e.missing == missing);
      REQUIRE(e.missing_reasons.size() == reasons.size());
      for (std::size_t i = 0; i < reasons.size(); ++i)
        CHECK_THAT(e.missing_reasons[i], Matches(reasons[i] + ": .*"));
      for (std::size_t i = 0; i < found.size(); ++i) {
        const int id = ids.at(found[i])[0].get<int>();
        const auto row =
            tiny.at("rows").at(std::to_string(id)).at(c.rows_key).get<std::vector<double>>();
        REQUIRE(row.size() == 64);
        for (std::size_t j = 0; j < 64; ++j)
          CHECK(e.vectors(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) == row[j]);
      }
    }
  }
  SECTION("multi-token words are an error listing them, unless skipped") {
    EmbeddingQuery q;
    q.words = {"the", "moon", "byte"};
    const std::string msg =
        error_of([&] { read_embeddings(actlens::test::data_dir() / "models" / "tiny", q); });
    CHECK_THAT(msg, Matches(".*tiny: 2 of 3 words not found: 'moon' \\(4 tokens: m\\|o\\|o\\|n\\), "
                            "'byte' \\(3 tokens: .*\\);.*"));
  }
  SECTION("a GPT-2 folder needs words") {
    EmbeddingQuery q;
    CHECK_THROWS_AS(read_embeddings(actlens::test::data_dir() / "models" / "tiny", q), UsageError);
  }
}

TEST_CASE("embeddings: the real GPT-2 vocabulary with a synthetic wte", "[io][embeddings]") {
  const json want = actlens::test::read_json(emb_dir() / "gpt2_expected.json").at("gpt2");
  const fs::path dir = actlens::test::scratch_dir("emb_gpt2");
  const fs::path vocab = actlens::test::data_dir() / "tokenizer" / "gpt2";
  fs::copy_file(vocab / "encoder.json", dir / "encoder.json");
  fs::copy_file(vocab / "vocab.bpe", dir / "vocab.bpe");
  // wte row i = (i, -i / 2): every value exact in float32.
  const std::int64_t n = want.at("vocab_size").get<std::int64_t>();
  REQUIRE(n == 50257);
  std::vector<float> wte(static_cast<std::size_t>(n) * 2);
  for (std::int64_t i = 0; i < n; ++i) {
    wte[static_cast<std::size_t>(2 * i)] = static_cast<float>(i);
    wte[static_cast<std::size_t>(2 * i + 1)] = -0.5F * static_cast<float>(i);
  }
  write_safetensors(dir / "model.safetensors",
                    {{"transformer.wte.weight", actlens::test::array_of(DType::F32, {n, 2}, wte)}});
  for (const bool space : {false, true}) {
    INFO((space ? "leading space" : "plain"));
    const json& ids = want.at("ids").at(space ? "space" : "plain");
    EmbeddingQuery q;
    q.words = kSeedWords;
    q.gpt2_leading_space = space;
    q.skip_missing = true;
    const Embeddings e = read_embeddings(dir, q);
    CHECK(e.vocab_size == n);
    std::vector<std::string> found, missing;
    for (const auto& w : kSeedWords) (ids.at(w).size() == 1 ? found : missing).push_back(w);
    REQUIRE(e.words == found);
    CHECK(e.missing == missing);
    for (std::size_t i = 0; i < found.size(); ++i) {
      const double id = ids.at(found[i])[0].get<double>();
      CHECK(e.vectors(static_cast<Eigen::Index>(i), 0) == id);
      CHECK(e.vectors(static_cast<Eigen::Index>(i), 1) == -id / 2);
    }
  }
  // The seed's words with a leading space: 'starfruit' is " star" + "fruit".
  EmbeddingQuery q;
  q.words = {"moon", "starfruit"};
  q.gpt2_leading_space = true;
  CHECK_THAT(error_of([&] { read_embeddings(dir, q); }),
             Matches(".*1 of 2 words not found: 'starfruit' \\(2 tokens: Ġstar\\|fruit\\);.*"));
}

TEST_CASE("embeddings: read_word_list takes a list or a file", "[io][embeddings]") {
  CHECK(read_word_list("moon, star,,sun ") == std::vector<std::string>{"moon", "star", "sun"});
  CHECK(read_word_list("moon") == std::vector<std::string>{"moon"});
  CHECK(read_word_list((emb_dir() / "query.txt").string()) == kQuery);
  CHECK(read_word_list((emb_dir() / "query.csv").string()) == kQuery);  // the `word` column
  CHECK(read_word_list((emb_dir() / "seed_words.txt").string()) == kSeedWords);
  CHECK(read_word_list((emb_dir() / "seed_groups.csv").string()) == kSeedWords);
  const fs::path dir = actlens::test::scratch_dir("emb_words");
  spit(dir / "first.csv", "token,n\nmoon,1\n\"a, b\",2\n");
  CHECK(read_word_list((dir / "first.csv").string()) == std::vector<std::string>{"moon", "a, b"});
  spit(dir / "comments.txt", "# only comments\n\n   \n");
  CHECK_THAT(error_of([&] { read_word_list((dir / "comments.txt").string()); }),
             Matches(".*comments\\.txt: no words;.*"));
  CHECK_THAT(error_of([&] { read_word_list((dir / "absent.txt").string()); }),
             Matches(".*absent\\.txt: no such word-list file.*"));
  CHECK_THROWS_AS(read_word_list(" , "), UsageError);
}

TEST_CASE("embeddings: format names", "[io][embeddings]") {
  for (const auto f : {EmbeddingFormat::Auto, EmbeddingFormat::GloveText,
                       EmbeddingFormat::Word2VecText, EmbeddingFormat::Word2VecBinary,
                       EmbeddingFormat::NpyWithVocab, EmbeddingFormat::Gpt2Folder})
    CHECK(parse_embedding_format(embedding_format_name(f)) == f);
  CHECK(parse_embedding_format("glove") == EmbeddingFormat::GloveText);
  CHECK(parse_embedding_format("gpt2") == EmbeddingFormat::Gpt2Folder);
  CHECK_THROWS_AS(parse_embedding_format("fasttext"), UsageError);
}

TEST_CASE("embeddings: the bundled seed example (synthetic GloVe 50/300)", "[io][embeddings]") {
  const auto words = read_word_list((emb_dir() / "seed_words.txt").string());
  const actlens::io::CsvTable groups = read_csv(emb_dir() / "seed_groups.csv");
  REQUIRE(groups.header == std::vector<std::string>{"word", "group"});
  std::map<std::string, int> per_group;
  std::vector<std::string> group_of;
  for (const auto& r : groups.rows) {
    ++per_group[r.at(1)];
    group_of.push_back(r.at(1));
  }
  CHECK(per_group == std::map<std::string, int>{{"space", 6}, {"furniture", 5}, {"fruit", 9}});
  for (const auto& [name, dim] : {std::pair{"small50.txt", 50}, std::pair{"small300.txt", 300}}) {
    INFO(name);
    const Embeddings e = read(emb_dir() / name, words);
    CHECK(e.words == kSeedWords);
    CHECK(e.vocab_size == 200);
    CHECK(e.dim == dim);
    REQUIRE(e.vectors.rows() == 20);
    // Category structure: mean within-group cosine above mean between-group cosine.
    Eigen::MatrixXd u = e.vectors;
    u.rowwise().normalize();
    const Eigen::MatrixXd cs = u * u.transpose();
    double within = 0, between = 0;
    int nw = 0, nb = 0;
    for (int i = 0; i < 20; ++i)
      for (int j = i + 1; j < 20; ++j) {
        const bool same =
            group_of[static_cast<std::size_t>(i)] == group_of[static_cast<std::size_t>(j)];
        (same ? within : between) += cs(i, j);
        ++(same ? nw : nb);
      }
    CHECK(within / nw > between / nb + 0.2);
  }
}
