#pragma once
// What every subcommand shares: config files (TOML or JSON, keys = long flag names), the
// command line for run.json, list parsing for --layers/--scores.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "actlens/report/figure.hpp"

namespace actlens::report {
class RunInfo;
}

namespace actlens::cli {

// Adds --config FILE to `sub`, reading TOML (`layer = 22`) or JSON (`{"layer": 22}`).
void add_config_option(CLI::App& sub);

// Replaces "--config FILE" in `args` by the flags the file sets (those not already given).
// Throws UsageError for an unreadable or invalid file.
std::vector<std::string> expand_config(const std::vector<std::string>& args);
// Throws UsageError naming the --config file when one of its keys is not an option of `sub`
// (called before parsing, so the message names the file rather than a stray flag).
void check_config_keys(const CLI::App& sub);

// The full command line as given, for run.json.
const std::vector<std::string>& command_line();
void set_command_line(int argc, char** argv);

// "10,22,30", "0-5", "all" -> layer indices; throws UsageError naming `flag` or Error with the
// valid range when an index is outside [0, n_layers).
std::vector<int> parse_layers(const std::string& spec, int n_layers, const std::string& flag);
// "2,3" -> {2, 3}
std::vector<int> parse_int_list(const std::string& spec, const std::string& flag);

// --no-figures, --plotly, --png: the figures every analysis draws (report/figure_sets.hpp).
struct FigureFlags {
  bool none = false;
  std::string plotly;  // empty: $ACTLENS_PLOTLY, else auto
  bool png = false;
};
void add_figure_options(CLI::App& sub, FigureFlags& f);
// --plotly and --png alone (actlens report has no --no-figures).
void add_plotly_options(CLI::App& sub, FigureFlags& f);
// The figure options the flags (or ACTLENS_PLOTLY) ask for; UsageError for a bad value.
report::FigureOptions figure_options(const FigureFlags& f);
// Draws the figures of `command` from the results staged in `dir` (the run folder will be
// `target`) and records them in run.json; prints where the index page will be.
void draw_figures(const std::string& command, const std::filesystem::path& dir,
                  const std::filesystem::path& target, const FigureFlags& f, report::RunInfo& info);

// Sets OpenMP and OpenBLAS thread counts (0 = all cores).
void set_threads(int n);

// --threads takes 0 (all cores) .. kMaxThreads; a negative or larger value is a usage error
// raised while parsing, before any work (more threads than that only thrash the machine).
inline constexpr int kMaxThreads = 1024;
// Adds --threads to `sub` with that check; `help` is the flag's own text, the bounds are added.
CLI::Option* add_threads_option(CLI::App& sub, int& threads, const std::string& help);

// A check for an integer option: a whole decimal number in [lo, hi], else "<flag>: must be an
// integer lo..hi, got 'TEXT'" (`why` may explain the upper bound).
CLI::Validator int_range(long long lo, long long hi, const std::string& why = "");
// A check for a word option: one of `words`, else "<flag>: use 'a', 'b' or 'c', got 'TEXT'".
CLI::Validator one_of(const std::vector<std::string>& words);
// A check for a number option: a finite number in [lo, hi] ("must be a number in lo..hi").
CLI::Validator number_range(double lo, double hi, const std::string& why = "");

}  // namespace actlens::cli
