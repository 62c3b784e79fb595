// actlens beliefs: is the belief-state geometry linearly decodable from the residual stream?
// (seed belief-geometry-steering). The model runs on every input of length n_ctx of the mixed-state
// presentation; ordinary least squares with an intercept (sklearn LinearRegression) maps the
// activations at every (input, position) to the Bayesian belief there, per hook and with all hooks
// concatenated (the seed's regression; model/belief_regression.hpp). The predictions projected on
// the PCA(3) of the unique beliefs are the data of the seed's simplex figure.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

#include <spdlog/spdlog.h>

#include "actlens/core/pca.hpp"
#include "actlens/core/regression.hpp"
#include "actlens/error.hpp"
#include "actlens/io/npy.hpp"
#include "actlens/io/parse_number.hpp"
#include "actlens/model/belief_regression.hpp"
#include "actlens/report/output_dir.hpp"
#include "actlens/report/run_info.hpp"
#include "actlens/report/writers.hpp"
#include "belief_data.hpp"
#include "cli_common.hpp"
#include "command.hpp"
#include "torch_commands.hpp"

namespace actlens::cli {
namespace fs = std::filesystem;
namespace {

struct BeliefsOptions {
  std::string model, process;
  std::vector<std::string> hooks = {"blocks.*.hook_resid_post"};
  std::string layers = "all";
  int depth = 0;
  double test_fraction = 0;
  std::uint64_t split_seed = 0;
  std::string device = "cpu";
};

// A number in [0, 1): a held-out fraction that leaves rows to fit.
CLI::Validator fraction_below_one() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        const std::optional<double> v = io::parse_double(s);
        return v && *v >= 0 && *v < 1 ? "" : "must be in [0, 1)";
      },
      "NUMBER in [0, 1)");
}

std::string fmt_or_empty(double v) {
  return std::isnan(v) ? "" : report::format_double(v);
}

// metrics.csv, the summary's "regressions" and the table printed on stdout: one row per regressor.
struct Metrics {
  std::vector<std::vector<std::string>> rows;
  nlohmann::json json = nlohmann::json::array();
  std::string table;
};

Metrics metrics(const model::BeliefRegression& reg) {
  const bool test = !reg.split.test.empty();
  Metrics m;
  m.table = fmt::format("{:<32} {:>9} {:>12} {:>12}{}\n", "regressor", "features", "R^2", "MSE",
                        test ? "    R^2 test    MSE test" : "");
  for (const auto& r : reg.regressors) {
    const auto& s = r.scores;
    m.rows.push_back({r.name, std::to_string(r.features), report::format_double(s.r2_train),
                      report::format_double(s.mse_train), fmt_or_empty(s.r2_test),
                      fmt_or_empty(s.mse_test)});
    m.table += fmt::format("{:<32} {:>9} {:>12.6f} {:>12.4e}", r.name, r.features, s.r2_train,
                           s.mse_train);
    if (test) m.table += fmt::format(" {:>11.6f} {:>11.4e}", s.r2_test, s.mse_test);
    m.table += "\n";
    m.json.push_back({{"regressor", r.name},
                      {"features", r.features},
                      {"r2", s.r2_train},
                      {"mse", s.mse_train}});
    if (test) {
      m.json.back()["r2_test"] = s.r2_test;
      m.json.back()["mse_test"] = s.mse_test;
    }
  }
  return m;
}

// simplex_points.csv (every row: truth and prediction on the PCA of the unique beliefs) and
// simplex_beliefs.csv (the unique beliefs there): the data of the seed's simplex figure.
void write_simplex(const fs::path& dir, const BeliefData& d, const model::BeliefRegression& reg,
                   const core::PcaFit& vis, const core::RowMatrixXd& Y) {
  const std::int64_t T = d.inputs.tokens.cols(), rows = Y.rows();
  const Eigen::Index k3 = vis.components.rows();
  const core::RowMatrixXd gt_pc = vis.transform(Y), pred_pc = vis.transform(reg.predicted);
  const core::RowMatrixXd unique_pc = vis.transform(d.tree.unique_beliefs);
  std::vector<char> is_test(static_cast<std::size_t>(rows), 0);
  for (auto r : reg.split.test) is_test[static_cast<std::size_t>(r)] = 1;
  std::vector<std::string> header = {"input", "position", "belief_index", "belief_name", "split"};
  for (Eigen::Index c = 0; c < k3; ++c) header.push_back("true_pc" + std::to_string(c + 1));
  for (Eigen::Index c = 0; c < k3; ++c) header.push_back("pred_pc" + std::to_string(c + 1));
  std::vector<std::vector<std::string>> pts;
  pts.reserve(static_cast<std::size_t>(rows));
  for (std::int64_t r = 0; r < rows; ++r) {
    const auto bi = d.inputs.belief_indices(r / T, r % T);
    std::vector<std::string> row = {std::to_string(r / T), std::to_string(r % T),
                                    std::to_string(bi),
                                    d.tree.unique_names[static_cast<std::size_t>(bi)],
                                    is_test[static_cast<std::size_t>(r)] ? "test" : "train"};
    for (Eigen::Index c = 0; c < k3; ++c) row.push_back(report::format_double(gt_pc(r, c)));
    for (Eigen::Index c = 0; c < k3; ++c) row.push_back(report::format_double(pred_pc(r, c)));
    pts.push_back(std::move(row));
  }
  report::write_csv(dir / "simplex_points.csv", header, pts);
  std::vector<std::string> uh = {"belief_index", "belief_name"};
  for (Eigen::Index c = 0; c < k3; ++c) uh.push_back("pc" + std::to_string(c + 1));
  std::vector<std::vector<std::string>> urows;
  for (Eigen::Index k = 0; k < d.tree.n_unique(); ++k) {
    std::vector<std::string> row = {std::to_string(k),
                                    d.tree.unique_names[static_cast<std::size_t>(k)]};
    for (Eigen::Index c = 0; c < k3; ++c) row.push_back(report::format_double(unique_pc(k, c)));
    urows.push_back(std::move(row));
  }
  report::write_csv(dir / "simplex_beliefs.csv", uh, urows);
}

int run_beliefs(const BeliefsOptions& o, Command& cmd) {
  report::RunInfo& info = cmd.start();
  info.start("load");
  BeliefData d = load_belief_data(o.model, o.process, o.depth, o.device);
  const auto& cfg = d.model.config();
  const int n_layers = static_cast<int>(cfg.n_layers);
  const auto hooks =
      model::resolve_hooks(o.hooks, n_layers, parse_layers(o.layers, n_layers, "--layers"));
  info.stop("load");

  info.start("activations");
  const auto acts = run_with_cache(d.model, token_tensor(d.inputs.tokens), hooks);
  info.stop("activations");
  const std::int64_t n = d.inputs.tokens.rows(), T = d.inputs.tokens.cols();
  const std::int64_t S = d.process.n_states(), rows = n * T;
  const core::RowMatrixXd Y = Eigen::Map<const core::RowMatrixXd>(d.inputs.beliefs.data(), rows, S);

  info.start("regression");
  const model::BeliefRegression reg =
      model::regress_beliefs(acts, hooks, Y, {o.test_fraction, o.split_seed});
  const Metrics met = metrics(reg);
  info.stop("regression");
  const bool test = !reg.split.test.empty();

  // The simplex figure's data: ground truth and predictions on the PCA(3) of the unique beliefs.
  const Eigen::Index k3 = std::min<Eigen::Index>({3, d.tree.n_unique(), S});
  const core::PcaFit vis = core::pca_gram(d.tree.unique_beliefs, k3);

  report::OutputDir& out = cmd.output();
  report::write_csv(out.path() / "metrics.csv",
                    {"regressor", "features", "r2", "mse", "r2_test", "mse_test"}, met.rows);
  write_simplex(out.path(), d, reg, vis, Y);
  const core::LinearFit& fit = reg.fit;
  io::write_npy(out.path() / "regression_coef.npy", io::make_array(core::RowMatrixXd(fit.coef)));
  io::write_npy(out.path() / "regression_intercept.npy",
                io::make_array(std::vector<double>(fit.intercept.data(),
                                                   fit.intercept.data() + fit.intercept.size())));
  io::Array pa = io::make_array(reg.predicted);
  pa.shape = {n, T, S};
  io::write_npy(out.path() / "predictions.npy", pa);
  io::write_npy(out.path() / "visualization_pca_components.npy", io::make_array(vis.components));

  auto& resolved = info.section("resolved");
  resolved["process"] = d.process_source;
  resolved["hooks"] = hooks;
  resolved["depth"] = d.depth;
  auto& sm = info.summary();
  sm["n_inputs"] = n;
  sm["n_ctx"] = T;
  sm["rows"] = rows;
  sm["n_unique_beliefs"] = d.tree.n_unique();
  sm["regressions"] = met.json;
  sm["r2"] = reg.all.r2_train;
  sm["mse"] = reg.all.mse_train;
  if (test) {
    sm["r2_test"] = reg.all.r2_test;
    sm["mse_test"] = reg.all.mse_test;
  }
  sm["rank"] = fit.rank;
  sm["coef_layout"] =
      "regression_coef.npy [n_states, features]: features are the hooks' "
      "activations side by side in the order of options.hooks";
  std::fputs(met.table.c_str(), stdout);
  spdlog::info("{} inputs x {} positions regressed onto {}-state beliefs: R^2 {:.6f}{}", n, T, S,
               reg.all.r2_train, test ? fmt::format(" (test {:.6f})", reg.all.r2_test) : "");
  return cmd.finish();
}

}  // namespace

Runner register_beliefs(CLI::App& app) {
  auto o = std::make_shared<BeliefsOptions>();
  auto cmd = Command::add(
      app, {"beliefs",
            "Linear regression (OLS with intercept, as sklearn) from a trained model's activations "
            "on every MSP input to the Bayesian belief states; per hook and concatenated R^2",
            "results/beliefs"});
  CLI::App* sub = &cmd->app();
  sub->add_option("--model", o->model, "Checkpoint folder written by `actlens train`")->required();
  sub->add_option("--process", o->process,
                  "Built-in process or process JSON (default: the one the checkpoint records)");
  sub->add_option("--hooks", o->hooks, "Hook patterns whose activations are the regressors")
      ->delimiter(',')
      ->capture_default_str();
  sub->add_option("--layers", o->layers, "Keep block hooks of these layers only (\"all\", 0-3, 2)")
      ->capture_default_str();
  sub->add_option("--depth", o->depth, "MSP depth for the unique beliefs (0 = n_ctx + 1)")
      ->capture_default_str();
  sub->add_option("--test-fraction", o->test_fraction,
                  "Hold out this fraction of (input, position) rows for test R^2 (0 = fit all, "
                  "as the seed)")
      ->check(fraction_below_one())
      ->capture_default_str();
  sub->add_option("--split-seed", o->split_seed, "Seed of the train/test shuffle")
      ->capture_default_str();
  sub->add_option("--device", o->device, "cpu, cuda or cuda:N")->capture_default_str();
  return cmd->runner([o](Command& c) { return run_beliefs(*o, c); });
}

}  // namespace actlens::cli
