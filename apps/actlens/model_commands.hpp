#pragma once
// The commands that run a model (capture, train, beliefs, steer) link LibTorch and live in the
// second binary, actlens-torch (see CMakeLists.txt). main() is the same for both binaries and
// reaches them only through this interface: torch/model_commands.cpp implements it in
// actlens-torch, stub/model_commands.cpp in actlens (which lists the commands and execs
// actlens-torch for them). No LibTorch header is included outside model/ and torch/.
#include <exception>
#include <string>
#include <vector>

#include "commands/commands.hpp"

namespace actlens::cli {

// In actlens: when argv names a model command, execs actlens-torch (never returns); else returns.
// In actlens-torch: returns.
void dispatch_model_command(int argc, char** argv);

// The registrations of the model commands (stubs that only show in --help, in actlens).
std::vector<Runner (*)(CLI::App&)> model_commands();

// The one-line message for an exception a model command threw (LibTorch's errors without their
// backtrace); empty when `e` is not one of LibTorch's.
std::string model_error_message(const std::exception& e);

}  // namespace actlens::cli
