// actlens dbscan: density-based clusters (scikit-learn DBSCAN semantics) of raw vectors or of a
// t-SNE result (the RSA seed: DBSCAN(eps=20, min_samples=3) on its t-SNE coordinates).
#include <cstdio>
#include <memory>

#include <spdlog/spdlog.h>

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
  std::string normalize = "none";
  DbscanFlags dbscan;
  PointsOptions points;
};

int run_dbscan_command(const DbscanCommandOptions& o, Command& cmd) {
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
  if (x.rows() <= 200) std::fputs(cluster_listing(p, r).c_str(), stdout);
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
  sub->add_option("input,--on", o->input,
                  "An `actlens tsne` result folder, an embedding file or activations")
      ->required();
  sub->add_option("--normalize", o->normalize, "Rows before clustering: none or l2")
      ->check(one_of({"none", "l2"}))
      ->capture_default_str();
  add_dbscan_options(sub, o->dbscan);
  add_points_options(sub, o->points);
  return cmd->runner([o](Command& c) { return run_dbscan_command(*o, c); });
}

}  // namespace actlens::cli
