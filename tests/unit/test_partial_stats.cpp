// Partial-statistics files (io/partial_stats): round trips are exact, sharded partials merged in
// any order or as a tree equal one pass, and every refusal of issue 19 says which files and which
// field (one line, actlens::Error).
#include <algorithm>
#include <random>

#include <catch2/catch.hpp>

#include "actlens/error.hpp"
#include "actlens/io/partial_stats.hpp"
#include "actlens/io/safetensors.hpp"
#include "test_paths.hpp"

using namespace actlens;
using Catch::Matchers::Contains;

namespace {

constexpr int kD = 6, kC = 3, kRows = 400, kShards = 4;
const std::vector<int> kLayers{3, 7};

// Rows of layer L: offset 1e3 + L, classes 2 apart, unit spread; row i is in class i % kC.
core::RowMatrixXd layer_rows(int layer) {
  std::mt19937_64 rng(static_cast<unsigned>(100 + layer));
  std::normal_distribution<double> g(0, 1);
  core::RowMatrixXd x(kRows, kD);
  for (int i = 0; i < kRows; ++i)
    for (int j = 0; j < kD; ++j) x(i, j) = 1e3 + layer + 2.0 * (i % kC) * (j % 2) + g(rng);
  return x;
}

std::vector<int> labels(int begin, int end) {
  std::vector<int> y;
  for (int i = begin; i < end; ++i) y.push_back(i % kC);
  return y;
}

io::PartialManifest manifest() {
  io::PartialManifest m;
  m.analysis = "lda";
  m.program_version = "9.9.9";
  m.options = {{"precision", "float64"}, {"standardize", false}};
  m.layers = kLayers;
  m.dim = kD;
  m.classes = {"pirate", "poet", "judge"};
  return m;
}

// Shard k (1-based) of kShards: a contiguous block of rows, its own accumulator per layer.
io::PartialStats shard(int k) {
  const int begin = (k - 1) * kRows / kShards, end = k * kRows / kShards;
  io::PartialStats p;
  p.manifest = manifest();
  p.manifest.shard_count = kShards;
  p.manifest.shards = {k};
  p.manifest.inputs = {{"roles/part" + std::to_string(k) + ".pt", 1000u + unsigned(k),
                        "00000000000000a" + std::to_string(k)}};
  const auto y = labels(begin, end);
  for (int layer : kLayers) {
    core::ScatterAccumulator acc(kD, kC);
    acc.add(layer_rows(layer).middleRows(begin, end - begin), y);
    p.groups.push_back({io::layer_group(layer), acc.state()});
  }
  return p;
}

core::ScatterStats one_pass(int layer) {
  core::ScatterAccumulator acc(kD, kC);
  acc.add(layer_rows(layer), labels(0, kRows));
  return acc.finalize();
}

core::ScatterStats finish(const io::PartialStats& p, std::size_t group) {
  return core::ScatterAccumulator::from_state(p.groups[group].state).finalize();
}

std::filesystem::path write(const std::filesystem::path& dir, const std::string& name,
                            const io::PartialStats& p) {
  const auto path = dir / (name + ".safetensors");
  io::write_partial(path, p);
  return path;
}

io::PartialStats read(const std::filesystem::path& path) {
  return io::read_partial(path, "9.9.9");
}

// The message of check_compatible(parts, complete), which must throw actlens::Error.
std::string refusal(const std::vector<io::PartialStats>& parts, bool complete = true) {
  try {
    io::check_compatible(parts, complete);
  } catch (const Error& e) {
    return e.what();
  }
  FAIL("check_compatible accepted the parts");
  return "";
}

std::string read_refusal(const std::filesystem::path& path) {
  try {
    (void)read(path);
  } catch (const Error& e) {
    return e.what();
  }
  FAIL("read_partial accepted " << path);
  return "";
}

}  // namespace

TEST_CASE("partial file round trip is exact", "[io][partial]") {
  const auto dir = test::scratch_dir("partial_round_trip");
  const io::PartialStats p = shard(2);
  const io::PartialStats back = read(write(dir, "p", p));
  CHECK(back.path == dir / "p.safetensors");
  CHECK(back.manifest.analysis == "lda");
  CHECK(back.manifest.options == p.manifest.options);
  CHECK(back.manifest.layers == kLayers);
  CHECK(back.manifest.dim == kD);
  CHECK(back.manifest.classes == p.manifest.classes);
  CHECK(back.manifest.shard_count == kShards);
  CHECK(back.manifest.shards == std::vector<int>{2});
  REQUIRE(back.manifest.inputs.size() == 1);
  CHECK(back.manifest.inputs[0].file == "roles/part2.pt");
  CHECK(back.manifest.inputs[0].size == 1002u);
  REQUIRE(back.groups.size() == 2);
  for (std::size_t g = 0; g < 2; ++g) {
    CHECK(back.groups[g].name == p.groups[g].name);
    const auto& a = p.groups[g].state;
    const auto& b = back.groups[g].state;
    CHECK(b.n == a.n);
    CHECK(b.class_counts == a.class_counts);
    CHECK(b.shift == a.shift);
    CHECK(b.class_sums == a.class_sums);
    CHECK(b.gram == a.gram);
    // write -> read -> from_state -> finalize equals the original, bit for bit.
    const auto s1 = core::ScatterAccumulator::from_state(a).finalize();
    const auto s2 = finish(back, g);
    CHECK(s1.total_scatter == s2.total_scatter);
    CHECK(s1.class_means == s2.class_means);
  }
  // The manifest is one JSON string in the safetensors metadata, readable by any tool.
  const auto file = io::SafetensorsFile::open(dir / "p.safetensors");
  const auto j = nlohmann::json::parse(file.metadata().at("actlens_partial"));
  CHECK(j.at("shard") == nlohmann::json({{"k", {2}}, {"n", 4}}));
  CHECK(file.info("layer3.gram").shape == std::vector<std::int64_t>{kD * (kD + 1) / 2});
  // The fingerprint of a real file: its size and content hash.
  test::spit(dir / "in.txt", "hello");
  const auto f = io::fingerprint_file(dir / "in.txt");
  CHECK(f.size == 5u);
  CHECK(f.xxh3.size() == 16u);
}

TEST_CASE("sharded partials merged in any order or as a tree equal one pass", "[io][partial]") {
  const auto dir = test::scratch_dir("partial_merge");
  std::vector<io::PartialStats> parts;
  for (int k = 1; k <= kShards; ++k) parts.push_back(read(write(dir, std::to_string(k), shard(k))));
  auto check = [](const io::PartialStats& merged) {
    CHECK(merged.manifest.shards == std::vector<int>{1, 2, 3, 4});
    CHECK(merged.manifest.inputs.size() == 4u);
    for (std::size_t g = 0; g < kLayers.size(); ++g) {
      const auto want = one_pass(kLayers[g]);
      const auto got = finish(merged, g);
      CHECK(got.n == kRows);
      CHECK((got.total_scatter - want.total_scatter).norm() / want.total_scatter.norm() < 1e-12);
      CHECK((got.class_means - want.class_means).cwiseAbs().maxCoeff() /
                want.class_means.cwiseAbs().maxCoeff() <
            1e-12);
    }
  };
  std::mt19937 rng(3);
  for (int trial = 0; trial < 3; ++trial) {
    std::shuffle(parts.begin(), parts.end(), rng);
    CHECK_NOTHROW(io::check_compatible(parts, true));
    check(io::merge_partials(parts));
  }
  // Tree: (1 3) and (4 2) merged, written, read back, then merged again.
  const auto left = read(write(dir, "13", io::merge_partials({shard(1), shard(3)})));
  const auto right = read(write(dir, "42", io::merge_partials({shard(4), shard(2)})));
  CHECK(left.manifest.shards == std::vector<int>{1, 3});
  CHECK_NOTHROW(io::check_compatible({left, right}, true));
  check(io::merge_partials({right, left}));
  // An incomplete subset may be merged (a tree's inner node) but not finished.
  CHECK_NOTHROW(io::check_compatible({left}, false));
  CHECK_THAT(refusal({left}), Contains("shard(s) 2, 4 of 4 are missing"));
}

TEST_CASE("merge refuses partials that differ in what they computed", "[io][partial]") {
  const auto dir = test::scratch_dir("partial_mismatch");
  const auto a = read(write(dir, "a", shard(1)));
  auto other = shard(2);
  auto refuse = [&](const std::string& field) {
    const auto b = read(write(dir, "b", other));
    const std::string msg = refusal({a, b});
    CHECK_THAT(msg, Contains(a.path.string()) && Contains(b.path.string()) && Contains(field));
    CHECK(msg.find('\n') == std::string::npos);
    other = shard(2);
  };
  other.manifest.analysis = "pca";
  refuse("analysis (lda vs pca)");
  other.manifest.options["precision"] = "mixed";
  refuse("option 'precision' (\"float64\" vs \"mixed\")");
  other.manifest.options.erase("standardize");
  refuse("option 'standardize' (false vs \"(absent)\")");
  other.manifest.layers = {3, 8};
  refuse("layers ([3,7] vs [3,8])");
  other.manifest.dim = 7;
  for (auto& g : other.groups) {  // statistics of 7 columns, as a file with d = 7 holds
    core::ScatterAccumulator acc(7, kC);
    acc.add(core::RowMatrixXd::Random(30, 7), labels(0, 30));
    g.state = acc.state();
  }
  refuse("d (6 vs 7)");
  other.manifest.classes = {"pirate", "judge", "poet"};  // same set, other order: other ids
  refuse("class names");
  other.manifest.shard_count = 8;
  other.manifest.shards = {2};
  refuse("shard count N (4 vs 8");
  other.groups.pop_back();
  refuse("statistics groups");
}

TEST_CASE("merge refuses the same shard twice and missing shards", "[io][partial]") {
  const auto dir = test::scratch_dir("partial_shards");
  const auto one = read(write(dir, "one", shard(1)));
  const auto again = read(write(dir, "one-again", shard(1)));
  CHECK_THAT(refusal({one, again}, false), Contains("one.safetensors and") &&
                                               Contains("one-again.safetensors") &&
                                               Contains("both hold shard 1/4"));
  const auto merged = read(write(dir, "12", io::merge_partials({shard(1), shard(2)})));
  CHECK_THAT(refusal({merged, one}, false), Contains("both hold shard 1/4"));
  const auto three = read(write(dir, "three", shard(3)));
  CHECK_THAT(refusal({three, one}), Contains("shard(s) 2, 4 of 4 are missing"));
  // Not split by K/N (explicit input lists): the same input content twice is refused, even
  // under another name; distinct inputs merge.
  auto plain = [&](const std::string& name, const std::string& file, const std::string& hash) {
    auto p = shard(1);
    p.manifest.shard_count = 0;
    p.manifest.shards.clear();
    p.manifest.inputs = {{file, 77, hash}};
    return read(write(dir, name, p));
  };
  const auto x = plain("x", "a.pt", "1111111111111111");
  const auto y = plain("y", "copy-of-a.pt", "1111111111111111");
  const auto z = plain("z", "b.pt", "2222222222222222");
  CHECK_THAT(refusal({x, z, y}), Contains("x.safetensors and") && Contains("y.safetensors") &&
                                     Contains("same input content (a.pt = copy-of-a.pt)"));
  CHECK_NOTHROW(io::check_compatible({x, z}, true));
}

TEST_CASE("reading refuses another version and corrupt files", "[io][partial]") {
  const auto dir = test::scratch_dir("partial_corrupt");
  const auto path = write(dir, "p", shard(1));
  CHECK_THROWS_WITH(io::read_partial(path, "1.0.0"), Contains(path.string()) &&
                                                         Contains("written by actlens 9.9.9") &&
                                                         Contains("this is actlens 1.0.0"));
  const std::string bytes = test::slurp(path);
  const auto bad = dir / "bad.safetensors";
  SECTION("truncated") {
    test::spit(bad, bytes.substr(0, bytes.size() - 9));
    CHECK_THAT(read_refusal(bad), Contains(bad.string()));
  }
  SECTION("a flipped bit in the data") {
    std::string flipped = bytes;
    flipped[flipped.size() - 20] = static_cast<char>(flipped[flipped.size() - 20] ^ 1);
    test::spit(bad, flipped);
    CHECK_THAT(read_refusal(bad), Contains(bad.string()) && Contains("checksum"));
  }
  SECTION("not safetensors at all") {
    test::spit(bad, "not a partial file");
    CHECK_THAT(read_refusal(bad), Contains(bad.string()));
  }
  SECTION("safetensors without a manifest") {
    io::write_safetensors(bad, {{"x", io::make_array(std::vector<double>{1.0})}});
    CHECK_THAT(read_refusal(bad), Contains(bad.string()) && Contains("no actlens"));
  }
  SECTION("a manifest with a field missing") {
    io::write_safetensors(bad, {{"x", io::make_array(std::vector<double>{1.0})}},
                          {{"actlens_partial", R"({"format": 1, "statistic": "scatter"})"}});
    CHECK_THAT(read_refusal(bad), Contains(bad.string()) && Contains("manifest"));
  }
}
