// libFuzzer target: io::read_text_corpus (texts to run a model on: .csv, .jsonl or .txt).
// Feeds: byte 0 picks the extension (0 .jsonl, 1 .csv, 2 .txt, by value mod 3) and whether the
// label is required (bit 7); the rest is the file. Every text read must be valid UTF-8.
// Failure: anything but success or actlens::Error / UsageError / std::invalid_argument: a crash,
// a sanitizer report, another exception (an escaping nlohmann::json::exception included), a
// returned text that is not valid UTF-8, a hang or unbounded memory.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "actlens/io/text_corpus.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::uint8_t mode = actlens::fuzz::take_byte(data, size);
  static const char* const names[] = {"corpus.jsonl", "corpus.csv", "corpus.txt"};
  const auto path = actlens::fuzz::write_file(names[(mode & 0x7f) % 3], data, size);
  actlens::io::TextCorpusOptions o;
  o.label_required = (mode & 0x80) != 0;
  actlens::fuzz::expect_ok_or_rejected([&] {
    for (const auto& r : actlens::io::read_text_corpus(path, o))
      if (!actlens::io::is_valid_utf8(r.text)) {
        std::fprintf(stderr, "fuzz_text_corpus: a text that is not valid UTF-8\n");
        std::abort();
      }
  });
  return 0;
}
