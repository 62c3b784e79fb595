// actlens report RUN_DIR: draws a finished run's figures again from its output files (nothing is
// recomputed), e.g. with --png, another --plotly, or after `--no-figures`.
#include <memory>

#include <spdlog/spdlog.h>

#include "actlens/error.hpp"
#include "actlens/io/atomic_file.hpp"
#include "actlens/io/json_file.hpp"
#include "actlens/report/figure_sets.hpp"
#include "actlens/report/output_dir.hpp"
#include "cli_common.hpp"
#include "commands.hpp"

namespace actlens::cli {

namespace {

namespace fs = std::filesystem;

struct ReportOptions {
  std::vector<std::string> runs;
  FigureFlags figures;
};

int report_one(const fs::path& dir, const FigureFlags& f) {
  const fs::path run_json = dir / "run.json";
  if (!fs::is_directory(dir))
    throw Error(dir.string() + ": no such folder (give an actlens results folder)");
  std::error_code ec;
  if (!fs::exists(run_json, ec))
    throw Error(run_json.string() + ": missing: not an actlens results folder");
  nlohmann::json run = io::read_json_file(run_json, "the run.json of an actlens run");
  if (!run.is_object() || !run.contains("command") || !run["command"].is_string())
    throw Error(run_json.string() +
                ": no \"command\" string; not the run.json of an actlens run (re-run it)");
  const std::string command = run["command"].get<std::string>();
  if (!report::draws_figures(command))
    throw Error(run_json.string() + ": '" + command +
                "' runs have no figures (figures exist for "
                "lda, pca, ged, rsa, tsne, dbscan, cluster, beliefs, steer, train)");
  const report::FigureOptions o = figure_options(f);
  const nlohmann::json rec =
      report::draw_run_figures(command, dir, fs::absolute(dir).filename().string(), o);
  run["figures"] = rec;
  io::write_file_atomic(run_json, run.dump(2) + "\n");
  report::refresh_run_marker_figures(dir);  // so the next run may replace the folder
  spdlog::info("{}: {} figures, open {}", dir.string(), rec.value("count", 0),
               (dir / "index.html").string());
  return 0;
}

}  // namespace

Runner register_report(CLI::App& app) {
  auto o = std::make_shared<ReportOptions>();
  auto* sub = app.add_subcommand(
      "report",
      "Draw the figures of finished runs again from their outputs (figures/*.html, index.html; "
      "nothing is recomputed)");
  sub->add_option("runs", o->runs,
                  "Results folders of lda, pca, ged, rsa, tsne, dbscan, "
                  "cluster, beliefs, steer or train runs")
      ->required();
  add_plotly_options(*sub, o->figures);
  return [o] {
    for (const auto& r : o->runs) report_one(r, o->figures);
    return 0;
  };
}

}  // namespace actlens::cli
