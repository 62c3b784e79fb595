// safetensors: the fixture the Python package wrote (all supported dtypes incl. bf16, and
// __metadata__), write -> read round trips, and damaged or hostile headers.
#include <catch2/catch.hpp>

#include <cmath>
#include <nlohmann/json.hpp>
#include <random>

#include "actlens/error.hpp"
#include "actlens/io/safetensors.hpp"
#include "hostile_zip.hpp"
#include "test_paths.hpp"

using actlens::Error;
using namespace actlens::io;
namespace fs = std::filesystem;
using actlens::test::array_of;
using actlens::test::expect_fast_error;
using actlens::test::io_expected;
using actlens::test::slurp;
using actlens::test::spit;
using nlohmann::json;

namespace {

fs::path fixture() {
  return actlens::test::io_data_dir() / "tensors.safetensors";
}

json expected() {
  return io_expected().at("safetensors").at("tensors.safetensors");
}

// A safetensors image: 8-byte length, the header text as given, then `data`.
std::string st_file(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((header.size() >> (8 * i)) & 0xFF);
  return out + header + data;
}

void check_values(const Array& a, const json& want, const std::string& key) {
  INFO(key);
  CHECK(dtype_name(a.dtype) == want.at("dtype").get<std::string>());
  CHECK(a.shape == want.at("shape").get<std::vector<std::int64_t>>());
  CHECK(to_double_vector(a) == want.at("values").get<std::vector<double>>());
}

}  // namespace

TEST_CASE("safetensors reads every tensor the Python package wrote", "[io][safetensors]") {
  const json want = expected();
  const SafetensorsFile f = SafetensorsFile::open(fixture());
  CHECK(f.path() == fixture());
  std::vector<std::string> keys;
  for (const auto& [k, v] : want.at("tensors").items()) keys.push_back(k);
  CHECK(f.keys() == keys);  // sorted
  for (const auto& [key, entry] : want.at("tensors").items()) {
    REQUIRE(f.contains(key));
    check_values(f.read(key), entry, key);
    CHECK(f.info(key).shape == entry.at("shape").get<std::vector<std::int64_t>>());
  }
  CHECK(f.metadata() == want.at("metadata").get<std::map<std::string, std::string>>());
  CHECK(f.info("bf16").dtype == DType::BF16);
  CHECK(f.info("mask").dtype == DType::Bool);
}

TEST_CASE("safetensors read_row_float returns one row as floats", "[io][safetensors]") {
  const json want = expected().at("tensors");
  const SafetensorsFile f = SafetensorsFile::open(fixture());
  // acts: bf16 [4, 2, 3] -> rows of 6.
  const auto acts = want.at("acts").at("values").get<std::vector<double>>();
  std::vector<float> row(6);
  for (std::int64_t r = 0; r < 4; ++r) {
    f.read_row_float("acts", r, row.data());
    for (std::size_t j = 0; j < 6; ++j) {
      CHECK(row[j] == static_cast<float>(acts[static_cast<std::size_t>(r) * 6 + j]));
    }
  }
  const auto f64 = want.at("f64").at("values").get<std::vector<double>>();
  std::vector<float> row3(3);
  f.read_row_float("f64", 1, row3.data());
  CHECK(row3 == std::vector<float>{static_cast<float>(f64[3]), static_cast<float>(f64[4]),
                                   static_cast<float>(f64[5])});
  std::vector<float> one(1);
  f.read_row_float("u8", 2, one.data());
  CHECK(one[0] == 255.0f);
  REQUIRE_THROWS_WITH(f.read_row_float("acts", 4, row.data()),
                      Catch::Contains("tensors.safetensors") && Catch::Contains("out of range"));
  REQUIRE_THROWS_AS(f.read_row_float("acts", -1, row.data()), Error);
}

TEST_CASE("safetensors names the key and file when a key is absent", "[io][safetensors]") {
  const SafetensorsFile f = SafetensorsFile::open(fixture());
  CHECK_FALSE(f.contains("nope"));
  REQUIRE_THROWS_WITH(f.info("nope"), Catch::Contains("tensors.safetensors") &&
                                          Catch::Contains("'nope'") && Catch::Contains("acts"));
  REQUIRE_THROWS_AS(f.read("nope"), Error);
}

TEST_CASE("safetensors write then read round-trips every dtype", "[io][safetensors]") {
  const fs::path dir = actlens::test::scratch_dir("st_roundtrip");
  std::map<std::string, Array> t;
  t["a_bool"] = array_of<std::uint8_t>(DType::Bool, {3}, {1, 0, 1});
  t["b_f64"] = array_of<double>(DType::F64, {2, 2}, {0.1, -2, 1e300, -0.0});
  t["c_bf16"] = array_of<std::uint16_t>(DType::BF16, {2, 1}, {0x3F80, 0xC049});
  t["d_f16"] = array_of<std::uint16_t>(DType::F16, {1}, {0x0001});
  t["e_i8"] = array_of<std::int8_t>(DType::I8, {3}, {-1, 0, 1});
  t["f_f32"] = array_of<float>(DType::F32, {1, 3}, {1.5f, 2.5f, -3.5f});
  t["g_i64"] = array_of<std::int64_t>(DType::I64, {1}, {-(std::int64_t{1} << 62)});
  t["h_i32"] = array_of<std::int32_t>(DType::I32, {2}, {5, -5});
  t["i_i16"] = array_of<std::int16_t>(DType::I16, {3}, {-1, 2, -3});
  t["j_u8"] = array_of<std::uint8_t>(DType::U8, {2}, {7, 250});
  t["k_scalar"] = array_of<float>(DType::F32, {}, {9.0f});
  t["l_empty"] = array_of<float>(DType::F32, {0, 4}, {});
  const std::map<std::string, std::string> meta = {{"format", "pt"}, {"note", "\"quoted\" ü"}};
  const fs::path p = dir / "deep" / "out.safetensors";
  write_safetensors(p, t, meta);

  const SafetensorsFile f = SafetensorsFile::open(p);
  CHECK(f.metadata() == meta);
  REQUIRE(f.keys().size() == t.size());
  for (const auto& [key, a] : t) {
    INFO(key);
    const Array back = f.read(key);
    CHECK(back.dtype == a.dtype);
    CHECK(back.shape == a.shape);
    CHECK(back.data == a.data);
    // Laid out as the Python package does: every tensor aligned to its element size.
    CHECK(f.info(key).begin % dtype_size(a.dtype) == 0);
  }
  const std::string bytes = slurp(p);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  CHECK(n % 8 == 0);
  CHECK(bytes[8] == '{');
  const json header = json::parse(bytes.substr(8, n));
  CHECK(header.at("c_bf16").at("dtype") == "BF16");
  CHECK(header.at("__metadata__").at("format") == "pt");
  CHECK_FALSE(fs::exists(p.string() + ".tmp-" + std::to_string(::getpid())));

  write_safetensors(dir / "plain.safetensors", {{"x", t.at("f_f32")}});
  const SafetensorsFile plain = SafetensorsFile::open(dir / "plain.safetensors");
  CHECK(plain.metadata().empty());
  CHECK(slurp(dir / "plain.safetensors").find("__metadata__") == std::string::npos);
}

TEST_CASE("safetensors refuses a tensor named __metadata__", "[io][safetensors][errors]") {
  const fs::path dir = actlens::test::scratch_dir("st_write_bad");
  REQUIRE_THROWS_WITH(
      write_safetensors(dir / "m.safetensors",
                        {{"__metadata__", array_of<float>(DType::F32, {1}, {1.0f})}}),
      Catch::Contains("m.safetensors"));
  CHECK(fs::is_empty(dir));
}

TEST_CASE("safetensors refuses missing files, garbage and truncations",
          "[io][safetensors][errors]") {
  const fs::path dir = actlens::test::scratch_dir("st_bad");
  REQUIRE_THROWS_WITH(SafetensorsFile::open(dir / "absent.safetensors"),
                      Catch::Contains("absent.safetensors") && Catch::Contains("no such file"));
  REQUIRE_THROWS_AS(SafetensorsFile::open(dir), Error);
  spit(dir / "garbage.safetensors", std::string(300, '\x7f'));
  REQUIRE_THROWS_WITH(SafetensorsFile::open(dir / "garbage.safetensors"),
                      Catch::Contains("garbage.safetensors"));

  const std::string bytes = slurp(fixture());
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  for (const std::size_t len :
       {std::size_t{0}, std::size_t{4}, std::size_t{8}, std::size_t{8 + n / 2}, std::size_t{8 + n},
        std::size_t{8 + n + 3}, bytes.size() - 1}) {
    const fs::path p = dir / ("cut_" + std::to_string(len) + ".safetensors");
    spit(p, bytes.substr(0, len));
    INFO("cut at " << len);
    REQUIRE_THROWS_WITH(SafetensorsFile::open(p),
                        Catch::Contains(p.filename().string()) && Catch::Contains("truncated"));
  }
}

TEST_CASE("safetensors detects a file truncated after opening", "[io][safetensors][errors]") {
  const fs::path dir = actlens::test::scratch_dir("st_shrunk");
  const std::string bytes = slurp(fixture());
  const fs::path p = dir / "shrunk.safetensors";
  spit(p, bytes);
  const SafetensorsFile f = SafetensorsFile::open(p);
  fs::resize_file(p, bytes.size() / 2 + 200);
  bool threw = false;
  for (const std::string& key : f.keys()) {
    try {
      (void)f.read(key);
    } catch (const Error& e) {
      threw = true;
      CHECK(std::string(e.what()).find("shrunk.safetensors") != std::string::npos);
    }
  }
  CHECK(threw);
}

TEST_CASE("safetensors refuses bad headers", "[io][safetensors][errors]") {
  const fs::path dir = actlens::test::scratch_dir("st_headers");
  const std::string data(16, '\0');
  auto expect_error = [&](const std::string& name, const std::string& header,
                          const std::string& needle) {
    spit(dir / name, st_file(header, data));
    INFO(name);
    REQUIRE_THROWS_WITH(SafetensorsFile::open(dir / name),
                        Catch::Contains(name) && Catch::Contains(needle));
  };
  expect_error("range.safetensors", R"({"w":{"dtype":"F32","shape":[64],"data_offsets":[0,256]}})",
               "truncated");
  expect_error("beyond.safetensors", R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}})",
               "truncated");
  expect_error("mismatch.safetensors", R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})",
               "data_offsets");
  expect_error("reversed.safetensors", R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}})",
               "data_offsets");
  expect_error("overlap.safetensors",
               R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
               R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
               "overlap");
  expect_error("fp8.safetensors", R"({"w8":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}})",
               "F8_E4M3");
  expect_error("u16.safetensors", R"({"w16":{"dtype":"U16","shape":[2],"data_offsets":[0,4]}})",
               "'w16'");
  expect_error("negative.safetensors", R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})",
               "shape");
  expect_error("fraction.safetensors",
               R"({"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", "shape");
  expect_error("huge.safetensors",
               R"({"w":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}})",
               "too many");
  expect_error("missing.safetensors", R"({"w":{"dtype":"F32","shape":[1]}})", "data_offsets");
  expect_error("notjson.safetensors", R"({"w": oops})", "JSON");
  expect_error("array.safetensors", R"([1, 2, 3])", "object");
  expect_error("meta.safetensors", R"({"__metadata__":{"n":3}})", "__metadata__");

  // Header length beyond the file, and an absurd one.
  std::string lying = st_file("{}", data);
  lying[0] = '\xff';
  lying[1] = '\xff';
  spit(dir / "lying.safetensors", lying);
  REQUIRE_THROWS_WITH(SafetensorsFile::open(dir / "lying.safetensors"),
                      Catch::Contains("lying.safetensors") && Catch::Contains("exceeds"));
  std::string absurd = st_file("{}", data);
  absurd[7] = '\x7f';
  spit(dir / "absurd.safetensors", absurd);
  REQUIRE_THROWS_WITH(SafetensorsFile::open(dir / "absurd.safetensors"),
                      Catch::Contains("absurd.safetensors"));

  // Padding spaces after the JSON, gaps and empty tensors are all fine.
  spit(dir / "ok.safetensors",
       st_file(R"({"e":{"dtype":"I8","shape":[0],"data_offsets":[0,0]},)"
               R"("w":{"dtype":"I32","shape":[2],"data_offsets":[8,16]}}   )",
               data));
  const SafetensorsFile ok = SafetensorsFile::open(dir / "ok.safetensors");
  CHECK(ok.read("e").numel() == 0);
  CHECK(to_double_vector(ok.read("w")) == std::vector<double>{0, 0});
}

TEST_CASE("safetensors survives random corruption with actlens::Error only",
          "[io][safetensors][errors]") {
  std::mt19937 rng(777);
  const fs::path p = actlens::test::scratch_dir("st_fuzz") / "f.safetensors";
  const std::string good = slurp(fixture());
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(good[i]);
  for (int iter = 0; iter < 400; ++iter) {
    std::string b = good;
    const int flips = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < flips; ++k) {
      // Mostly hit the length and the header, where the parsing happens.
      const std::size_t at = rng() % 4 == 0 ? rng() % b.size() : rng() % (8 + n);
      b[at] = static_cast<char>(rng() & 0xFF);
    }
    spit(p, b);
    INFO("iteration " << iter);
    try {
      const SafetensorsFile f = SafetensorsFile::open(p);
      std::vector<float> row(64);
      for (const std::string& key : f.keys()) {
        const Array a = f.read(key);
        if (!a.shape.empty() && a.shape[0] > 0 && a.numel() / a.shape[0] <= 64) {
          f.read_row_float(key, a.shape[0] - 1, row.data());
        }
      }
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find("f.safetensors") != std::string::npos);
    }
  }
}

TEST_CASE("safetensors refuses hostile headers quickly before allocating",
          "[io][safetensors][errors]") {
  const fs::path dir = actlens::test::scratch_dir("st_hostile");
  const std::string data(16, '\0');
  auto expect_error = [&](const std::string& name, const std::string& header,
                          const std::vector<std::string>& needles) {
    spit(dir / name, st_file(header, data));
    INFO(name);
    std::vector<std::string> all = needles;
    all.push_back((dir / name).string() + ": ");
    expect_fast_error([&] { SafetensorsFile::open(dir / name); }, all);
  };
  // The header length: at most 100 MB (the format's limit), whatever the file size.
  std::string over = st_file("{}", data);
  for (int i = 0; i < 8; ++i) over[i] = static_cast<char>((100'000'001ull >> (8 * i)) & 0xFF);
  spit(dir / "over_limit.safetensors", over);
  expect_fast_error([&] { SafetensorsFile::open(dir / "over_limit.safetensors"); },
                    {"over_limit.safetensors", "header length 100000001", "limit"});
  std::string max64 = st_file("{}", data);
  for (int i = 0; i < 8; ++i) max64[i] = '\xff';
  spit(dir / "max64.safetensors", max64);
  expect_fast_error([&] { SafetensorsFile::open(dir / "max64.safetensors"); },
                    {"max64.safetensors", "18446744073709551615"});
  // data_offsets inside the file, matching shape x dtype size, not overlapping.
  expect_error("past_end.safetensors",
               R"({"w":{"dtype":"F32","shape":[1000000000000000],)"
               R"("data_offsets":[0,4000000000000000]}})",
               {"'w'", "ends at byte 4000000000000000 of a 16-byte data section"});
  expect_error("wrap.safetensors",
               R"({"w":{"dtype":"U8","shape":[2],"data_offsets":[18446744073709551615,1]}})",
               {"'w'", "data_offsets"});
  expect_error("too_big.safetensors",
               R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,1e30]}})",
               {"'w'", "data_offsets"});
  expect_error("size.safetensors", R"({"w":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}})",
               {"'w'", "do not match its shape and dtype"});
  expect_error("overlap3.safetensors",
               R"({"a":{"dtype":"U8","shape":[16],"data_offsets":[0,16]},)"
               R"("b":{"dtype":"U8","shape":[1],"data_offsets":[7,8]}})",
               {"overlap"});
  // Shape products that overflow 64 bits, with or without a zero.
  expect_error("product.safetensors",
               R"({"w":{"dtype":"F64","shape":[2097152,2097152,2097152],"data_offsets":[0,8]}})",
               {"too many"});
  expect_error("product_bytes.safetensors",
               R"({"w":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,8]}})",
               {"too many"});
  // Repeated keys (a JSON reader keeps one silently), deep nesting, not an object.
  expect_error("dup.safetensors",
               R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
               R"("w":{"dtype":"U8","shape":[16],"data_offsets":[0,16]}})",
               {"repeats the key 'w'"});
  expect_error("dup_field.safetensors",
               R"({"w":{"dtype":"U8","shape":[1],"shape":[16],"data_offsets":[0,1]}})",
               {"repeats the key 'shape'"});
  expect_error("deep.safetensors",
               "{\"__metadata__\":" + std::string(100000, '[') + std::string(100000, ']') + "}",
               {"nests deeper"});
  expect_error("string.safetensors", R"("text")", {"not a JSON object"});
  expect_error("empty.safetensors", "", {"not a JSON object"});
}
