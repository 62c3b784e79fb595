// actlens beliefs: is the belief-state geometry linearly decodable from the residual stream?
// (seed belief-geometry-steering). The model runs on every input of length n_ctx of the mixed-state
// presentation; ordinary least squares with an intercept (sklearn LinearRegression) maps the
// activations at every (input, position) to the Bayesian belief there, per hook and with all hooks
// concatenated (the seed's regression). The predictions projected on the PCA(3) of the unique
// beliefs are the data of the seed's simplex figure.
#include <filesystem>
#include <memory>

#include <spdlog/spdlog.h>

#include "actlens/core/error.hpp"
#include "actlens/core/pca.hpp"
#include "actlens/core/regression.hpp"
#include "actlens/io/npy.hpp"
#include "actlens/report/output_dir.hpp"
#include "actlens/report/run_info.hpp"
#include "actlens/report/writers.hpp"
#include "belief_data.hpp"
#include "cli_common.hpp"
#include "torch_commands.hpp"

namespace actlens::cli {
namespace fs = std::filesystem;
namespace {

struct BeliefsOptions {
  FigureFlags figures;
  std::string model, process;
  std::vector<std::string> hooks = {"blocks.*.hook_resid_post"};
  std::string layers = "all";
  int depth = 0;
  double test_fraction = 0;
  std::uint64_t split_seed = 0;
  std::string out = "results/beliefs", device = "cpu";
  int threads = 0;
};

core::RowMatrixXd rows_of(const core::RowMatrixXd& m, const std::vector<std::int64_t>& idx) {
  core::RowMatrixXd r(static_cast<Eigen::Index>(idx.size()), m.cols());
  for (std::size_t i = 0; i < idx.size(); ++i) r.row(static_cast<Eigen::Index>(i)) = m.row(idx[i]);
  return r;
}

struct Scores {
  double r2_train = 0, mse_train = 0, r2_test = NAN, mse_test = NAN;
  Eigen::VectorXd r2_per_belief_dim;  // on the training rows
};

// Fits on the training rows, scores train and test rows; returns the fit.
core::LinearFit fit_and_score(const core::RowMatrixXd& X, const core::RowMatrixXd& Y,
                              const core::Split& split, Scores& s) {
  const bool all = split.test.empty();
  const core::RowMatrixXd Xtr = all ? X : rows_of(X, split.train);
  const core::RowMatrixXd Ytr = all ? Y : rows_of(Y, split.train);
  core::LinearFit fit = core::fit_linear_regression(Xtr, Ytr);
  const core::RowMatrixXd ptr = core::predict(fit, Xtr);
  s.r2_train = core::r2_score(Ytr, ptr);
  s.mse_train = core::mean_squared_error(Ytr, ptr);
  s.r2_per_belief_dim = core::r2_per_target(Ytr, ptr);
  if (!all) {
    const core::RowMatrixXd Yte = rows_of(Y, split.test);
    const core::RowMatrixXd pte = core::predict(fit, rows_of(X, split.test));
    s.r2_test = core::r2_score(Yte, pte);
    s.mse_test = core::mean_squared_error(Yte, pte);
  }
  return fit;
}

std::string fmt_or_empty(double v) {
  return std::isnan(v) ? "" : report::format_double(v);
}

int run_beliefs(const BeliefsOptions& o) {
  set_threads(o.threads);
  set_torch_threads(o.threads);
  if (!(o.test_fraction >= 0 && o.test_fraction < 1))
    throw UsageError("--test-fraction: must be in [0, 1)");
  report::RunInfo info("beliefs", command_line(), ACTLENS_VERSION);
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
  std::int64_t width = 0;
  for (const auto& a : acts) width += a.size(-1);
  core::RowMatrixXd X(rows, width);  // the hooks side by side, in forward order
  std::int64_t col = 0;
  for (const auto& a : acts) {
    const torch::Tensor f = a.reshape({rows, a.size(-1)}).to(torch::kFloat64).contiguous();
    X.middleCols(col, f.size(1)) =
        Eigen::Map<const core::RowMatrixXd>(f.data_ptr<double>(), rows, f.size(1));
    col += f.size(1);
  }
  const core::Split split = core::train_test_split(rows, o.test_fraction, o.split_seed);

  info.start("regression");
  std::vector<std::vector<std::string>> metric_rows;
  nlohmann::json per_hook = nlohmann::json::array();
  col = 0;
  std::string table = fmt::format("{:<32} {:>9} {:>12} {:>12}{}\n", "regressor", "features", "R^2",
                                  "MSE", split.test.empty() ? "" : "    R^2 test    MSE test");
  auto add_row = [&](const std::string& name, std::int64_t features, const Scores& s) {
    metric_rows.push_back({name, std::to_string(features), report::format_double(s.r2_train),
                           report::format_double(s.mse_train), fmt_or_empty(s.r2_test),
                           fmt_or_empty(s.mse_test)});
    table +=
        fmt::format("{:<32} {:>9} {:>12.6f} {:>12.4e}", name, features, s.r2_train, s.mse_train);
    if (!split.test.empty()) table += fmt::format(" {:>11.6f} {:>11.4e}", s.r2_test, s.mse_test);
    table += "\n";
    per_hook.push_back(
        {{"regressor", name}, {"features", features}, {"r2", s.r2_train}, {"mse", s.mse_train}});
    if (!split.test.empty()) {
      per_hook.back()["r2_test"] = s.r2_test;
      per_hook.back()["mse_test"] = s.mse_test;
    }
  };
  for (std::size_t k = 0; k < hooks.size(); ++k) {
    const std::int64_t w = acts[k].size(-1);
    Scores s;
    fit_and_score(X.middleCols(col, w), Y, split, s);
    add_row(hooks[k], w, s);
    col += w;
  }
  Scores cs;
  const core::LinearFit fit = fit_and_score(X, Y, split, cs);
  if (hooks.size() > 1) add_row("concatenated", width, cs);
  const core::RowMatrixXd pred = core::predict(fit, X);  // every row, train and test
  info.stop("regression");

  // The simplex figure's data: ground truth and predictions on the PCA(3) of the unique beliefs.
  const Eigen::Index k3 = std::min<Eigen::Index>({3, d.tree.n_unique(), S});
  const core::PcaFit vis = core::pca_gram(d.tree.unique_beliefs, k3);
  const core::RowMatrixXd gt_pc = vis.transform(Y), pred_pc = vis.transform(pred);
  const core::RowMatrixXd unique_pc = vis.transform(d.tree.unique_beliefs);

  report::OutputDir out(o.out, "beliefs");
  report::write_csv(out.path() / "metrics.csv",
                    {"regressor", "features", "r2", "mse", "r2_test", "mse_test"}, metric_rows);
  std::vector<char> is_test(static_cast<std::size_t>(rows), 0);
  for (auto r : split.test) is_test[static_cast<std::size_t>(r)] = 1;
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
  report::write_csv(out.path() / "simplex_points.csv", header, pts);
  std::vector<std::string> uh = {"belief_index", "belief_name"};
  for (Eigen::Index c = 0; c < k3; ++c) uh.push_back("pc" + std::to_string(c + 1));
  std::vector<std::vector<std::string>> urows;
  for (Eigen::Index k = 0; k < d.tree.n_unique(); ++k) {
    std::vector<std::string> row = {std::to_string(k),
                                    d.tree.unique_names[static_cast<std::size_t>(k)]};
    for (Eigen::Index c = 0; c < k3; ++c) row.push_back(report::format_double(unique_pc(k, c)));
    urows.push_back(std::move(row));
  }
  report::write_csv(out.path() / "simplex_beliefs.csv", uh, urows);
  io::write_npy(out.path() / "regression_coef.npy", io::make_array(core::RowMatrixXd(fit.coef)));
  io::write_npy(out.path() / "regression_intercept.npy",
                io::make_array(std::vector<double>(fit.intercept.data(),
                                                   fit.intercept.data() + fit.intercept.size())));
  io::Array pa = io::make_array(pred);
  pa.shape = {n, T, S};
  io::write_npy(out.path() / "predictions.npy", pa);
  io::write_npy(out.path() / "visualization_pca_components.npy", io::make_array(vis.components));

  auto& opt = info.options();
  opt["model"] = o.model;
  opt["process"] = d.process_source;
  opt["hooks"] = hooks;
  opt["depth"] = d.depth;
  opt["test_fraction"] = o.test_fraction;
  opt["split_seed"] = o.split_seed;
  auto& sm = info.summary();
  sm["n_inputs"] = n;
  sm["n_ctx"] = T;
  sm["rows"] = rows;
  sm["n_unique_beliefs"] = d.tree.n_unique();
  sm["regressions"] = per_hook;
  sm["r2"] = cs.r2_train;
  sm["mse"] = cs.mse_train;
  if (!split.test.empty()) {
    sm["r2_test"] = cs.r2_test;
    sm["mse_test"] = cs.mse_test;
  }
  sm["rank"] = fit.rank;
  sm["coef_layout"] =
      "regression_coef.npy [n_states, features]: features are the hooks' "
      "activations side by side in the order of options.hooks";
  draw_figures("beliefs", out.path(), out.target(), o.figures, info);
  info.write(out.path());
  out.commit();
  std::fputs(table.c_str(), stdout);
  spdlog::info("{} inputs x {} positions regressed onto {}-state beliefs: R^2 {:.6f}{}", n, T, S,
               cs.r2_train, split.test.empty() ? "" : fmt::format(" (test {:.6f})", cs.r2_test));
  spdlog::info("results in {}", out.target().string());
  return 0;
}

}  // namespace

Runner register_beliefs(CLI::App& app) {
  auto o = std::make_shared<BeliefsOptions>();
  auto* sub = app.add_subcommand(
      "beliefs",
      "Linear regression (OLS with intercept, as sklearn) from a trained model's activations on "
      "every MSP input to the Bayesian belief states; per hook and concatenated R^2");
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
      ->capture_default_str();
  sub->add_option("--split-seed", o->split_seed, "Seed of the train/test shuffle")
      ->capture_default_str();
  sub->add_option("-o,--out", o->out, "Output folder (replaced atomically)")->capture_default_str();
  sub->add_option("--device", o->device, "cpu, cuda or cuda:N")->capture_default_str();
  add_threads_option(*sub, o->threads, "CPU threads (0 = all cores)")->capture_default_str();
  add_figure_options(*sub, o->figures);
  add_config_option(*sub);
  return [o] { return run_beliefs(*o); };
}

}  // namespace actlens::cli
