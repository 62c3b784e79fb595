// .npy / .npz: every fixture numpy wrote (tests/reference/make_io_fixtures.py) against its
// expected values, write -> read round trips, and damaged, unsupported or hostile inputs
// (headers numpy would not write, members whose recorded size lies, decompression bombs).
#include <catch2/catch.hpp>

#include <cmath>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "actlens/error.hpp"
#include "actlens/io/atomic_file.hpp"
#include "actlens/io/npy.hpp"
#include "actlens/io/zip_archive.hpp"
#include "hostile_zip.hpp"
#include "test_paths.hpp"

using actlens::test::check_array;

using actlens::Error;
using namespace actlens::io;
namespace fs = std::filesystem;
using actlens::test::array_of;
using actlens::test::expect_fast_error;
using actlens::test::io_data_dir;
using actlens::test::io_expected;
using actlens::test::make_zip;
using actlens::test::slurp;
using actlens::test::spit;
using actlens::test::ZipItem;
using nlohmann::json;

namespace {

// dtype, shape and every value (bit-for-bit, the sign of zero included) match the expectation.
// One small array of every dtype .npy can hold.
std::map<std::string, Array> sample_arrays() {
  std::map<std::string, Array> m;
  m["f64"] = array_of<double>(DType::F64, {2, 2}, {0.1, -2.0, 1e300, -0.0});
  m["f32"] = array_of<float>(DType::F32, {3}, {1.5f, -2.25f, 3.0f});
  m["f16"] = array_of<std::uint16_t>(DType::F16, {2}, {0x3C00, 0x0001});
  m["i64"] = array_of<std::int64_t>(DType::I64, {1, 3}, {-5, 0, std::int64_t{1} << 40});
  m["i32"] = array_of<std::int32_t>(DType::I32, {2}, {-7, 7});
  m["i16"] = array_of<std::int16_t>(DType::I16, {2}, {-300, 300});
  m["i8"] = array_of<std::int8_t>(DType::I8, {2}, {-100, 100});
  m["u8"] = array_of<std::uint8_t>(DType::U8, {2}, {0, 255});
  m["bool"] = array_of<std::uint8_t>(DType::Bool, {3}, {1, 0, 1});
  m["cube"] = array_of<float>(DType::F32, {2, 1, 2}, {1, 2, 3, 4});
  m["scalar"] = array_of<double>(DType::F64, {}, {42.0});
  m["empty"] = array_of<float>(DType::F32, {0, 5}, {});
  return m;
}

// CRC-32 (the ZIP polynomial), bit by bit: slow, obviously right.
std::uint32_t crc32_reference(const std::string& bytes) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (const char c : bytes) {
    crc ^= static_cast<unsigned char>(c);
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

// A .npy image with the given header dict (preamble v1, padded as numpy pads) and data bytes.
std::string npy_with_header(const std::string& dict, const std::string& data) {
  std::string h = dict;
  while ((10 + h.size() + 1) % 64 != 0) h += ' ';
  h += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\0';
  out += static_cast<char>(h.size() & 0xFF);
  out += static_cast<char>(h.size() >> 8);
  return out + h + data;
}

}  // namespace

TEST_CASE("npy reads every numpy fixture exactly", "[io][npy]") {
  const json want = io_expected().at("npy");
  REQUIRE(want.size() >= 17);
  for (const auto& [name, entry] : want.items()) {
    check_array(read_npy(io_data_dir() / name), entry, name);
  }
}

TEST_CASE("npy reads float32", "[io][npy]") {
  const Array a = read_npy(io_data_dir() / "npy/float32.npy");
  CHECK(a.dtype == DType::F32);
  CHECK(a.shape == std::vector<std::int64_t>{2, 3});
  const RowMatrixF m = to_float_matrix(a, "float32.npy");
  CHECK(m(0, 0) == -5.5f);
  CHECK(m(1, 2) == -1.375f);
}

TEST_CASE("npy converts Fortran order and big-endian data", "[io][npy]") {
  const Array f2 = read_npy(io_data_dir() / "npy/fortran_2d.npy");
  CHECK(to_double_vector(f2) == std::vector<double>{0, 0.5, 1, 1.5, 2, 2.5});
  const Array f3 = read_npy(io_data_dir() / "npy/fortran_3d.npy");
  std::vector<double> want(24);
  for (int i = 0; i < 24; ++i) want[static_cast<std::size_t>(i)] = i - 12;
  CHECK(to_double_vector(f3) == want);
  const Array be = read_npy(io_data_dir() / "npy/big_endian_f8.npy");
  CHECK(be.dtype == DType::F64);
  CHECK(to_double_vector(be) == std::vector<double>{1.0, -2.0, 0.25, 1e10, -3.5});
}

TEST_CASE("npy reads format versions 2.0 and 3.0", "[io][npy]") {
  CHECK(slurp(io_data_dir() / "npy/version2.npy")[6] == 2);
  CHECK(slurp(io_data_dir() / "npy/version3.npy")[6] == 3);
  CHECK(read_npy(io_data_dir() / "npy/version3.npy").dtype == DType::I16);
}

TEST_CASE("npz reads np.savez and np.savez_compressed archives", "[io][npz]") {
  const json want = io_expected().at("npz");
  for (const char* name : {"arrays.npz", "arrays_compressed.npz"}) {
    const auto arrays = read_npz(io_data_dir() / name);
    const json& w = want.at(name);
    REQUIRE(arrays.size() == w.size());
    for (const auto& [key, entry] : w.items()) {
      REQUIRE(arrays.count(key) == 1);
      check_array(arrays.at(key), entry, std::string(name) + ":" + key);
    }
  }
}

TEST_CASE("npy write then read round-trips every dtype", "[io][npy]") {
  const fs::path dir = actlens::test::scratch_dir("npy_roundtrip");
  for (const auto& [name, a] : sample_arrays()) {
    INFO(name);
    const fs::path p = dir / (name + ".npy");
    write_npy(p, a);
    const Array back = read_npy(p);
    CHECK(back.dtype == a.dtype);
    CHECK(back.shape == a.shape);
    CHECK(back.data == a.data);
    // The layout numpy expects: v1.0, data at a multiple of 64, header ending in '\n'.
    const std::string bytes = slurp(p);
    CHECK(bytes.substr(0, 8) == std::string("\x93NUMPY\x01\x00", 8));
    const std::size_t header_end =
        10 + (static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8));
    CHECK(header_end % 64 == 0);
    CHECK(bytes[header_end - 1] == '\n');
    CHECK(bytes.size() == header_end + a.data.size());
    CHECK(bytes == serialize_npy(a));
    const Array parsed =
        parse_npy(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size(), name);
    CHECK(parsed.data == a.data);
  }
}

TEST_CASE("npy header text is what numpy writes", "[io][npy]") {
  const std::string s = serialize_npy(array_of<float>(DType::F32, {3}, {1, 2, 3}));
  CHECK(s.find("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }") == 10);
  const std::string scalar = serialize_npy(array_of<double>(DType::F64, {}, {1}));
  CHECK(scalar.find("'shape': (), }") != std::string::npos);
  const std::string b = serialize_npy(array_of<std::uint8_t>(DType::Bool, {1, 2}, {1, 0}));
  CHECK(b.find("'descr': '|b1'") != std::string::npos);
  CHECK(b.find("'shape': (1, 2), }") != std::string::npos);
}

TEST_CASE("npy switches to format 2.0 for headers over 64 KiB", "[io][npy]") {
  const Array a = array_of<float>(DType::F32, std::vector<std::int64_t>(22000, 1), {7.0f});
  const std::string s = serialize_npy(a);
  CHECK(s[6] == 2);
  const std::uint32_t len = static_cast<unsigned char>(s[8]) |
                            (static_cast<unsigned char>(s[9]) << 8) |
                            (static_cast<unsigned char>(s[10]) << 16);
  CHECK((12 + len) % 64 == 0);
  const Array back = parse_npy(reinterpret_cast<const std::byte*>(s.data()), s.size(), "big");
  CHECK(back.shape.size() == 22000);
  CHECK(to_double_vector(back) == std::vector<double>{7.0});
}

TEST_CASE("npy refuses to write bfloat16", "[io][npy][errors]") {
  const fs::path dir = actlens::test::scratch_dir("npy_bf16");
  const Array bf = array_of<std::uint16_t>(DType::BF16, {1}, {0x3F80});
  REQUIRE_THROWS_WITH(write_npy(dir / "bf.npy", bf),
                      Catch::Contains("bf.npy") && Catch::Contains("float32"));
  CHECK_FALSE(fs::exists(dir / "bf.npy"));
  REQUIRE_THROWS_WITH(write_npz(dir / "bf.npz", {{"w", bf}}),
                      Catch::Contains("bf.npz") && Catch::Contains("float32"));
  CHECK(fs::is_empty(dir));  // no temporary left behind either
  REQUIRE_THROWS_AS(serialize_npy(bf), Error);
}

TEST_CASE("npz write then read round-trips", "[io][npz]") {
  const fs::path dir = actlens::test::scratch_dir("npz_roundtrip");
  const auto arrays = sample_arrays();
  write_npz(dir / "sub" / "all.npz", arrays);  // parent folders are created
  const auto back = read_npz(dir / "sub" / "all.npz");
  REQUIRE(back.size() == arrays.size());
  for (const auto& [key, a] : arrays) {
    INFO(key);
    CHECK(back.at(key).dtype == a.dtype);
    CHECK(back.at(key).shape == a.shape);
    CHECK(back.at(key).data == a.data);
  }
  const ZipArchive zip = ZipArchive::open(dir / "sub" / "all.npz");
  for (const ZipEntry& e : zip.entries()) {
    CHECK(e.method == 0);
    CHECK(e.name.ends_with(".npy"));
    CHECK(zip.read(e).size() == e.size);  // CRC checked inside
  }
  write_npz(dir / "none.npz", {});
  CHECK(read_npz(dir / "none.npz").empty());
}

TEST_CASE("npz written with ZIP64 records reads back", "[io][npz]") {
  std::ostringstream out;
  write_npz_stream(out, sample_arrays(), "z64.npz", /*force_zip64=*/true);
  const fs::path p = actlens::test::scratch_dir("npz_zip64") / "z64.npz";
  spit(p, out.str());
  const auto back = read_npz(p);
  CHECK(back.size() == sample_arrays().size());
  CHECK(to_double_vector(back.at("i64")) == std::vector<double>{-5, 0, 1099511627776.0});
}

TEST_CASE("npy refuses missing files, garbage and truncations", "[io][npy][errors]") {
  const fs::path dir = actlens::test::scratch_dir("npy_bad");
  REQUIRE_THROWS_WITH(read_npy(dir / "absent.npy"),
                      Catch::Contains("absent.npy") && Catch::Contains("no such file"));
  REQUIRE_THROWS_AS(read_npy(dir), Error);
  spit(dir / "garbage.npy", std::string(200, 'g'));
  REQUIRE_THROWS_WITH(read_npy(dir / "garbage.npy"),
                      Catch::Contains("garbage.npy") && Catch::Contains("not a .npy"));

  for (const char* name : {"npy/float64.npy", "npy/fortran_3d.npy", "npy/version3.npy"}) {
    const std::string bytes = slurp(io_data_dir() / name);
    for (std::size_t len = 0; len < bytes.size(); ++len) {
      const fs::path p = dir / ("cut_" + std::to_string(len) + ".npy");
      spit(p, bytes.substr(0, len));
      INFO(name << " cut at " << len);
      REQUIRE_THROWS_WITH(read_npy(p), Catch::Contains(p.filename().string()));
      REQUIRE_THROWS_AS(parse_npy(reinterpret_cast<const std::byte*>(bytes.data()), len, "mem"),
                        Error);
    }
  }
}

TEST_CASE("npy refuses unsupported and corrupt headers", "[io][npy][errors]") {
  const fs::path dir = actlens::test::scratch_dir("npy_headers");
  const std::string eight(8, '\0');
  auto expect_error = [&](const std::string& name, const std::string& dict,
                          const std::string& needle) {
    spit(dir / name, npy_with_header(dict, eight));
    INFO(name);
    REQUIRE_THROWS_WITH(read_npy(dir / name), Catch::Contains(name) && Catch::Contains(needle));
  };
  expect_error("object.npy", "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }",
               "Python objects");
  expect_error("uint16.npy", "{'descr': '<u2', 'fortran_order': False, 'shape': (4,), }",
               "unsigned 16-bit");
  expect_error("uint64.npy", "{'descr': '<u8', 'fortran_order': False, 'shape': (1,), }", "int64");
  expect_error("complex.npy", "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }",
               "not supported");
  expect_error("string.npy", "{'descr': '<U2', 'fortran_order': False, 'shape': (1,), }",
               "not supported");
  expect_error("record.npy",
               "{'descr': [('a', '<f4'), ('b', '<f4')], 'fortran_order': False, 'shape': (1,), }",
               "structured");
  expect_error("noshape.npy", "{'descr': '<f4', 'fortran_order': False, }", "shape");
  expect_error("negative.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }",
               "negative");
  expect_error("overflow.npy",
               "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }",
               "too many");
  expect_error("toolong.npy",
               "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,), }",
               "too large");
  expect_error("bigdata.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (1000,), }",
               "truncated");
  expect_error("unterminated.npy", "{'descr': '<f4", "bad header");
  expect_error("notadict.npy", "[1, 2]", "bad header");
  expect_error("badword.npy", "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }",
               "bad header");

  // A v2 header claiming 4 GiB must not be allocated.
  std::string huge = "\x93NUMPY\x02";
  huge += std::string("\0\xff\xff\xff\xff", 5);
  spit(dir / "huge_header.npy", huge + std::string(64, ' '));
  REQUIRE_THROWS_WITH(read_npy(dir / "huge_header.npy"), Catch::Contains("huge_header.npy"));
  std::string v9 = std::string("\x93NUMPY\x09\x00", 8) + std::string(60, ' ');
  spit(dir / "v9.npy", v9);
  REQUIRE_THROWS_WITH(read_npy(dir / "v9.npy"), Catch::Contains("version 9.0"));
}

TEST_CASE("npy accepts header variants numpy has written", "[io][npy]") {
  const fs::path dir = actlens::test::scratch_dir("npy_variants");
  std::string data(8, '\0');
  data[0] = 1;
  data[7] = 2;
  // Key order, double quotes, Python 2 longs, no trailing comma.
  spit(
      dir / "a.npy",
      npy_with_header("{\"shape\": (2L, 4L), \"fortran_order\": False, \"descr\": \"|u1\"}", data));
  const Array a = read_npy(dir / "a.npy");
  CHECK(a.dtype == DType::U8);
  CHECK(a.shape == std::vector<std::int64_t>{2, 4});
  // Extra bytes after the data are ignored, as np.load does.
  spit(dir / "b.npy", npy_with_header("{'descr': '<i2', 'fortran_order': False, 'shape': (2,), }",
                                      data + "trailing"));
  CHECK(to_double_vector(read_npy(dir / "b.npy")) == std::vector<double>{1, 0});
  // Bool bytes other than 0/1 are normalised.
  spit(dir / "c.npy",
       npy_with_header("{'descr': '|b1', 'fortran_order': False, 'shape': (8,), }", data));
  CHECK(read_npy(dir / "c.npy").data[7] == std::byte{1});
  // Big-endian half floats.
  spit(dir / "d.npy", npy_with_header("{'descr': '>f2', 'fortran_order': False, 'shape': (1,), }",
                                      std::string("\x3c\x00", 2)));
  CHECK(to_double_vector(read_npy(dir / "d.npy")) == std::vector<double>{1.0});
}

TEST_CASE("npz refuses damaged archives and members", "[io][npz][errors]") {
  const fs::path dir = actlens::test::scratch_dir("npz_bad");
  REQUIRE_THROWS_WITH(read_npz(dir / "absent.npz"), Catch::Contains("absent.npz"));
  for (const char* name : {"arrays.npz", "arrays_compressed.npz"}) {
    const std::string bytes = slurp(io_data_dir() / name);
    for (const std::size_t len :
         {std::size_t{0}, std::size_t{10}, bytes.size() / 2, bytes.size() - 23, bytes.size() - 1}) {
      const fs::path p = dir / ("cut_" + std::to_string(len) + ".npz");
      spit(p, bytes.substr(0, len));
      INFO(name << " cut at " << len);
      REQUIRE_THROWS_WITH(read_npz(p), Catch::Contains(p.filename().string()));
    }
  }
  // A member whose .npy image is itself broken names the archive and the member.
  std::ostringstream out;
  write_npz_stream(out, {{"x", array_of<float>(DType::F32, {2}, {1, 2})}}, "mem");
  std::string b = out.str();
  const std::size_t shape = b.find("(2,)");
  REQUIRE(shape != std::string::npos);
  b[shape + 1] = '9';  // claims 9 elements, holds 2
  // Fix the CRC in the local and central headers so that the ZIP layer passes it on.
  const std::size_t data_start = 30 + std::string("x.npy").size();
  const std::size_t data_len = b.find("PK\x01\x02") - data_start;
  const std::uint32_t crc = crc32_reference(b.substr(data_start, data_len));
  for (const std::size_t at : {std::size_t{14}, b.find("PK\x01\x02") + 16}) {
    for (int i = 0; i < 4; ++i) b[at + i] = static_cast<char>((crc >> (8 * i)) & 0xFF);
  }
  const fs::path p = dir / "member.npz";
  spit(p, b);
  REQUIRE_THROWS_WITH(read_npz(p), Catch::Contains("member.npz[x.npy]") &&
                                       Catch::Contains("truncated or corrupt .npy"));
}

TEST_CASE("npy and npz survive random corruption with actlens::Error only", "[io][npy][errors]") {
  std::mt19937 rng(12345);
  const fs::path dir = actlens::test::scratch_dir("npy_fuzz");
  for (const char* name : {"npy/float32.npy", "npy/fortran_3d.npy", "npy/version2.npy",
                           "arrays.npz", "arrays_compressed.npz"}) {
    const std::string good = slurp(io_data_dir() / name);
    const bool npz = std::string(name).ends_with(".npz");
    for (int iter = 0; iter < (npz ? 150 : 300); ++iter) {  // npz goes through slow file I/O
      std::string b = good;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int k = 0; k < flips; ++k) b[rng() % b.size()] = static_cast<char>(rng() & 0xFF);
      INFO(name << " iteration " << iter);
      try {
        if (npz) {
          spit(dir / "f.npz", b);
          (void)read_npz(dir / "f.npz");
        } else {
          (void)parse_npy(reinterpret_cast<const std::byte*>(b.data()), b.size(), "f.npy");
        }
      } catch (const Error& e) {
        CHECK(std::string(e.what()).find("f.np") != std::string::npos);
      }
    }
  }
}

TEST_CASE("write_file_atomic replaces the target only on success", "[io][atomic]") {
  const fs::path dir = actlens::test::scratch_dir("atomic");
  const fs::path p = dir / "a" / "b" / "out.txt";
  write_file_atomic(p, "first");
  CHECK(slurp(p) == "first");
  write_file_atomic(p, std::string(200000, 'x'));  // larger than the stream buffer
  CHECK(slurp(p).size() == 200000);
  write_file_atomic(p, "second");
  CHECK(slurp(p) == "second");

  // A failing writer leaves the old file and no temporary; the error names the target.
  REQUIRE_THROWS_WITH(write_file_atomic(p,
                                        [](std::ostream& out) {
                                          out << "partial";
                                          throw std::runtime_error("boom");
                                        }),
                      Catch::Contains(p.string()) && Catch::Contains("boom"));
  CHECK(slurp(p) == "second");
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(p.parent_path())) ++files;
  CHECK(files == 1);

  // A parent that is a regular file cannot hold the output.
  REQUIRE_THROWS_WITH(write_file_atomic(p / "child.txt", "x"), Catch::Contains("child.txt"));
  // A folder in the way of the rename.
  fs::create_directories(dir / "isdir");
  REQUIRE_THROWS_WITH(write_file_atomic(dir / "isdir", "x"), Catch::Contains("isdir"));
  CHECK(fs::is_directory(dir / "isdir"));
  files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++files;
  CHECK(files == 2);  // "a" and "isdir": no temporaries
}

TEST_CASE("npy refuses headers numpy would not write", "[io][npy][errors]") {
  const fs::path dir = actlens::test::scratch_dir("npy_strict");
  const std::string eight(8, '\0');
  auto expect_error = [&](const std::string& name, const std::string& dict,
                          const std::string& needle) {
    spit(dir / name, npy_with_header(dict, eight));
    INFO(name);
    REQUIRE_THROWS_WITH(read_npy(dir / name),
                        Catch::StartsWith((dir / name).string() + ": corrupt .npy header: ") &&
                            Catch::Contains(needle));
    REQUIRE_THROWS_WITH(read_npy_layout(dir / name), Catch::Contains(needle));
  };
  expect_error("dup_shape.npy",
               "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'shape': (1000000000,), }",
               "duplicate key 'shape'");
  expect_error("dup_descr.npy",
               "{'descr': '<f8', 'descr': '<f4', 'fortran_order': False, "
               "'shape': (2,), }",
               "duplicate key 'descr'");
  expect_error("unknown.npy",
               "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'offset': 16, }",
               "unknown key 'offset'");
  expect_error("latin1.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), '\xe9': 1}",
               "non-ASCII byte");
  expect_error("nul.npy",
               std::string("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}") + '\0',
               "control byte 0");
  expect_error("trailing.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} junk",
               "text after the closing '}'");

  // Format 3.0 allows UTF-8 (which a numeric array's header has no use for), not broken UTF-8.
  auto v3 = [](const std::string& dict) {
    std::string h = dict;
    while ((12 + h.size() + 1) % 64 != 0) h += ' ';
    h += '\n';
    return std::string("\x93NUMPY\x03\x00", 8) + actlens::test::le_bytes(h.size(), 4) + h +
           std::string(8, '\0');
  };
  spit(dir / "v3_bad_utf8.npy", v3("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), "
                                   "'\xc3\x28': 1}"));
  REQUIRE_THROWS_WITH(read_npy(dir / "v3_bad_utf8.npy"),
                      Catch::Contains("v3_bad_utf8.npy") && Catch::Contains("invalid UTF-8"));
  spit(dir / "v3_overlong.npy", v3("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), "
                                   "'\xc0\xaf': 1}"));
  REQUIRE_THROWS_WITH(read_npy(dir / "v3_overlong.npy"), Catch::Contains("invalid UTF-8"));
  // Valid UTF-8 gets past the byte check, and is then an unknown key.
  spit(dir / "v3_utf8.npy", v3("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), "
                               "'\xc3\xa9': 1}"));
  REQUIRE_THROWS_WITH(read_npy(dir / "v3_utf8.npy"), Catch::Contains("unknown key"));
  spit(dir / "v3_ok.npy", v3("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }"));
  CHECK(read_npy(dir / "v3_ok.npy").shape == std::vector<std::int64_t>{2});

  // Everything numpy itself wrote still reads (versions 1.0, 2.0, 3.0; both byte orders).
  for (const auto& e : fs::directory_iterator(io_data_dir() / "npy")) {
    INFO(e.path());
    CHECK_NOTHROW(read_npy(e.path()));
  }
}

TEST_CASE("npz members must record exactly what their header needs", "[io][npz][errors]") {
  const fs::path dir = actlens::test::scratch_dir("npz_hostile");
  const std::string npy = npy_with_header(
      "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", std::string(16, '\0'));
  SECTION("a deflated member recording 2 GiB for a 16-byte array") {
    // 2 MB of compressed bytes (a tiny stream, then padding) may record up to 2 GB: the
    // recorded size passes the ratio check and is refused against the member's own header,
    // which is all that gets inflated.
    const std::string deflated = actlens::test::deflate_raw(npy);
    const fs::path p = dir / "bomb.npz";
    spit(p, make_zip({ZipItem{"x.npy", npy, true, std::int64_t{2} << 30,
                              std::string(2'100'000 - deflated.size(), 'p')}}));
    expect_fast_error([&] { read_npz(p); }, {"bomb.npz[x.npy]", "declares 2147483648 bytes",
                                             "needs 16 bytes after a " +
                                                 std::to_string(npy.size() - 16) + "-byte header"});
  }
  SECTION("a deflated member recording 3 GiB from a few bytes") {
    const fs::path p = dir / "ratio.npz";
    spit(p, make_zip({ZipItem{"x.npy", npy, true, std::int64_t{3} << 30}}));
    expect_fast_error([&] { read_npz(p); }, {"ratio.npz", "x.npy", "compression"});
  }
  SECTION("a stored member with bytes after its array, or fewer than it needs") {
    const fs::path p = dir / "extra.npz";
    spit(p, make_zip({ZipItem{"x.npy", npy + "extra"}}));
    expect_fast_error(
        [&] { read_npz(p); },
        {"extra.npz[x.npy]", "declares " + std::to_string(npy.size() + 5) + " bytes"});
    const fs::path q = dir / "short.npz";
    spit(q, make_zip({ZipItem{"x.npy", npy.substr(0, npy.size() - 4)}}));
    expect_fast_error(
        [&] { read_npz(q); },
        {"short.npz[x.npy]", "declares " + std::to_string(npy.size() - 4) + " bytes"});
  }
  SECTION("a header claiming a huge array in a small member") {
    const fs::path p = dir / "claim.npz";
    const std::string huge =
        npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000,), }", "");
    spit(p, make_zip({ZipItem{"x.npy", huge, true}}));
    expect_fast_error([&] { read_npz(p); }, {"claim.npz[x.npy]", "800000000000 bytes"});
  }
  SECTION("an empty member, and an empty array") {
    const fs::path p = dir / "empty_member.npz";
    spit(p, make_zip({ZipItem{"x.npy", ""}}));
    REQUIRE_THROWS_WITH(read_npz(p), Catch::Contains("empty_member.npz[x.npy]"));
    const fs::path q = dir / "empty_array.npz";
    spit(q,
         make_zip({ZipItem{"x.npy",
                           npy_with_header(
                               "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }", "")},
                   ZipItem{"y.npy",
                           npy_with_header(
                               "{'descr': '<f4', 'fortran_order': False, 'shape': (0,), }", ""),
                           true}}));
    const auto arrays = read_npz(q);
    CHECK(arrays.at("x").shape == std::vector<std::int64_t>{0, 3});
    CHECK(arrays.at("y").data.empty());
  }
}
