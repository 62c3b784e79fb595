// The ZIP reader against archives numpy wrote (stored and deflated), archives write_npz wrote
// (plain and ZIP64), damaged copies of them, and hostile ones built here (overlapping entries,
// decompression bombs, recorded sizes that lie).
#include <catch2/catch.hpp>

#include <random>
#include <sstream>

#include "actlens/error.hpp"
#include "actlens/io/npy.hpp"
#include "actlens/io/zip_archive.hpp"
#include "hostile_zip.hpp"
#include "test_paths.hpp"

using actlens::Error;
using namespace actlens::io;
namespace fs = std::filesystem;
using actlens::test::expect_fast_error;
using actlens::test::make_zip;
using actlens::test::slurp;
using actlens::test::spit;
using actlens::test::ZipItem;

namespace {

void put_le(std::string& s, std::size_t pos, std::uint64_t v, int n) {
  for (int i = 0; i < n; ++i) s[pos + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

fs::path npz_fixture(const char* name) {
  return actlens::test::io_data_dir() / name;
}

std::string as_string(const std::vector<std::byte>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size());
}

}  // namespace

TEST_CASE("zip lists the members numpy.savez wrote", "[io][zip]") {
  const ZipArchive zip = ZipArchive::open(npz_fixture("arrays.npz"));
  CHECK(zip.path() == npz_fixture("arrays.npz"));
  CHECK(zip.file_size() == fs::file_size(npz_fixture("arrays.npz")));
  REQUIRE(zip.entries().size() == 3);
  CHECK(zip.entries()[0].name == "weights.npy");
  CHECK(zip.entries()[1].name == "labels.npy");
  CHECK(zip.entries()[2].name == "mask.npy");
  for (const ZipEntry& e : zip.entries()) {
    CHECK(e.method == 0);
    CHECK(e.size == e.compressed_size);
    // numpy forces ZIP64 local headers: a 20-byte extra field sits before the data.
    CHECK(e.data_offset == e.local_header_offset + 30 + e.name.size() + 20);
  }
  REQUIRE(zip.find("labels.npy") != nullptr);
  CHECK(zip.find("labels.npy")->name == "labels.npy");
  CHECK(zip.find("labels") == nullptr);
}

TEST_CASE("zip read returns each member, CRC-checked", "[io][zip]") {
  const ZipArchive zip = ZipArchive::open(npz_fixture("arrays.npz"));
  for (const ZipEntry& e : zip.entries()) {
    const std::vector<std::byte> bytes = zip.read(e);
    REQUIRE(bytes.size() == e.size);
    CHECK(as_string(bytes).substr(0, 6) == "\x93NUMPY");
  }
}

TEST_CASE("zip deflated members match the stored ones", "[io][zip]") {
  const ZipArchive stored = ZipArchive::open(npz_fixture("arrays.npz"));
  const ZipArchive deflated = ZipArchive::open(npz_fixture("arrays_compressed.npz"));
  REQUIRE(deflated.entries().size() == stored.entries().size());
  for (const ZipEntry& e : deflated.entries()) {
    CHECK(e.method == 8);
    const ZipEntry* s = stored.find(e.name);
    REQUIRE(s != nullptr);
    CHECK(as_string(deflated.read(e)) == as_string(stored.read(*s)));
  }
}

TEST_CASE("zip read_at reads slices of stored members only", "[io][zip]") {
  const ZipArchive zip = ZipArchive::open(npz_fixture("arrays.npz"));
  const ZipEntry& e = *zip.find("weights.npy");
  const std::string whole = as_string(zip.read(e));
  std::string part(10, '\0');
  zip.read_at(e, 3, part.data(), part.size());
  CHECK(part == whole.substr(3, 10));
  zip.read_at(e, e.size - 4, part.data(), 4);
  CHECK(part.substr(0, 4) == whole.substr(whole.size() - 4));
  zip.read_at(e, e.size, part.data(), 0);
  REQUIRE_THROWS_AS(zip.read_at(e, e.size - 3, part.data(), 4), Error);
  REQUIRE_THROWS_AS(zip.read_at(e, ~std::uint64_t{0}, part.data(), 2), Error);

  const ZipArchive deflated = ZipArchive::open(npz_fixture("arrays_compressed.npz"));
  REQUIRE_THROWS_WITH(deflated.read_at(deflated.entries()[0], 0, part.data(), 1),
                      Catch::Contains("arrays_compressed.npz") && Catch::Contains("compressed"));
}

TEST_CASE("zip archives are movable", "[io][zip]") {
  ZipArchive a = ZipArchive::open(npz_fixture("arrays.npz"));
  ZipArchive b = std::move(a);
  CHECK(b.entries().size() == 3);
  ZipArchive c = ZipArchive::open(npz_fixture("arrays_compressed.npz"));
  c = std::move(b);
  CHECK(c.entries()[0].method == 0);
  CHECK(c.read(c.entries()[1]).size() == c.entries()[1].size);
}

TEST_CASE("zip reads archives written by write_npz, with and without ZIP64", "[io][zip]") {
  const fs::path dir = actlens::test::scratch_dir("zip_written");
  const std::map<std::string, Array> arrays = {{"a", make_array(std::vector<double>{1, 2, 3})},
                                               {"b", make_array(std::vector<std::int64_t>{4, 5})}};
  for (const bool zip64 : {false, true}) {
    std::ostringstream out;
    write_npz_stream(out, arrays, "mem.npz", zip64);
    const fs::path p = dir / (zip64 ? "z64.npz" : "plain.npz");
    spit(p, out.str());
    const ZipArchive zip = ZipArchive::open(p);
    REQUIRE(zip.entries().size() == 2);
    CHECK(zip.entries()[0].name == "a.npy");
    CHECK(zip.entries()[1].name == "b.npy");
    const ZipEntry& b = *zip.find("b.npy");
    const std::vector<std::byte> bytes = zip.read(b);
    const Array back = parse_npy(bytes.data(), bytes.size(), "b");
    CHECK(to_double_vector(back) == std::vector<double>{4, 5});
    // The ZIP64 end records come before the classic one.
    const std::string raw = out.str();
    CHECK((raw.find("PK\x06\x06") != std::string::npos) == zip64);
  }
}

TEST_CASE("zip finds the end record behind an archive comment", "[io][zip]") {
  std::string bytes = slurp(npz_fixture("arrays.npz"));
  const std::string comment(300, 'c');
  put_le(bytes, bytes.size() - 2, comment.size(), 2);
  bytes += comment;
  const fs::path p = actlens::test::scratch_dir("zip_comment") / "commented.npz";
  spit(p, bytes);
  const ZipArchive zip = ZipArchive::open(p);
  CHECK(zip.entries().size() == 3);
  CHECK(zip.read(zip.entries()[2]).size() == zip.entries()[2].size);
}

TEST_CASE("zip refuses truncated archives at every length", "[io][zip][errors]") {
  const fs::path dir = actlens::test::scratch_dir("zip_truncated");
  for (const char* name : {"arrays.npz", "arrays_compressed.npz"}) {
    const std::string bytes = slurp(npz_fixture(name));
    for (std::size_t len = 0; len < bytes.size(); ++len) {
      const fs::path p = dir / ("cut_" + std::to_string(len) + ".npz");
      spit(p, bytes.substr(0, len));
      INFO(name << " cut at " << len);
      REQUIRE_THROWS_AS(ZipArchive::open(p), Error);
      REQUIRE_THROWS_WITH(ZipArchive::open(p), Catch::Contains(p.filename().string()));
      fs::remove(p);
    }
  }
}

TEST_CASE("zip truncation error is one actionable line", "[io][zip][errors]") {
  const std::string bytes = slurp(npz_fixture("arrays.npz"));
  const fs::path p = actlens::test::scratch_dir("zip_msg") / "half.npz";
  spit(p, bytes.substr(0, bytes.size() / 2));
  try {
    (void)ZipArchive::open(p);
    FAIL("no error");
  } catch (const Error& e) {
    const std::string msg = e.what();
    CHECK(msg.find(p.string()) == 0);
    CHECK(msg.find("truncated or corrupt ZIP archive") != std::string::npos);
    CHECK(msg.find("re-create the file") != std::string::npos);
    CHECK(msg.find('\n') == std::string::npos);
  }
}

TEST_CASE("zip refuses missing files, folders and garbage", "[io][zip][errors]") {
  const fs::path dir = actlens::test::scratch_dir("zip_bad");
  REQUIRE_THROWS_WITH(ZipArchive::open(dir / "absent.npz"),
                      Catch::Contains("absent.npz") && Catch::Contains("no such file"));
  REQUIRE_THROWS_AS(ZipArchive::open(dir), Error);

  spit(dir / "garbage.npz", std::string(4096, '\x5a'));
  REQUIRE_THROWS_WITH(ZipArchive::open(dir / "garbage.npz"),
                      Catch::Contains("garbage.npz") && Catch::Contains("not a ZIP archive"));
  spit(dir / "pk_garbage.npz", "PK" + std::string(100, '\x01'));
  REQUIRE_THROWS_WITH(ZipArchive::open(dir / "pk_garbage.npz"), Catch::Contains("pk_garbage.npz"));
  spit(dir / "empty.npz", "");
  REQUIRE_THROWS_WITH(ZipArchive::open(dir / "empty.npz"), Catch::Contains("empty.npz"));
}

TEST_CASE("zip refuses out-of-range directory fields", "[io][zip][errors]") {
  const fs::path dir = actlens::test::scratch_dir("zip_fields");
  const std::string good = slurp(npz_fixture("arrays.npz"));
  const std::size_t eocd = good.size() - 22;
  REQUIRE(good.compare(eocd, 4, "PK\x05\x06") == 0);
  const std::size_t cd = static_cast<unsigned char>(good[eocd + 16]) |
                         (static_cast<unsigned char>(good[eocd + 17]) << 8);

  auto expect_error = [&](const std::string& bytes, const std::string& name, const char* needle) {
    const fs::path p = dir / name;
    spit(p, bytes);
    INFO(name);
    REQUIRE_THROWS_WITH(ZipArchive::open(p), Catch::Contains(name) && Catch::Contains(needle));
  };
  std::string b = good;
  put_le(b, eocd + 16, 0x7FFFFFF0, 4);  // central directory offset past the end
  expect_error(b, "cd_offset.npz", "central directory");
  b = good;
  put_le(b, eocd + 12, 0x7FFFFFF0, 4);  // central directory size past the end
  expect_error(b, "cd_size.npz", "central directory");
  b = good;
  put_le(b, eocd + 8, 60000, 2);  // more entries than the directory can hold
  put_le(b, eocd + 10, 60000, 2);
  expect_error(b, "entries.npz", "central directory");
  b = good;
  put_le(b, cd + 42, 0x7FFFFFF0, 4);  // first entry's local header outside the file
  expect_error(b, "local_offset.npz", "outside the file");
  b = good;
  put_le(b, cd + 20, 0x7FFFFFF0, 4);  // compressed size past the end
  put_le(b, cd + 24, 0x7FFFFFF0, 4);
  expect_error(b, "entry_size.npz", "past the end");
  b = good;
  put_le(b, cd + 8, 1, 2);  // encrypted
  expect_error(b, "encrypted.npz", "encrypted");
  b = good;
  put_le(b, eocd + 4, 1, 2);  // split archive
  expect_error(b, "split.npz", "split");
}

TEST_CASE("zip detects corrupt member data", "[io][zip][errors]") {
  const fs::path dir = actlens::test::scratch_dir("zip_crc");
  {
    std::string b = slurp(npz_fixture("arrays.npz"));
    const std::size_t pos = b.find("\x93NUMPY") + 100;  // inside the first member
    b[pos] = static_cast<char>(b[pos] ^ 0x55);
    spit(dir / "flipped.npz", b);
    const ZipArchive zip = ZipArchive::open(dir / "flipped.npz");
    REQUIRE_THROWS_WITH(zip.read(zip.entries()[0]),
                        Catch::Contains("flipped.npz") && Catch::Contains("CRC"));
  }
  {
    std::string b = slurp(npz_fixture("arrays_compressed.npz"));
    const ZipArchive zip = ZipArchive::open(npz_fixture("arrays_compressed.npz"));
    const ZipEntry& e = zip.entries()[0];
    for (std::uint64_t i = 0; i < e.compressed_size; ++i) b[e.data_offset + i] = '\xff';
    spit(dir / "garbled.npz", b);
    const ZipArchive bad = ZipArchive::open(dir / "garbled.npz");
    REQUIRE_THROWS_WITH(bad.read(bad.entries()[0]), Catch::Contains("garbled.npz"));
  }
  {
    // A recorded size far beyond what deflate can produce is refused before allocating.
    const ZipArchive zip = ZipArchive::open(npz_fixture("arrays_compressed.npz"));
    ZipEntry e = zip.entries()[0];
    e.size = std::uint64_t{1} << 50;
    REQUIRE_THROWS_AS(zip.read(e), Error);
    e = zip.entries()[0];
    e.size -= 1;  // inflates to more than recorded
    REQUIRE_THROWS_AS(zip.read(e), Error);
    e = zip.entries()[0];
    e.size += 1;
    REQUIRE_THROWS_AS(zip.read(e), Error);
    e.method = 12;  // bzip2
    REQUIRE_THROWS_WITH(zip.read(e), Catch::Contains("method 12"));
  }
}

TEST_CASE("zip survives random corruption of its directory with actlens::Error only",
          "[io][zip][errors]") {
  std::mt19937 rng(4242);
  const fs::path p = actlens::test::scratch_dir("zip_fuzz") / "f.npz";
  for (const char* name : {"arrays.npz", "arrays_compressed.npz"}) {
    const std::string good = slurp(npz_fixture(name));
    const std::size_t cd = good.find("PK\x01\x02");
    REQUIRE(cd != std::string::npos);
    for (int iter = 0; iter < 300; ++iter) {
      std::string b = good;
      const int flips = 1 + static_cast<int>(rng() % 3);
      for (int k = 0; k < flips; ++k) {
        // Mostly the central directory and end records, sometimes anywhere.
        const std::size_t at = rng() % 4 == 0 ? rng() % b.size() : cd + rng() % (b.size() - cd);
        b[at] = static_cast<char>(rng() & 0xFF);
      }
      spit(p, b);
      INFO(name << " iteration " << iter);
      try {
        const ZipArchive zip = ZipArchive::open(p);
        for (const ZipEntry& e : zip.entries()) (void)zip.read(e);
      } catch (const Error& e) {
        CHECK(std::string(e.what()).find("f.npz") != std::string::npos);
      }
    }
  }
}

TEST_CASE("zip refuses overlapping entries", "[io][zip][errors]") {
  const fs::path dir = actlens::test::scratch_dir("zip_overlap");
  const std::string good =
      make_zip({ZipItem{"a.bin", std::string(100, 'a')}, ZipItem{"b.bin", std::string(100, 'b')}});
  const std::size_t cd_a = good.find("PK\x01\x02");
  const std::size_t cd_b = good.find("PK\x01\x02", cd_a + 4);
  REQUIRE(cd_b != std::string::npos);
  {
    // b's directory entry names a's local header: two names for the same bytes.
    std::string b = good;
    put_le(b, cd_b + 42, 0, 4);
    spit(dir / "same.zip", b);
    expect_fast_error([&] { ZipArchive::open(dir / "same.zip"); },
                      {"same.zip", "'a.bin'", "'b.bin'", "overlap"});
  }
  {
    // a's recorded size stretches it over b.
    std::string b = good;
    put_le(b, cd_a + 20, 150, 4);
    put_le(b, cd_a + 24, 150, 4);
    spit(dir / "long.zip", b);
    expect_fast_error([&] { ZipArchive::open(dir / "long.zip"); }, {"long.zip", "overlap"});
  }
  {
    // b's recorded size stretches it into the central directory.
    std::string b = good;
    put_le(b, cd_b + 20, 130, 4);
    put_le(b, cd_b + 24, 130, 4);
    spit(dir / "into_cd.zip", b);
    expect_fast_error([&] { ZipArchive::open(dir / "into_cd.zip"); },
                      {"into_cd.zip", "'b.bin'", "central directory"});
  }
  spit(dir / "good.zip", good);
  const ZipArchive zip = ZipArchive::open(dir / "good.zip");
  CHECK(as_string(zip.read(*zip.find("b.bin"))) == std::string(100, 'b'));
}

TEST_CASE("zip refuses decompression bombs before inflating them", "[io][zip][errors]") {
  const fs::path dir = actlens::test::scratch_dir("zip_bomb");
  const std::string zeros(20'000'000, '\0');  // deflates ~1000:1
  SECTION("a recorded size no stream of that length can produce") {
    spit(dir / "ratio.zip", make_zip({ZipItem{"x.npy", "tiny", true, 3'000'000'000}}));
    const ZipArchive zip = ZipArchive::open(dir / "ratio.zip");
    expect_fast_error([&] { (void)zip.read(zip.entries()[0]); },
                      {"ratio.zip", "'x.npy'", "declares 3000000000 bytes", "compression"});
  }
  SECTION("a recorded size far above what the stream holds") {
    // 2 MB of compressed bytes may record up to 2 GB; the stream ends after 20 MB. Memory
    // follows the stream, not the record.
    const std::string deflated = actlens::test::deflate_raw(zeros);
    spit(dir / "short.zip", make_zip({ZipItem{"x.npy", zeros, true, 2'000'000'000,
                                              std::string(2'000'000 - deflated.size(), 'p')}}));
    const ZipArchive zip = ZipArchive::open(dir / "short.zip");
    expect_fast_error([&] { (void)zip.read(zip.entries()[0]); },
                      {"short.zip", "inflates to 20000000 bytes, less than its recorded"});
  }
  SECTION("a stream inflating past its recorded size stops at the first extra byte") {
    spit(dir / "long.zip", make_zip({ZipItem{"x.npy", zeros, true, 1000}}));
    const ZipArchive zip = ZipArchive::open(dir / "long.zip");
    expect_fast_error([&] { (void)zip.read(zip.entries()[0]); },
                      {"long.zip", "more than its recorded 1000 bytes"});
  }
  SECTION("read_prefix inflates only the bytes asked for") {
    spit(dir / "prefix.zip", make_zip({ZipItem{"x.npy", "0123456789", true}}));
    const ZipArchive zip = ZipArchive::open(dir / "prefix.zip");
    CHECK(as_string(zip.read_prefix(zip.entries()[0], 4)) == "0123");
    CHECK(as_string(zip.read_prefix(zip.entries()[0], 100)) == "0123456789");
    CHECK(zip.read_prefix(zip.entries()[0], 0).empty());
  }
}

TEST_CASE("zip reads empty members", "[io][zip]") {
  const fs::path dir = actlens::test::scratch_dir("zip_empty");
  spit(dir / "empty.zip", make_zip({ZipItem{"s.bin", ""}, ZipItem{"d.bin", "", true}}));
  const ZipArchive zip = ZipArchive::open(dir / "empty.zip");
  for (const ZipEntry& e : zip.entries()) {
    INFO(e.name);
    CHECK(zip.read(e).empty());
    CHECK(zip.read_prefix(e, 10).empty());
  }
  zip.read_at(zip.entries()[0], 0, nullptr, 0);
}
