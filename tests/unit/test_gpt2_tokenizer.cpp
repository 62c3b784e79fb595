// GPT-2 byte-level BPE tokenizer: ids equal to Hugging Face's for every corpus string of
// tests/reference/make_tokenizer_fixtures.py with the real GPT-2 vocabulary and a small trained
// one, round trips, a ~1 MB text, pathological inputs, and damaged vocabulary/merges files.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "actlens/error.hpp"
#include "actlens/io/gpt2_tokenizer.hpp"
#include "test_paths.hpp"

using actlens::Error;
using actlens::io::Gpt2Tokenizer;
namespace fs = std::filesystem;
using actlens::test::spit;
using nlohmann::json;

namespace {

fs::path tokenizer_dir() {
  return actlens::test::data_dir() / "tokenizer";
}

const json& expected() {
  static const json j = actlens::test::read_json(tokenizer_dir() / "expected.json");
  return j;
}

const Gpt2Tokenizer& gpt2() {
  static const Gpt2Tokenizer t = Gpt2Tokenizer::from_folder(tokenizer_dir() / "gpt2");
  return t;
}

const Gpt2Tokenizer& small() {
  static const Gpt2Tokenizer t = Gpt2Tokenizer::from_folder(tokenizer_dir() / "small");
  return t;
}

std::vector<std::string> corpus() {
  return expected().at("corpus").get<std::vector<std::string>>();
}

// The ~1 MB text of make_tokenizer_fixtures.py's big_text(): corpus strings picked by a 64-bit
// LCG, each followed by "\n" or " ".
std::string big_text(const std::vector<std::string>& strings) {
  std::uint64_t state = 12345;
  std::string text;
  while (text.size() < (std::size_t{1} << 20)) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    text += strings[(state >> 33) % strings.size()];
    text += ((state >> 20) & 1) ? "\n" : " ";
  }
  return text;
}

// FNV-1a 64 of the ids as little-endian int32, in hex (as the generator writes it).
std::string fnv1a64(const std::vector<std::int32_t>& ids) {
  std::uint64_t h = 0xCBF29CE484222325ULL;
  for (const std::int32_t id : ids) {
    const auto u = static_cast<std::uint32_t>(id);
    for (int k = 0; k < 4; ++k) {
      h ^= (u >> (8 * k)) & 0xFF;
      h *= 0x100000001B3ULL;
    }
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

// encoder.py's bytes_to_unicode() as UTF-8 strings, to write hand-made vocabularies.
std::vector<std::string> byte_tokens() {
  std::vector<std::string> out(256);
  unsigned next = 256;
  for (unsigned b = 0; b < 256; ++b) {
    const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
    const unsigned cp = printable ? b : next++;
    std::string s;
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
    out[b] = s;
  }
  return out;
}

// A tiny vocabulary: the 256 byte tokens (id = byte), "ab" (256), "abc" (257), "aa" (258), no
// "<|endoftext|>"; merges by rank "a b", "ab c", "a a".
json tiny_vocab() {
  json v = json::object();
  const auto bytes = byte_tokens();
  for (int b = 0; b < 256; ++b) v[bytes[static_cast<std::size_t>(b)]] = b;
  v["ab"] = 256;
  v["abc"] = 257;
  v["aa"] = 258;
  return v;
}
const char* const kTinyMerges = "#version: 0.2\na b\nab c\na a\n";

void write_tiny(const fs::path& dir, const json& vocab, const std::string& merges) {
  spit(dir / "vocab.json", vocab.dump());
  spit(dir / "merges.txt", merges);
}

// "61 FF" for "a\xFF", for messages about invalid UTF-8.
std::string hex_bytes(const std::string& s) {
  std::string out;
  for (const char ch : s) {
    char hex[4];
    std::snprintf(hex, sizeof hex, "%02X ", static_cast<unsigned char>(ch));
    out += hex;
  }
  return out;
}

// Runs `f`, which must throw an actlens::Error whose message contains every one of `parts`.
template <typename F>
void require_error(F&& f, const std::vector<std::string>& parts) {
  try {
    f();
    FAIL("expected an actlens::Error");
  } catch (const Error& e) {
    const std::string msg = e.what();
    INFO(msg);
    CHECK(msg.find('\n') == std::string::npos);
    for (const auto& p : parts) CHECK(msg.find(p) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("GPT-2 tokenizer gives Hugging Face's ids for every corpus string", "[io][tokenizer]") {
  const auto strings = corpus();
  for (const std::string name : {"gpt2", "small"}) {
    const Gpt2Tokenizer& tok = name == "gpt2" ? gpt2() : small();
    const json& want = expected().at("vocabularies").at(name);
    INFO("vocabulary " << name);
    CHECK(tok.vocab_size() == want.at("vocab_size").get<std::size_t>());
    CHECK(tok.eos_id() == want.at("eos_id").get<std::int32_t>());
    CHECK(tok.merge_count() == want.at("merge_count").get<std::size_t>());
    const json& ids = want.at("ids");
    REQUIRE(ids.size() == strings.size());
    for (std::size_t i = 0; i < strings.size(); ++i) {
      INFO("corpus[" << i << "] = " << json(strings[i]).dump());
      const std::vector<std::int32_t> got = tok.encode(strings[i]);
      CHECK(got == ids[i].get<std::vector<std::int32_t>>());
      CHECK(tok.decode(got) == strings[i]);
      // Without special tokens the text is plain text, equal to encode() where it has none.
      const std::string key = std::to_string(i);
      if (want.at("ordinary").contains(key)) {
        const std::vector<std::int32_t> plain = tok.encode_ordinary(strings[i]);
        CHECK(plain == want.at("ordinary").at(key).get<std::vector<std::int32_t>>());
        CHECK(tok.decode(plain) == strings[i]);
      } else {
        CHECK(tok.encode_ordinary(strings[i]) == got);
      }
    }
  }
}

TEST_CASE("GPT-2 tokenizer: known tokens, eos, both folder layouts", "[io][tokenizer]") {
  const Gpt2Tokenizer& tok = gpt2();
  CHECK(tok.eos_id() == 50256);
  CHECK(tok.vocab_size() == 50257);
  CHECK(tok.merge_count() == 50000);
  CHECK(tok.encode("Hello world") == std::vector<std::int32_t>{15496, 995});
  CHECK(tok.encode(" Hello world") == std::vector<std::int32_t>{18435, 995});
  CHECK(tok.token_text(995) == "\xC4\xA0world");  // "Ġworld"
  CHECK(tok.token_bytes(995) == " world");
  CHECK(tok.token_text(50256) == "<|endoftext|>");
  CHECK(tok.token_id("\xC4\xA0world") == 995);
  CHECK_FALSE(tok.token_id("no such token").has_value());
  CHECK(tok.encode("<|endoftext|>") == std::vector<std::int32_t>{50256});
  CHECK(tok.encode("").empty());
  CHECK(tok.decode({}).empty());
  // Ids that cut a character in two decode to its exact bytes, not to U+FFFD.
  const std::string emoji = "\xF0\x9F\x98\x80";  // U+1F600
  std::string joined;
  for (const std::int32_t id : tok.encode(emoji)) joined += tok.decode({id});
  CHECK(joined == emoji);

  // The small vocabulary is a Hugging Face folder; from_files takes either naming.
  const fs::path g = tokenizer_dir() / "gpt2";
  const Gpt2Tokenizer direct = Gpt2Tokenizer::from_files(g / "encoder.json", g / "vocab.bpe");
  CHECK(direct.encode("It's 3.14!") == tok.encode("It's 3.14!"));
  const Gpt2Tokenizer copy = small();  // shares the tables
  CHECK(copy.encode("the tokenizer") == small().encode("the tokenizer"));

  require_error([&] { (void)tok.decode({50257}); }, {"50257", "not in the vocabulary"});
  require_error([&] { (void)tok.decode({-1}); }, {"-1"});
  require_error([&] { (void)tok.token_text(1 << 30); }, {"not in the vocabulary"});
}

TEST_CASE("GPT-2 tokenizer: ~1 MB of text and pathological pre-tokens", "[io][tokenizer]") {
  const auto strings = corpus();
  const std::string text = big_text(strings);
  for (const std::string name : {"gpt2", "small"}) {
    // A fresh tokenizer, so the timing includes filling the BPE cache.
    const fs::path dir = tokenizer_dir() / name;
    const Gpt2Tokenizer tok = Gpt2Tokenizer::from_folder(dir);
    const json& want = expected().at("vocabularies").at(name);
    INFO("vocabulary " << name);
    REQUIRE(text.size() == want.at("big").at("bytes").get<std::size_t>());
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<std::int32_t> ids = tok.encode(text);
    const auto t1 = std::chrono::steady_clock::now();
    const std::string back = tok.decode(ids);
    const auto t2 = std::chrono::steady_clock::now();
    const auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
    std::cout << "gpt2 tokenizer (" << name << " vocabulary): encode " << text.size()
              << " bytes -> " << ids.size() << " ids in " << ms(t1 - t0) << " ms, decode in "
              << ms(t2 - t1) << " ms\n";
    CHECK(ids.size() == want.at("big").at("count").get<std::size_t>());
    CHECK(fnv1a64(ids) == want.at("big").at("fnv1a64").get<std::string>());
    CHECK(back == text);

    const json& stress = expected().at("stress");
    for (std::size_t i = 0; i < stress.size(); ++i) {
      std::string s;
      const auto unit = stress[i][0].get<std::string>();
      for (int r = 0; r < stress[i][1].get<int>(); ++r) s += unit;
      s += stress[i][2].get<std::string>();
      INFO("stress " << json(unit).dump() << " x " << stress[i][1]);
      const std::vector<std::int32_t> got = tok.encode(s);
      CHECK(got.size() == want.at("stress")[i].at("count").get<std::size_t>());
      CHECK(fnv1a64(got) == want.at("stress")[i].at("fnv1a64").get<std::string>());
      CHECK(tok.decode(got) == s);
    }
  }
}

TEST_CASE("GPT-2 tokenizer is safe to share between threads", "[io][tokenizer]") {
  const auto strings = corpus();
  const Gpt2Tokenizer tok = Gpt2Tokenizer::from_folder(tokenizer_dir() / "gpt2");
  const json& ids = expected().at("vocabularies").at("gpt2").at("ids");
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < mismatches.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round)
        for (std::size_t i = (t + static_cast<std::size_t>(round)) % strings.size(), n = 0;
             n < strings.size(); ++n, i = (i + 1) % strings.size())
          if (tok.encode(strings[i]) != ids[i].get<std::vector<std::int32_t>>()) ++mismatches[t];
    });
  }
  for (auto& th : threads) th.join();
  CHECK(mismatches == std::vector<int>(4, 0));
}

TEST_CASE("GPT-2 tokenizer rejects invalid UTF-8 and names the byte", "[io][tokenizer]") {
  const Gpt2Tokenizer& tok = gpt2();
  struct Case {
    std::string text, offset;
  };
  const std::vector<Case> cases = {
      {"ab\xFF", "byte 2"},              // never valid
      {"\xC3", "byte 0"},                // truncated 2-byte sequence
      {"x\xC0\xAF", "byte 1"},           // overlong "/"
      {"\xE0\x80\xAF", "byte 0"},        // overlong 3-byte
      {"ok \xED\xA0\x80", "byte 3"},     // UTF-16 surrogate U+D800
      {"\xF4\x90\x80\x80", "byte 0"},    // above U+10FFFF
      {"\xE2\x82", "byte 0"},            // truncated euro sign
      {"a\x80", "byte 1"},               // lone continuation byte
      {"<|endoftext|>\xFE", "byte 13"},  // also after a special token
  };
  for (const auto& c : cases) {
    INFO("bytes " << hex_bytes(c.text));
    require_error([&] { (void)tok.encode(c.text); }, {"not valid UTF-8", c.offset});
    require_error([&] { (void)tok.encode_ordinary(c.text); }, {"not valid UTF-8"});
  }
  // The extremes of valid UTF-8 are accepted.
  const std::string edges =
      "\x7F\xC2\x80\xDF\xBF\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80\xEF\xBF\xBF"
      "\xF0\x90\x80\x80\xF4\x8F\xBF\xBF";
  CHECK(tok.decode(tok.encode(edges)) == edges);
  // NUL is a character like any other.
  const std::string nul("a\0b", 3);
  CHECK(tok.decode(tok.encode(nul)) == nul);
}

TEST_CASE("GPT-2 tokenizer: a vocabulary without <|endoftext|> gets it appended",
          "[io][tokenizer]") {
  const fs::path dir = actlens::test::scratch_dir("gpt2_tokenizer_tiny");
  write_tiny(dir, tiny_vocab(), kTinyMerges);
  const Gpt2Tokenizer tok = Gpt2Tokenizer::from_folder(dir);
  CHECK(tok.eos_id() == 259);
  CHECK(tok.vocab_size() == 260);
  CHECK(tok.merge_count() == 3);
  CHECK(tok.encode("abcab<|endoftext|>") == std::vector<std::int32_t>{257, 256, 259});
  CHECK(tok.decode({257, 259}) == "abc<|endoftext|>");
  // The lowest rank merges first: "a a" (rank 2) waits for "a b" (rank 0).
  CHECK(tok.encode("aab") == std::vector<std::int32_t>{'a', 256});
  // All occurrences of a pair merge left to right, without overlapping.
  CHECK(tok.encode("aaa") == std::vector<std::int32_t>{258, 'a'});
  CHECK(tok.encode("aaaaa") == std::vector<std::int32_t>{258, 258, 'a'});

  // A header-less merges file with Windows line ends and blank lines reads the same.
  write_tiny(dir, tiny_vocab(), "a b\r\n\r\nab c\r\na a");
  CHECK(Gpt2Tokenizer::from_folder(dir).encode("abc") == std::vector<std::int32_t>{257});
}

TEST_CASE("GPT-2 tokenizer: missing or damaged files are errors that name the file",
          "[io][tokenizer]") {
  const fs::path dir = actlens::test::scratch_dir("gpt2_tokenizer_bad");
  const fs::path vocab = dir / "vocab.json", merges = dir / "merges.txt";
  const auto load = [&] { (void)Gpt2Tokenizer::from_files(vocab, merges); };

  SECTION("missing files and folders") {
    write_tiny(dir, tiny_vocab(), kTinyMerges);
    require_error([&] { (void)Gpt2Tokenizer::from_files(dir / "nope.json", merges); },
                  {(dir / "nope.json").string(), "no such file"});
    require_error([&] { (void)Gpt2Tokenizer::from_files(vocab, dir / "nope.txt"); },
                  {(dir / "nope.txt").string(), "no such file"});
    require_error([&] { (void)Gpt2Tokenizer::from_folder(dir / "absent"); },
                  {(dir / "absent").string(), "no such folder"});
    fs::remove(merges);
    require_error([&] { (void)Gpt2Tokenizer::from_folder(dir); },
                  {dir.string(), "vocab.json + merges.txt", "encoder.json + vocab.bpe"});
  }
  SECTION("truncated or malformed vocabulary JSON") {
    const std::string full = tiny_vocab().dump();
    spit(merges, kTinyMerges);
    spit(vocab, full.substr(0, full.size() / 2));
    require_error(load, {vocab.string(), "not valid JSON"});
    spit(vocab, "");
    require_error(load, {vocab.string(), "not valid JSON"});
    spit(vocab, "[1, 2, 3]");
    require_error(load, {vocab.string(), "JSON object"});
    json v = tiny_vocab();
    v["ab"] = "256";
    spit(vocab, v.dump());
    require_error(load, {vocab.string(), "\"ab\"", "integer"});
    v["ab"] = -3;
    spit(vocab, v.dump());
    require_error(load, {vocab.string(), "\"ab\""});
    v["ab"] = 257;  // same id as "abc"
    spit(vocab, v.dump());
    require_error(load, {vocab.string(), "share id 257"});
    v = tiny_vocab();
    v.erase("a");
    spit(vocab, v.dump());
    require_error(load, {vocab.string(), "byte 0x61"});
  }
  SECTION("merges with a bad line") {
    spit(vocab, tiny_vocab().dump());
    for (const std::string bad : {"a\n", "a b c\n", "a  b\n", " a\n", "a \n"}) {
      INFO(json(bad).dump());
      spit(merges, std::string("#version: 0.2\na b\n") + bad);
      require_error(load, {merges.string(), "line 3", "two tokens"});
    }
    spit(merges, "#version: 0.2\na b\nab z\n");  // "abz" is not in the vocabulary
    require_error(load, {merges.string(), "line 3", "\"abz\"", vocab.string()});
    spit(merges, "#version: 0.2\nq \xC4\xA0zz\n");
    require_error(load, {merges.string(), "line 2", "not in"});
  }
}
