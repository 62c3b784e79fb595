// libFuzzer target: the judge-score JSON reader of io::RoleDataset (read_scores in
// src/io/role_dataset.cpp is file-static, so it is reached through RoleDataset::open).
// Feeds: the input as extract_scores/alpha.json of a one-role dataset whose
// response_activations/alpha.pt is a valid fixture (tests/data/bad/nan_roles/.../alpha.pt, copied
// into the scratch folder once). Opening then reads and checks the scores against the tensors.
// Failure: anything but success or actlens::Error / UsageError / std::invalid_argument: a crash,
// a sanitizer report, another exception (an escaping nlohmann::json::exception included), a hang
// or unbounded memory.
#include <cstddef>
#include <cstdint>
#include <filesystem>

#include "actlens/io/role_dataset.hpp"
#include "fuzz_common.hpp"

namespace {

std::filesystem::path dataset() {
  static const std::filesystem::path dir = [] {
    const auto d = actlens::fuzz::scratch_dir() / "roles";
    std::filesystem::create_directories(d / "response_activations");
    std::filesystem::create_directories(d / "extract_scores");
    std::filesystem::copy_file(std::filesystem::path(ACTLENS_FUZZ_DATA_DIR) / "bad" / "nan_roles" /
                                   "response_activations" / "alpha.pt",
                               d / "response_activations" / "alpha.pt",
                               std::filesystem::copy_options::overwrite_existing);
    return d;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto dir = dataset();
  actlens::fuzz::write_file("roles/extract_scores/alpha.json", data, size);
  actlens::io::RoleDatasetOptions o;
  o.min_samples = 1;
  o.scores = {0, 1, 2, 3};
  actlens::fuzz::expect_ok_or_rejected([&] {
    const auto ds = actlens::io::RoleDataset::open(dir, o);
    (void)ds->describe();
    (void)ds->n_samples();
  });
  return 0;
}
