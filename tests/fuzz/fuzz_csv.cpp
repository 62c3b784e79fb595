// libFuzzer target: io::read_csv (RFC 4180) and the readers built on it: io::read_labels (a
// labels .csv, column "label"), io::read_word_list (a word-list .csv, column "word").
// Feeds: the input as a .csv file.
// Failure: anything but success or actlens::Error / UsageError / std::invalid_argument: a crash,
// a sanitizer report, another exception, a hang or unbounded memory. Also a table whose rows do
// not all have the header's width (read_csv promises to reject ragged rows).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "actlens/io/csv.hpp"
#include "actlens/io/embeddings.hpp"
#include "actlens/io/plain_activations.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = actlens::fuzz::write_file("labels.csv", data, size);
  actlens::fuzz::expect_ok_or_rejected([&] {
    const auto t = actlens::io::read_csv(path);
    for (const auto& row : t.rows)
      if (row.size() != t.header.size()) {
        std::fprintf(stderr, "fuzz_csv: a row of %zu fields under a header of %zu\n", row.size(),
                     t.header.size());
        std::abort();
      }
    (void)t.column("label");
  });
  actlens::fuzz::expect_ok_or_rejected([&] { (void)actlens::io::read_labels(path, "label"); });
  actlens::fuzz::expect_ok_or_rejected([&] { (void)actlens::io::read_word_list(path.string()); });
  return 0;
}
