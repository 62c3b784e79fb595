// libFuzzer target: io::read_process_json (hidden Markov process definitions, JSON), then
// io::process_to_json and process_from_json on the result (the round trip must hold).
// Feeds: the input as the process .json file.
// Failure: anything but success or actlens::Error / UsageError / std::invalid_argument (the core
// layer's validation error): a crash, a sanitizer report, another exception (an escaping
// nlohmann::json::exception included), a hang or unbounded memory.
#include <cstddef>
#include <cstdint>

#include "actlens/io/process_json.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = actlens::fuzz::write_file("process.json", data, size);
  actlens::fuzz::expect_ok_or_rejected([&] {
    const auto p = actlens::io::read_process_json(path);
    (void)p.transition_matrix();
    (void)p.is_unifilar();
    const auto j = actlens::io::process_to_json(p);
    (void)actlens::io::process_from_json(j, "fuzz round trip");
  });
  return 0;
}
