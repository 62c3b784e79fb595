#pragma once
// Every command of the program, registered in --help order. main() and the CLI tests (which walk
// each command's options) build the same command tree from here.
#include <map>

#include <CLI/CLI.hpp>

#include "commands/commands.hpp"

namespace actlens::cli {

// Adds every command to `app`; maps each top-level subcommand to the function that runs it.
std::map<CLI::App*, Runner> register_commands(CLI::App& app);

}  // namespace actlens::cli
