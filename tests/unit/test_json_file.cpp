// io/json_file: only regular files, size and nesting caps, parse errors in plain words.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <string>

#include "actlens/error.hpp"
#include "actlens/io/json_file.hpp"
#include "test_paths.hpp"

using actlens::Error;
using Catch::Matchers::Contains;
namespace io = actlens::io;
namespace fs = std::filesystem;

TEST_CASE("read_json_file refuses what is not a small regular JSON file", "[io][json_file]") {
  const fs::path dir = actlens::test::scratch_dir("json_file");
  SECTION("a FIFO is refused at once, not waited on") {
    const fs::path fifo = dir / "fifo.json";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK_THROWS_WITH(io::read_json_file(fifo, "a test file"),
                      Contains("fifo.json: not a regular file (it is a pipe)") &&
                          Contains("give the path of a test file"));
  }
  SECTION("a device and a folder") {
    CHECK_THROWS_WITH(io::read_json_file("/dev/zero", "a test file"),
                      Contains("/dev/zero: not a regular file (it is a device)"));
    CHECK_THROWS_WITH(io::read_text_file(dir, "a test file", 100),
                      Contains("not a regular file (it is a folder)"));
  }
  SECTION("a file over the cap") {
    actlens::test::spit(dir / "big.txt", std::string(200, 'x'));
    CHECK_THROWS_WITH(io::read_text_file(dir / "big.txt", "a test file", 100),
                      Contains("big.txt: 200 bytes, more than the 100 bytes accepted"));
    CHECK(io::read_text_file(dir / "big.txt", "a test file", 200).size() == 200);
  }
  SECTION("nesting 100k deep is refused before parsing") {
    actlens::test::spit(dir / "deep.json", std::string(100000, '['));
    CHECK_THROWS_WITH(io::read_json_file(dir / "deep.json", "a test file"),
                      Contains("deep.json: nested deeper than 512 levels at line 1"));
  }
  SECTION("lines") {
    actlens::test::spit(dir / "lines.txt", "a\r\n\nb\n");
    CHECK(io::read_text_lines(dir / "lines.txt", "a test file") ==
          std::vector<std::string>{"a", "", "b"});
  }
}

TEST_CASE("JSON nesting depth and parse errors", "[io][json_file]") {
  SECTION("brackets inside strings do not count") {
    const std::string text = "[\"" + std::string(1000, '[') + "\\\"[[\"]";
    CHECK_NOTHROW(io::check_nesting_depth(text, "x"));
    CHECK(io::parse_json_text(text, "x").size() == 1);
  }
  SECTION("exactly the limit passes, one more fails") {
    CHECK_NOTHROW(io::check_nesting_depth(std::string(512, '['), "x"));
    CHECK_THROWS_AS(io::check_nesting_depth(std::string(513, '{'), "x"), Error);
  }
  SECTION("TOML: strings and comments skipped") {
    CHECK_NOTHROW(io::check_nesting_depth(
        "a = '" + std::string(600, '[') + "'\n# " + std::string(600, '[') + "\nb = [[1]]\n",
        "c.toml", true));
    CHECK_THROWS_WITH(io::check_nesting_depth("a = " + std::string(600, '['), "c.toml", true),
                      Contains("c.toml: nested deeper than 512 levels") && Contains("TOML"));
  }
  SECTION("parse errors in plain words") {
    try {
      (void)io::parse_json_text("{\n  \"a\": tru,\n}", "f.json");
      FAIL("no error");
    } catch (const Error& e) {
      const std::string m = e.what();
      CHECK_THAT(m, Contains("f.json: not valid JSON at line 2, column"));
      CHECK_THAT(m, !Contains("json.exception"));
      CHECK_THAT(m, !Contains("parse_error"));
    }
    CHECK_THROWS_WITH(io::parse_json_text(" \n", "e.json"),
                      Contains("e.json: not valid JSON") && Contains("empty"));
    CHECK_THROWS_WITH(io::parse_json_text("[1e999]", "n.json"),
                      Contains("n.json: not valid JSON") && !Contains("json.exception"));
  }
}
