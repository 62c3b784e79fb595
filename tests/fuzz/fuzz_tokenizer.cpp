// libFuzzer target: io::Gpt2Tokenizer::encode / encode_ordinary with the real GPT-2 files
// (tests/data/tokenizer/gpt2) on arbitrary bytes.
// Feeds: the input as text. Checks, beyond "no crash":
//   - valid UTF-8 (io::is_valid_utf8) is encoded, invalid UTF-8 is an actlens::Error;
//   - decode(encode_ordinary(x)) == x and decode(encode(x)) == x, byte for byte;
//   - every id is in [0, vocab_size()).
// Failure: a crash, a sanitizer report, any exception other than the Error for invalid UTF-8,
// a broken check (abort), a hang or unbounded memory.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "actlens/io/gpt2_tokenizer.hpp"
#include "actlens/io/text_corpus.hpp"
#include "fuzz_common.hpp"

namespace {

const actlens::io::Gpt2Tokenizer& tokenizer() {
  static const auto tok = actlens::io::Gpt2Tokenizer::from_folder(
      std::filesystem::path(ACTLENS_FUZZ_DATA_DIR) / "tokenizer" / "gpt2");
  return tok;
}

[[noreturn]] void fail(const char* what, std::string_view text) {
  std::fprintf(stderr, "fuzz_tokenizer: %s (input of %zu bytes)\n", what, text.size());
  std::abort();
}

void check(const std::vector<std::int32_t>& ids, std::string_view text) {
  for (auto id : ids)
    if (id < 0 || static_cast<std::size_t>(id) >= tokenizer().vocab_size())
      fail("id outside the vocabulary", text);
  if (tokenizer().decode(ids) != text) fail("decode(encode(x)) != x", text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto& tok = tokenizer();
  if (actlens::io::is_valid_utf8(text)) {
    check(tok.encode_ordinary(text), text);
    check(tok.encode(text), text);
    return 0;
  }
  for (int pass = 0; pass < 2; ++pass) {
    bool rejected = false;
    try {
      (void)(pass ? tok.encode(text) : tok.encode_ordinary(text));
    } catch (const actlens::Error&) {
      rejected = true;
    }
    if (!rejected) fail("invalid UTF-8 was encoded", text);
  }
  return 0;
}
