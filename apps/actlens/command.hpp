#pragma once
// The skeleton every command shares. A command declares itself with Command::add (which adds the
// common flags: --threads, -o/--out, the figure flags and --config, each with one help text),
// adds its own options, and runs as parse -> cmd.start() -> load -> cmd.output() -> compute ->
// write into cmd.output().path() -> cmd.finish(). finish() draws the figures, records every
// option of the command line (given or defaulted, walked from CLI11, so none can be forgotten)
// under run.json's "options", writes run.json and commits the results folder.
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "actlens/report/output_dir.hpp"
#include "actlens/report/run_info.hpp"
#include "cli_common.hpp"
#include "commands/commands.hpp"

namespace actlens::cli {

struct CommandSpec {
  std::string name;         // the subcommand ("lda"); nested ones are added to their parent
  std::string description;  // one line for --help
  std::string out_default;  // "results/lda"; empty: no --out (the command writes no folder)
  std::string out_help = "Output folder (replaced atomically)";
  bool figures = true;  // --no-figures, --plotly, --png
  bool threads = true;  // --threads
};

class Command : public std::enable_shared_from_this<Command> {
 public:
  // Adds subcommand spec.name to `parent` with the common flags.
  static std::shared_ptr<Command> add(CLI::App& parent, CommandSpec spec);

  CLI::App& app() const { return *app_; }

  // The common flags, once parsed.
  int threads() const { return threads_; }
  const std::string& out() const { return out_; }
  const FigureFlags& figures() const { return figures_; }

  // The run begins: thread counts set (OpenMP, BLAS and, in actlens-torch, LibTorch), run.json
  // started with `label` as its command (default: the subcommand's path, "process beliefs").
  report::RunInfo& start(const std::string& label = "");
  report::RunInfo& info();
  // The results folder (--out): validated and locked on first use, so call it before the long
  // work; files go under output().path(), the staging folder.
  report::OutputDir& output();
  // Draws the figures (unless --no-figures), records the options, writes run.json, commits the
  // folder and logs where the results are. `keep_interrupted`: see OutputDir::commit.
  int finish(bool keep_interrupted = false);
  // Fills run.json's "options" (finish() does this; for commands that write run.json themselves).
  void record_options();

  // The Runner main() calls once this subcommand was parsed (it keeps the Command alive).
  Runner runner(std::function<int(Command&)> run);

 private:
  Command(CLI::App* app, CommandSpec spec) : app_(app), spec_(std::move(spec)) {}
  std::string label() const;

  CLI::App* app_;
  CommandSpec spec_;
  int threads_ = 0;
  std::string out_;
  FigureFlags figures_;
  std::optional<report::RunInfo> info_;
  std::optional<report::OutputDir> output_;
};

// Every option of `app` (not --help/--config), given or defaulted, keyed by its long name with
// '-' as '_' ("min_samples"): numbers as numbers, flags as booleans, repeatable options as
// arrays, an option with neither value nor default as null.
nlohmann::json parsed_options(const CLI::App& app);

// actlens-torch sets LibTorch's thread count here; Command::start() calls it with --threads.
void set_thread_hook(void (*hook)(int));

}  // namespace actlens::cli
