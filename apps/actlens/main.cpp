// actlens: observational interpretability analyses from the command line.
// main() owns error reporting: every failure becomes one line on stderr and an exit code
// (0 ok, 1 data/runtime error, 2 usage error); nothing escapes as an abort or a trace.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <string>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "actlens/core/error.hpp"
#include "actlens/report/interrupt.hpp"
#include "actlens/report/progress.hpp"
#include "blas_setup.hpp"
#include "cli_common.hpp"
#include "commands/commands.hpp"
#ifdef ACTLENS_WITH_MODEL
#include <c10/util/Exception.h>

#include "torch_commands.hpp"
#endif

namespace {

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

int fail(const std::string& cmd, const std::string& msg, int code) {
  std::fprintf(stderr, "actlens%s: error: %s\n", cmd.empty() ? "" : (" " + cmd).c_str(),
               one_line(msg).c_str());
  return code;
}

#ifndef ACTLENS_WITH_MODEL
// Commands that run a model live in actlens-torch (it links LibTorch; see CMakeLists.txt).
const std::set<std::string>& torch_commands() {
  static const std::set<std::string> names = {"capture", "train", "beliefs", "steer"};
  return names;
}

// `actlens capture ...` -> exec `actlens-torch capture ...` from the same folder (the
// OPENBLAS_CORETYPE choice is already in the environment, so it does not re-exec again).
void dispatch_to_torch_binary(int argc, char** argv) {
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

// Listed in `actlens --help`; never parsed here (dispatch_to_torch_binary execs first).
actlens::cli::Runner register_torch_stub(CLI::App& app) {
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
#endif

}  // namespace

int main(int argc, char** argv) {
  actlens::cli::ensure_blas_kernels(argv);
#ifndef ACTLENS_WITH_MODEL
  dispatch_to_torch_binary(argc, argv);
#endif
  actlens::cli::set_command_line(argc, argv);
  CLI::App app{
      "actlens: activation analyses for mechanistic interpretability (LDA, PCA, GED, RSA, t-SNE, "
      "DBSCAN, ...)"};
  app.set_version_flag("--version", std::string(ACTLENS_VERSION));
  app.require_subcommand(1);
  app.fallthrough();
  int verbose = 0;
  bool quiet = false;
  app.add_flag("-v,--verbose", verbose, "More log output (-vv for trace)");
  app.add_flag("-q,--quiet", quiet, "Only errors on stderr; no progress bars");

  std::map<CLI::App*, actlens::cli::Runner> runners;
  auto add = [&](actlens::cli::Runner (*reg)(CLI::App&)) {
    const auto before = app.get_subcommands({});
    auto runner = reg(app);
    for (auto* sub : app.get_subcommands({}))
      if (std::find(before.begin(), before.end(), sub) == before.end()) runners[sub] = runner;
  };
  add(actlens::cli::register_lda);
#ifdef ACTLENS_WITH_MODEL
  add(actlens::cli::register_capture);
  add(actlens::cli::register_train);
  add(actlens::cli::register_beliefs);
  add(actlens::cli::register_steer);
#else
  add(register_torch_stub);
#endif
  add(actlens::cli::register_pca);
  add(actlens::cli::register_ged);
  add(actlens::cli::register_rsa);
  add(actlens::cli::register_tsne);
  add(actlens::cli::register_dbscan);
  add(actlens::cli::register_cluster);
  add(actlens::cli::register_corpus);
  add(actlens::cli::register_compare);
  add(actlens::cli::register_process);
  add(actlens::cli::register_report);

  std::string cmd;
  try {
    // --config FILE becomes ordinary flags first (CLI11 only reads configs at the top level).
    auto args = actlens::cli::expand_config(std::vector<std::string>(argv, argv + argc));
    std::vector<char*> cargs;
    for (auto& a : args) cargs.push_back(a.data());
    app.parse(static_cast<int>(cargs.size()), cargs.data());
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help / --version
  } catch (const CLI::ParseError& e) {
    for (auto* sub : app.get_subcommands()) cmd = sub->get_name();
    return fail(cmd, std::string(e.what()) + " (see --help)", 2);
  } catch (const std::exception& e) {
    return fail(cmd, e.what(), 2);
  }

  auto logger = spdlog::stderr_color_mt("actlens");
  logger->set_pattern("[%T] %^%l%$ %v");
  logger->set_level(quiet          ? spdlog::level::err
                    : verbose >= 2 ? spdlog::level::trace
                    : verbose == 1 ? spdlog::level::debug
                                   : spdlog::level::info);
  spdlog::set_default_logger(logger);
  actlens::report::Progress::set_quiet(quiet);
  actlens::report::install_interrupt_handlers();

  for (auto& [sub, run] : runners) {
    if (!sub->parsed()) continue;
    cmd = sub->get_name();
    try {
      return run();
    } catch (const actlens::report::Interrupted& e) {
      return fail(cmd, e.what(), 130);
    } catch (const actlens::UsageError& e) {
      return fail(cmd, e.what(), 2);
    } catch (const actlens::Error& e) {
      return fail(cmd, e.what(), 1);
#ifdef ACTLENS_WITH_MODEL
    } catch (const c10::Error& e) {  // LibTorch's own errors: the message, not its backtrace
      return fail(cmd, std::string("LibTorch: ") + e.what_without_backtrace(), 1);
#endif
    } catch (const std::bad_alloc&) {
      return fail(cmd, "out of memory; select fewer layers or use a smaller input", 1);
    } catch (const std::exception& e) {
      return fail(cmd, e.what(), 1);
    } catch (...) {
      return fail(cmd, "unexpected internal error", 1);
    }
  }
  return fail("", "no command given (see --help)", 2);
}
