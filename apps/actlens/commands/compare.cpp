// actlens compare A B: regression check of two result folders; exit 1 when anything differs.
#include <cstdio>
#include <memory>

#include "actlens/report/compare.hpp"
#include "cli_common.hpp"
#include "commands.hpp"

namespace actlens::cli {
namespace {

struct CompareArgs {
  std::string a, b;
  report::CompareOptions opt;
  int max_rows = 50;
};

int run_compare(const CompareArgs& args) {
  const auto res = report::compare_dirs(args.a, args.b, args.opt);
  if (res.differences.empty()) {
    std::printf("same: %zu files, %zu values within rtol %g, atol %g\n", res.files_compared,
                res.values_compared, args.opt.rtol, args.opt.atol);
    return 0;
  }
  std::printf("%-36s %-32s %-20s %-20s %s\n", "file", "where", "A", "B", "|A-B|");
  int shown = 0;
  for (const auto& d : res.differences) {
    if (shown++ >= args.max_rows) {
      std::printf("... %zu more\n",
                  res.differences.size() - static_cast<std::size_t>(args.max_rows));
      break;
    }
    std::printf("%-36s %-32s %-20s %-20s %.3g\n", d.file.c_str(), d.where.c_str(), d.a.c_str(),
                d.b.c_str(), d.abs_diff);
  }
  std::printf("differ: %zu of %zu values (%zu files) outside rtol %g, atol %g\n",
              res.differences.size(), res.values_compared, res.files_compared, args.opt.rtol,
              args.opt.atol);
  return 1;
}

}  // namespace

Runner register_compare(CLI::App& app) {
  auto a = std::make_shared<CompareArgs>();
  auto* sub = app.add_subcommand(
      "compare",
      "Compare two result folders (JSON, .npy, .npz, CSV) within tolerances; exit 1 if "
      "anything differs. Components are compared up to sign.");
  sub->add_option("A", a->a, "First result folder")->required();
  sub->add_option("B", a->b, "Second (reference) result folder")->required();
  sub->add_option("--rtol", a->opt.rtol, "Relative tolerance")->capture_default_str();
  sub->add_option("--atol", a->opt.atol, "Absolute tolerance")->capture_default_str();
  sub->add_option("--max-rows", a->max_rows, "Differences to print")->capture_default_str();
  // One key per flag, repeated for more: the words after it are then always A and B.
  sub->add_option("--ignore-key", a->opt.ignore_keys,
                  "Leave this top-level key of every JSON file out (repeatable), besides "
                  "run.json's timings, dates, paths and command line; e.g. options")
      ->allow_extra_args(false);
  add_config_option(*sub);
  return [a] { return run_compare(*a); };
}

}  // namespace actlens::cli
