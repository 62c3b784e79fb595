// actlens (no LibTorch): the model commands show in --help and run in actlens-torch.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>

#include "model_commands.hpp"

namespace actlens::cli {
namespace {

const std::set<std::string>& torch_commands() {
  static const std::set<std::string> names = {"capture", "train", "beliefs", "steer"};
  return names;
}

// Listed in `actlens --help`; never parsed here (dispatch_model_command execs first).
Runner register_torch_stub(CLI::App& app) {
  app.add_subcommand("capture",
                     "Run a Hugging Face GPT-2 model on texts and save activations at "
                     "TransformerLens hook points (runs actlens-torch)");
  app.add_subcommand("train",
                     "Train a TransformerLens-style transformer on sequences of a process "
                     "(runs actlens-torch)");
  app.add_subcommand("beliefs",
                     "Regress a trained model's residual streams onto the Bayesian belief states "
                     "(runs actlens-torch)");
  app.add_subcommand("steer",
                     "Add a steering vector at chosen hooks and report next-token probabilities "
                     "(runs actlens-torch)");
  return [] { return 0; };
}

}  // namespace

// `actlens capture ...` -> exec `actlens-torch capture ...` from the same folder (the
// OPENBLAS_CORETYPE choice is already in the environment, so it does not re-exec again).
void dispatch_model_command(int argc, char** argv) {
  std::string command;
  for (int i = 1; i < argc && command.empty(); ++i)
    if (argv[i][0] != '-') command = argv[i];  // global flags (-v, -q) take no values
  if (!torch_commands().count(command)) return;
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  const auto sibling = self.parent_path() / "actlens-torch";
  if (ec || !std::filesystem::exists(sibling)) {
    std::fprintf(stderr,
                 "actlens %s: error: this command runs a model and needs actlens-torch (LibTorch) "
                 "next to actlens, at %s; build it with scripts/build\n",
                 command.c_str(), sibling.c_str());
    std::exit(1);
  }
  ::execv(sibling.c_str(), argv);
  std::fprintf(stderr, "actlens %s: error: cannot run %s: %s\n", command.c_str(), sibling.c_str(),
               std::strerror(errno));
  std::exit(1);
}

std::vector<Runner (*)(CLI::App&)> model_commands() {
  return {register_torch_stub};
}

std::string model_error_message(const std::exception&) {
  return {};
}

}  // namespace actlens::cli
