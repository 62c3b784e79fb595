// actlens cluster: the RSA seed's tSNE_dbscan in one command, for one or more spaces: unit rows ->
// t-SNE (perplexity 5) -> DBSCAN (eps 20, min_samples 3) on the t-SNE coordinates, then the
// seed's "Tokens in group k" listing per space.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <set>

#include <spdlog/spdlog.h>

#include "actlens/error.hpp"
#include "actlens/io/atomic_file.hpp"
#include "actlens/report/output_dir.hpp"
#include "actlens/report/run_info.hpp"
#include "actlens/report/writers.hpp"
#include "cli_common.hpp"
#include "command.hpp"
#include "embedding_steps.hpp"

namespace actlens::cli {
namespace fs = std::filesystem;

namespace {

struct ClusterOptions {
  std::vector<std::string> inputs;
  std::string names;
  std::string normalize = "l2";
  TsneFlags tsne;
  DbscanFlags dbscan;
  PointsOptions points;
};

int run_cluster(const ClusterOptions& o, Command& cmd) {
  const std::vector<std::string> names = space_names(o.names, o.inputs);

  report::RunInfo& info = cmd.start();
  info.start("read");
  std::vector<Points> spaces;
  for (const auto& in : o.inputs) spaces.push_back(load_points(in, o.points));
  info.stop("read");
  report::OutputDir& out = cmd.output();
  // Spaces stay in the order given (nlohmann::json would sort them by name: small300 before
  // small50): cluster.json keeps it in its keys, run.json's summary lists the spaces in order,
  // and the figures follow cluster.json.
  nlohmann::ordered_json per_space = nlohmann::ordered_json::object();
  nlohmann::json summary = {{"spaces", nlohmann::json::array()}};
  std::string listing;
  for (std::size_t s = 0; s < spaces.size(); ++s) {
    const Points& p = spaces[s];
    const fs::path dir = out.path() / names[s];
    fs::create_directories(dir);
    const core::RowMatrixXd x = normalized(p, o.normalize);
    info.start("tsne " + names[s]);
    const core::TsneResult t = run_tsne(x, p, o.tsne, cmd.threads());
    info.stop("tsne " + names[s]);
    const nlohmann::json tj = write_tsne(dir, p, x, t, o.tsne);
    Points on_tsne = p;
    on_tsne.x = t.embedding;
    on_tsne.path = p.path + " (t-SNE)";
    info.start("dbscan " + names[s]);
    const core::DbscanResult d = run_dbscan(t.embedding, on_tsne, o.dbscan, cmd.threads());
    info.stop("dbscan " + names[s]);
    const nlohmann::json dj = write_dbscan(dir, p, t.embedding, d, o.dbscan);
    listing += "\n** Clusters in " + names[s] + ":\n" + cluster_listing(p, d);
    const nlohmann::json one = {{"kl_divergence", tj["kl_divergence"]},
                                {"n_clusters", dj["n_clusters"]},
                                {"n_noise", dj["n_noise"]}};
    per_space[names[s]] = one;
    nlohmann::json entry = one;
    entry["name"] = names[s];
    summary["spaces"].push_back(entry);
    info.add_input(names[s], p.path, p.format, p.bytes);
  }
  io::write_file_atomic(out.path() / "cluster.json", per_space.dump(2) + "\n");
  io::write_file_atomic(out.path() / "listing.txt", listing.substr(1));
  info.summary() = summary;
  cmd.finish();
  // the listing on stdout, except with -q (errors only, which sets the log level): as dbscan
  if (spdlog::should_log(spdlog::level::info)) std::fputs(listing.substr(1).c_str(), stdout);
  return 0;
}

}  // namespace

Runner register_cluster(CLI::App& app) {
  auto o = std::make_shared<ClusterOptions>();
  // The seed's tSNE_dbscan parameters are this command's defaults.
  o->tsne.perplexity = 5;
  o->dbscan.eps = 20;
  o->dbscan.min_samples = 3;
  CommandSpec spec{"cluster",
                   "The RSA seed's t-SNE -> DBSCAN pipeline on one or more spaces, with its "
                   "'Tokens in group k' listing (defaults: l2 rows, perplexity 5, eps 20, "
                   "min_samples 3)",
                   "results/cluster"};
  spec.out_help = "Output folder: one subfolder per input";
  auto cmd = Command::add(app, spec);
  CLI::App* sub = &cmd->app();
  sub->add_option("inputs", o->inputs,
                  "Embedding files or activations, each clustered on its own (the seed: the "
                  "50-d and 300-d GloVe vectors of the same words)")
      ->required();
  sub->add_option("--names", o->names, "Names of the inputs, comma-separated (default: stems)");
  sub->add_option("--normalize", o->normalize,
                  "Rows before t-SNE: l2 (the seed's E / ||E||) or none")
      ->check(one_of({"l2", "none"}))
      ->capture_default_str();
  add_tsne_options(sub, o->tsne);
  add_dbscan_options(sub, o->dbscan);
  add_points_options(sub, o->points);
  return cmd->runner([o](Command& c) { return run_cluster(*o, c); });
}

}  // namespace actlens::cli
