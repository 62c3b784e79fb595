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
#include <memory>
#include <set>
#include <string>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "actlens/error.hpp"
#include "actlens/report/interrupt.hpp"
#include "actlens/report/progress.hpp"
#include "blas_setup.hpp"
#include "cli_common.hpp"
#include "model_commands.hpp"
#include "protect_inputs.hpp"
#include "registry.hpp"

namespace {

// Control characters (a file name holding "\nerror: ...", a terminal escape) are shown escaped,
// so that a message is always exactly one visible line.
std::string one_line(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\t')
      out += "\\t";
    else if (c < 0x20 || c == 0x7f) {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += ch;
    }
  }
  return out;
}

// The log message with control characters escaped as in one_line (%* in the log pattern): a
// file name in a log line cannot fake a second line either.
class EscapedMessage : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string s = one_line(std::string(msg.payload.data(), msg.payload.size()));
    dest.append(s.data(), s.data() + s.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<EscapedMessage>();
  }
};

// CLI11's messages in plain words: what to change on the command line.
std::string plain_parse_error(const CLI::ParseError& e, const std::string& commands) {
  std::string m = e.what();
  if (m == "A subcommand is required") return "no command given; commands: " + commands;
  // "--layer: 1 required INT missing" -> "--layer: needs a value"
  if (const auto at = m.find(" required "); at != std::string::npos && m.ends_with(" missing")) {
    const auto colon = m.find(": ");
    if (colon != std::string::npos && colon < at) return m.substr(0, colon) + ": needs a value";
  }
  return m;
}

int fail(const std::string& cmd, const std::string& msg, int code) {
  std::fprintf(stderr, "actlens%s: error: %s\n", cmd.empty() ? "" : (" " + cmd).c_str(),
               one_line(msg).c_str());
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  actlens::cli::ensure_blas_kernels(argv);
  actlens::cli::dispatch_model_command(argc, argv);
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

  const auto runners = actlens::cli::register_commands(app);

  std::string commands;
  auto is_command = [&](const std::string& word) {
    for (const auto* sub : app.get_subcommands({}))
      if (!sub->get_name().empty() && sub->check_name(word)) return true;
    return false;
  };
  for (const auto* sub : app.get_subcommands({}))
    if (!sub->get_name().empty()) commands += (commands.empty() ? "" : ", ") + sub->get_name();
  std::string cmd;
  try {
    // --config FILE becomes ordinary flags first (CLI11 only reads configs at the top level).
    auto args = actlens::cli::expand_config(std::vector<std::string>(argv, argv + argc));
    // The first word that is not a global flag names the command: an unknown one is refused
    // here, with the list, rather than as CLI11's "A subcommand is required".
    for (std::size_t i = 1; i < args.size(); ++i) {
      const std::string& a = args[i];
      if (!a.empty() && a[0] == '-') continue;  // -v, -q, --help, --version take no values
      if (!is_command(a)) return fail("", "unknown command '" + a + "'; commands: " + commands, 2);
      cmd = a;
      // --config keys must be options of the (innermost) subcommand, e.g. `corpus filter`.
      CLI::App* sub = app.get_subcommand(a);
      for (std::size_t j = i + 1; j < args.size(); ++j) {
        if (args[j].empty() || args[j][0] == '-') continue;
        CLI::App* inner = nullptr;
        for (auto* c : sub->get_subcommands({}))
          if (c->check_name(args[j])) inner = c;
        if (inner == nullptr) break;
        sub = inner;
      }
      actlens::cli::check_config_keys(*sub);
      break;
    }
    std::vector<char*> cargs;
    for (auto& a : args) cargs.push_back(a.data());
    app.parse(static_cast<int>(cargs.size()), cargs.data());
    actlens::cli::protect_named_inputs(args);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help / --version
  } catch (const CLI::ParseError& e) {
    for (auto* sub : app.get_subcommands()) cmd = sub->get_name();
    return fail(cmd, plain_parse_error(e, commands) + " (see --help)", 2);
  } catch (const std::exception& e) {
    return fail(cmd, e.what(), 2);
  }

  auto logger = spdlog::stderr_color_mt("actlens");
  {
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<EscapedMessage>('*').set_pattern("[%T] %^%l%$ %*");
    logger->set_formatter(std::move(formatter));
  }
  logger->set_level(quiet          ? spdlog::level::err
                    : verbose >= 2 ? spdlog::level::trace
                    : verbose == 1 ? spdlog::level::debug
                                   : spdlog::level::info);
  spdlog::set_default_logger(logger);
  actlens::report::Progress::set_quiet(quiet);
  actlens::report::install_interrupt_handlers();

  for (const auto& [sub, run] : runners) {
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
    } catch (const std::filesystem::filesystem_error& e) {
      // "filesystem error: directory iterator cannot open directory: ... [path]" in plain words
      return fail(cmd,
                  (e.path1().empty() ? std::string() : e.path1().string() + ": ") +
                      e.code().message() + "; check the path and its permissions",
                  1);
    } catch (const std::bad_alloc&) {
      return fail(cmd, "out of memory; select fewer layers or use a smaller input", 1);
    } catch (const std::exception& e) {
      // LibTorch's own errors: the message, not its backtrace
      const std::string model = actlens::cli::model_error_message(e);
      return fail(cmd, model.empty() ? e.what() : model, 1);
    } catch (...) {
      return fail(cmd, "unexpected internal error", 1);
    }
  }
  return fail("", "no command given (see --help)", 2);
}
