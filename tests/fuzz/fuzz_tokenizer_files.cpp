// libFuzzer target: io::Gpt2Tokenizer::from_files (vocab.json + merges.txt), then a short encode,
// decode and token lookups with whatever tokenizer the files make.
// Feeds: "<vocab.json bytes>\n@@MERGES@@\n<merges.txt bytes>" (no separator: empty merges).
// Failure: anything but success or actlens::Error / UsageError / std::invalid_argument: a crash,
// a sanitizer report, another exception, a hang or unbounded memory.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "actlens/io/gpt2_tokenizer.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto [vocab, merges] = actlens::fuzz::split(data, size, "\n@@MERGES@@\n");
  const auto vocab_path = actlens::fuzz::write_file("vocab.json", vocab);
  const auto merges_path = actlens::fuzz::write_file("merges.txt", merges);
  actlens::fuzz::expect_ok_or_rejected([&] {
    const auto tok = actlens::io::Gpt2Tokenizer::from_files(vocab_path, merges_path);
    (void)tok.merge_count();
    const auto n = tok.vocab_size();
    const auto eos = tok.eos_id();
    for (std::int32_t id = 0; id < 64 && static_cast<std::size_t>(id) < n; ++id) {
      actlens::fuzz::expect_ok_or_rejected([&] {
        const std::string text = tok.token_text(id);
        (void)tok.token_bytes(id);
        (void)tok.token_id(text);
      });
    }
    actlens::fuzz::expect_ok_or_rejected([&] { (void)tok.token_text(eos); });
    actlens::fuzz::expect_ok_or_rejected([&] {
      const auto ids = tok.encode("Hello world, it's 2024!<|endoftext|> caf\xC3\xA9  \n\ttabs");
      (void)tok.decode(ids);
    });
    actlens::fuzz::expect_ok_or_rejected([&] { (void)tok.decode({-1, 0, eos}); });
  });
  return 0;
}
