// actlens dbscan: density-based clusters (scikit-learn DBSCAN semantics) of raw vectors or of a
// t-SNE result (the RSA seed: DBSCAN(eps=20, min_samples=3) on its t-SNE coordinates).
#include <cstdio>
#include <memory>

#include <spdlog/spdlog.h>

#include "actlens/error.hpp"
#include "actlens/report/output_dir.hpp"
#include "actlens/report/run_info.hpp"
#include "cli_common.hpp"
#include "command.hpp"
#include "embedding_steps.hpp"

namespace actlens::cli {

namespace {

struct DbscanCommandOptions {
  FigureFlags figures;
  std::string input;
  std::string on;  // --on: the input's old name, hidden
  std::string normalize = "none";
  DbscanFlags dbscan;
  PointsOptions points;
};

// The input is the positional argument; `--on` (its old name) still works, hidden from --help.
// Neither is required by CLI11, which would name only one of them: checked here instead.
void resolve_input(DbscanCommandOptions& o) {
  if (!o.on.empty() && !o.input.empty())
    throw UsageError("input given twice ('" + o.input + "' and --on '" + o.on +
                     "'); give it once: actlens dbscan INPUT");
  if (!o.on.empty()) o.input = o.on;
  if (o.input.empty())
    throw UsageError(
        "input is required: an `actlens tsne` result folder, an embedding file or "
        "activations (actlens dbscan INPUT; see --help)");
}

int run_dbscan_command(DbscanCommandOptions& o, Command& cmd) {
  resolve_input(o);
  report::RunInfo& info = cmd.start();
  info.start("read");
  const Points p = load_points(o.input, o.points);
  const core::RowMatrixXd x = normalized(p, o.normalize);
  info.stop("read");
  report::OutputDir& out = cmd.output();
  info.start("dbscan");
  const core::DbscanResult r = run_dbscan(x, p, o.dbscan, cmd.threads());
  info.stop("dbscan");
  info.start("write");
  const nlohmann::json j = write_dbscan(out.path(), p, x, r, o.dbscan);
  info.stop("write");
  info.add_input("input", p.path, p.format, p.bytes);
  auto& s = info.summary();
  s["n_clusters"] = j["n_clusters"];
  s["n_noise"] = j["n_noise"];
  cmd.finish();
  // The seed's listing, for small inputs; not with -q (errors only), which sets the log level.
  if (x.rows() <= 200 && spdlog::should_log(spdlog::level::info))
    std::fputs(cluster_listing(p, r).c_str(), stdout);
  return 0;
}

}  // namespace

Runner register_dbscan(CLI::App& app) {
  auto o = std::make_shared<DbscanCommandOptions>();
  auto cmd = Command::add(app, {"dbscan",
                                "DBSCAN clusters (sklearn semantics, KD-tree search, O(N) memory) "
                                "of vectors or of an `actlens tsne` result folder",
                                "results/dbscan"});
  CLI::App* sub = &cmd->app();
  sub->add_option("input", o->input,
                  "An `actlens tsne` result folder, an embedding file or activations (required)");
  sub->add_option("--on", o->on, "The input's old name (use the positional argument)")->group("");
  sub->add_option("--normalize", o->normalize, "Rows before clustering: none or l2")
      ->check(one_of({"none", "l2"}))
      ->capture_default_str();
  add_dbscan_options(sub, o->dbscan);
  add_points_options(sub, o->points);
  return cmd->runner([o](Command& c) { return run_dbscan_command(*o, c); });
}

}  // namespace actlens::cli
