// RoleDataset on the role example (tests/reference/make_roles_example.py): layout, the seed's
// class list and counts (tests/reference/lda/example_layer22/classes.json), rows equal to what
// torch reads (tests/data/roles_example_expected.json), and broken copies of the dataset, each an
// actlens::Error naming the file or key at fault.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "actlens/error.hpp"
#include "actlens/io/role_dataset.hpp"
#include "test_paths.hpp"

using actlens::test::read_json;
using actlens::test::roles_dir;

using actlens::Error;
using namespace actlens::io;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

void save_json(const fs::path& p, const json& j) {
  std::ofstream out(p, std::ios::trunc);
  out << j.dump(2) << "\n";
  REQUIRE(out.good());
}

json expected() {
  return read_json(actlens::test::data_dir() / "roles_example_expected.json");
}

json seed_classes() {
  return read_json(actlens::test::reference_dir() / "lda" / "example_layer22" / "classes.json");
}

// A private copy of the role example to break.
fs::path copy_dataset(const std::string& name) {
  const fs::path dst = actlens::test::scratch_dir(name);
  fs::copy(roles_dir(), dst, fs::copy_options::recursive);
  return dst;
}

std::vector<std::string> class_names(const RoleDataset& ds) {
  std::vector<std::string> out;
  for (const auto& c : ds.classes()) out.push_back(c.name);
  return out;
}

}  // namespace

TEST_CASE("roles: the example opens with the seed's classes and counts", "[io][roles]") {
  const auto ds = RoleDataset::open(roles_dir(), RoleDatasetOptions{});
  REQUIRE(ds);
  CHECK(ds->n_layers() == 46);
  CHECK(ds->dim() == 64);
  CHECK(ds->dir() == roles_dir());

  const json seed = seed_classes();
  const auto names = seed.at("names").get<std::vector<std::string>>();
  const auto counts = seed.at("counts").get<std::vector<std::int64_t>>();
  REQUIRE(ds->classes().size() == names.size());
  std::int64_t total = 0;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const ClassInfo& c = ds->classes()[i];
    INFO("class " << i);
    CHECK(c.name == names[i]);
    CHECK(c.count == counts[i]);
    CHECK(c.name == c.role + "_pos_" + std::to_string(c.score));
    CHECK((c.score == 2 || c.score == 3));
    total += counts[i];
  }
  CHECK(ds->n_samples() == total);
  CHECK(ds->n_samples() == 435);

  // default.pt is skipped; every role keeps at least its score-3 class.
  for (const auto& c : ds->classes()) CHECK(c.role.find("default") == std::string::npos);
  CHECK(ds->n_chunks() == 12);
  CHECK(ds->n_role_files() == 12);

  std::uint64_t bytes = 0;
  for (const auto& role : expected().at("role_files").get<std::vector<std::string>>())
    bytes += fs::file_size(roles_dir() / "response_activations" / (role + ".pt"));
  CHECK(ds->input_bytes() == bytes);
  CHECK_THAT(ds->describe(), Catch::Contains(roles_dir().string()) &&
                                 Catch::Contains("12 role files") &&
                                 Catch::Contains("21 classes") && Catch::Contains("435 samples"));
}

TEST_CASE("roles: read_chunk rows equal what torch reads", "[io][roles]") {
  const json want = expected();
  const auto ds = RoleDataset::open(roles_dir(), RoleDatasetOptions{});
  const std::string role = want.at("first_role").get<std::string>();
  const auto& scores = want.at("first_role_scores");
  const auto& rows22 = want.at("first_role_rows").at("22");

  // The first chunk is the first role file; its selected samples are the score-2 ones (dict
  // order), then the score-3 ones.
  const Chunk c = ds->read_chunk(0, {22});
  CHECK(fs::path(c.source).filename() == role + ".pt");
  std::vector<std::string> expect_keys;
  for (int s : {2, 3})
    for (const auto& k : want.at("first_role_keys").get<std::vector<std::string>>())
      if (scores.at(k).is_number_integer() && scores.at(k).get<int>() == s)
        expect_keys.push_back(k);
  CHECK(c.keys == expect_keys);
  REQUIRE(c.rows.size() == 1);
  REQUIRE(c.rows[0].rows() == static_cast<Eigen::Index>(c.keys.size()));
  REQUIRE(c.rows[0].cols() == 64);
  REQUIRE(c.class_ids.size() == c.keys.size());
  for (std::size_t i = 0; i < c.keys.size(); ++i) {
    INFO(role << ".pt: " << c.keys[i]);
    const auto& cls = ds->classes().at(static_cast<std::size_t>(c.class_ids[i]));
    CHECK(cls.role == role);
    CHECK(cls.score == scores.at(c.keys[i]).get<int>());
    const auto expect = rows22.at(c.keys[i]).get<std::vector<float>>();
    for (Eigen::Index j = 0; j < 64; ++j)
      CHECK(c.rows[0](static_cast<Eigen::Index>(i), j) == expect[static_cast<std::size_t>(j)]);
  }

  // Several layers at once, in the order asked for.
  const Chunk m = ds->read_chunk(0, {45, 0, 22});
  REQUIRE(m.rows.size() == 3);
  CHECK(m.keys == c.keys);
  CHECK(m.rows[2] == c.rows[0]);
  std::size_t matched = 0;
  for (const auto& [layer_str, by_key] : want.at("first_role_rows").items()) {
    const std::size_t slot = layer_str == "45" ? 0 : layer_str == "0" ? 1 : 2;
    for (const auto& [key, row] : by_key.items()) {
      auto it = std::find(m.keys.begin(), m.keys.end(), key);
      if (it == m.keys.end()) continue;  // not a score-2/3 response
      const auto r = static_cast<Eigen::Index>(it - m.keys.begin());
      const auto expect = row.get<std::vector<float>>();
      for (Eigen::Index j = 0; j < 64; ++j)
        CHECK(m.rows[slot](r, j) == expect[static_cast<std::size_t>(j)]);
      ++matched;
    }
  }
  CHECK(matched > c.keys.size());

  // Every chunk reads, with rows for each of its samples and class ids in range.
  std::int64_t n = 0;
  for (std::size_t i = 0; i < ds->n_chunks(); ++i) {
    const Chunk k = ds->read_chunk(i, {22});
    n += static_cast<std::int64_t>(k.keys.size());
    for (int id : k.class_ids) {
      CHECK(id >= 0);
      CHECK(id < static_cast<int>(ds->classes().size()));
    }
  }
  CHECK(n == ds->n_samples());
  CHECK_THROWS(ds->read_chunk(ds->n_chunks(), {22}));
}

TEST_CASE("roles: score selection and min_samples shape the class list", "[io][roles]") {
  const json seed = seed_classes();
  const auto names = seed.at("names").get<std::vector<std::string>>();
  const auto counts = seed.at("counts").get<std::vector<std::int64_t>>();
  std::vector<std::string> pos2, pos3;
  for (const auto& n : names)
    (n.size() > 6 && n.substr(n.size() - 6) == "_pos_2" ? pos2 : pos3).push_back(n);
  REQUIRE(pos2.size() == 9);
  REQUIRE(pos3.size() == 12);

  SECTION("scores 3 only") {
    RoleDatasetOptions o;
    o.scores = {3};
    const auto ds = RoleDataset::open(roles_dir(), o);
    CHECK(class_names(*ds) == pos3);
  }
  SECTION("scores 3 then 2: the class order follows the scores") {
    RoleDatasetOptions o;
    o.scores = {3, 2};
    const auto ds = RoleDataset::open(roles_dir(), o);
    std::vector<std::string> want = pos3;
    want.insert(want.end(), pos2.begin(), pos2.end());
    CHECK(class_names(*ds) == want);
  }
  SECTION("min_samples 1 keeps the small score-2 classes (angel 9, robot 4, not alien 0)") {
    RoleDatasetOptions o;
    o.min_samples = 1;
    const auto ds = RoleDataset::open(roles_dir(), o);
    const auto got = class_names(*ds);
    CHECK(got.size() == 23);
    CHECK(std::count(got.begin(), got.end(), "angel_pos_2") == 1);
    CHECK(std::count(got.begin(), got.end(), "robot_pos_2") == 1);
    CHECK(std::count(got.begin(), got.end(), "alien_pos_2") == 0);
  }
  SECTION("only score 2 drops roles without a class from the chunks") {
    RoleDatasetOptions o;
    o.scores = {2};
    const auto ds = RoleDataset::open(roles_dir(), o);
    CHECK(class_names(*ds) == pos2);
    CHECK(ds->n_chunks() == 9);
  }
  SECTION("scores outside 0..3 or none are usage errors") {
    RoleDatasetOptions o;
    o.scores = {4};
    CHECK_THROWS_AS(RoleDataset::open(roles_dir(), o), actlens::UsageError);
    o.scores = {};
    CHECK_THROWS_AS(RoleDataset::open(roles_dir(), o), actlens::UsageError);
  }
}

TEST_CASE("roles: broken datasets are errors naming the file or key", "[io][roles]") {
  SECTION("missing directory") {
    const fs::path p = actlens::test::scratch_dir("roles_missing") / "no_such_dataset";
    CHECK_THROWS_AS(RoleDataset::open(p, {}), Error);
    CHECK_THROWS_WITH(RoleDataset::open(p, {}), Catch::Contains("no_such_dataset"));
  }
  SECTION("a directory without response_activations/") {
    const fs::path p = actlens::test::scratch_dir("roles_no_acts");
    CHECK_THROWS_WITH(RoleDataset::open(p, {}), Catch::Contains("response_activations"));
  }
  SECTION("response_activations/ without .pt files") {
    const fs::path p = actlens::test::scratch_dir("roles_no_pt");
    fs::create_directories(p / "response_activations");
    fs::create_directories(p / "extract_scores");
    save_json(p / "response_activations" / "notes.json", json::object());
    // default.pt alone does not count: it is skipped.
    fs::copy_file(roles_dir() / "response_activations" / "default.pt",
                  p / "response_activations" / "default.pt");
    CHECK_THROWS_AS(RoleDataset::open(p, {}), Error);
    CHECK_THROWS_WITH(
        RoleDataset::open(p, {}),
        Catch::Contains((p / "response_activations").string()) && Catch::Contains(".pt"));
  }
  SECTION("a role's score file deleted") {
    const fs::path p = copy_dataset("roles_no_score_file");
    fs::remove(p / "extract_scores" / "chef.json");
    CHECK_THROWS_AS(RoleDataset::open(p, {}), Error);
    CHECK_THROWS_WITH(RoleDataset::open(p, {}),
                      Catch::Contains("chef.json") && Catch::Contains("chef.pt"));
  }
  SECTION("a score key removed: activations and scores no longer match") {
    const fs::path p = copy_dataset("roles_missing_key");
    const fs::path sf = p / "extract_scores" / "chef.json";
    json j = read_json(sf);
    REQUIRE(j.erase("pos_p1_q2") == 1);
    save_json(sf, j);
    CHECK_THROWS_AS(RoleDataset::open(p, {}), Error);
    CHECK_THROWS_WITH(RoleDataset::open(p, {}),
                      Catch::Contains("pos_p1_q2") && Catch::Contains("chef"));
    RoleDatasetOptions o;
    o.ignore_extra_scores = true;  // does not excuse a missing score
    CHECK_THROWS_WITH(RoleDataset::open(p, o), Catch::Contains("pos_p1_q2"));
  }
  SECTION("an extra score key: an error unless ignore_extra_scores") {
    const fs::path p = copy_dataset("roles_extra_key");
    const fs::path sf = p / "extract_scores" / "poet.json";
    json j = read_json(sf);
    j["pos_p9_q9"] = 3;
    save_json(sf, j);
    CHECK_THROWS_AS(RoleDataset::open(p, {}), Error);
    CHECK_THROWS_WITH(RoleDataset::open(p, {}),
                      Catch::Contains("pos_p9_q9") && Catch::Contains("poet.json"));
    RoleDatasetOptions o;
    o.ignore_extra_scores = true;
    const auto ds = RoleDataset::open(p, o);
    CHECK(class_names(*ds) == seed_classes().at("names").get<std::vector<std::string>>());
  }
  SECTION("a score file that is not JSON") {
    const fs::path p = copy_dataset("roles_bad_json");
    std::ofstream(p / "extract_scores" / "judge.json", std::ios::trunc) << "{\"pos_p0_q0\": 3,";
    CHECK_THROWS_WITH(RoleDataset::open(p, {}), Catch::Contains("judge.json"));
  }
  SECTION("min_samples so high that no class remains") {
    RoleDatasetOptions o;
    o.min_samples = 1000;
    CHECK_THROWS_AS(RoleDataset::open(roles_dir(), o), Error);
    CHECK_THROWS_WITH(RoleDataset::open(roles_dir(), o),
                      Catch::Contains("1000") && Catch::Contains(roles_dir().string()));
  }
}
