#pragma once
// What every subcommand shares: config files (TOML or JSON, keys = long flag names), the
// command line for run.json, list parsing for --layers/--scores.
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace actlens::cli {

// Adds --config FILE to `sub`, reading TOML (`layer = 22`) or JSON (`{"layer": 22}`).
void add_config_option(CLI::App& sub);

// Replaces "--config FILE" in `args` by the flags the file sets (those not already given).
// Throws UsageError for an unreadable or invalid file.
std::vector<std::string> expand_config(const std::vector<std::string>& args);

// The full command line as given, for run.json.
const std::vector<std::string>& command_line();
void set_command_line(int argc, char** argv);

// "10,22,30", "0-5", "all" -> layer indices; throws UsageError naming `flag` or Error with the
// valid range when an index is outside [0, n_layers).
std::vector<int> parse_layers(const std::string& spec, int n_layers, const std::string& flag);
// "2,3" -> {2, 3}
std::vector<int> parse_int_list(const std::string& spec, const std::string& flag);

// Sets OpenMP and OpenBLAS thread counts (0 = all cores).
void set_threads(int n);

}  // namespace actlens::cli
