// libFuzzer target: the CLI's --config reader (apps/actlens/cli_common.cpp: cli::expand_config,
// TOML through toml++ or JSON through nlohmann, keys = long flag names).
// Feeds: the input as the config file of `actlens lda --config FILE --layer 3`.
// Failure: anything but success or actlens::Error / UsageError / std::invalid_argument (bad
// configs are UsageErrors): a crash, a sanitizer report, another exception (an escaping
// toml::parse_error or nlohmann::json::exception included), a hang or unbounded memory.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cli_common.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = actlens::fuzz::write_file("config.toml", data, size);
  actlens::fuzz::expect_ok_or_rejected([&] {
    (void)actlens::cli::expand_config(
        {"actlens", "lda", "--config", path.string(), "--layer", "3"});
  });
  return 0;
}
