#pragma once
// Subcommands that run a model with LibTorch; only actlens-torch has them (commands.hpp lists
// the others, which both binaries have).
#include "commands/commands.hpp"

namespace actlens::cli {

Runner register_capture(CLI::App& app);
Runner register_train(CLI::App& app);
Runner register_beliefs(CLI::App& app);
Runner register_steer(CLI::App& app);

// LibTorch's intra-op threads: n, or every core for 0 (Debian's LibTorch starts with one).
void set_torch_threads(int n);

}  // namespace actlens::cli
