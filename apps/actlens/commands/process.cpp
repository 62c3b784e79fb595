// actlens process: hidden Markov processes and their mixed-state presentation (seed
// belief-geometry-steering). `process info` prints the process, its stationary distribution,
// entropy rate, MSP size and unique beliefs, and the exact Bayes-optimal next-token loss;
// `process beliefs` writes the unique beliefs, the tree, and the transformer inputs with their
// per-position beliefs (the regression targets of `actlens beliefs`).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <sstream>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "actlens/core/msp.hpp"
#include "actlens/core/process.hpp"
#include "actlens/error.hpp"
#include "actlens/io/npy.hpp"
#include "actlens/io/process_json.hpp"
#include "actlens/report/output_dir.hpp"
#include "actlens/report/run_info.hpp"
#include "actlens/report/writers.hpp"
#include "cli_common.hpp"
#include "command.hpp"
#include "process_input.hpp"

namespace actlens::cli {
namespace fs = std::filesystem;

namespace {

struct ProcessOptions {
  std::string process = "rrxor", process_file;
  double x = 0.15, alpha = 0.6, p = 0.5;
  int depth = 11, n_ctx = 10;
  std::int64_t max_nodes = 5'000'000;
  std::string json;
};

const std::vector<std::pair<std::string, std::string>>& process_flags() {
  static const std::vector<std::pair<std::string, std::string>> flags = {
      {"process:", "--process"}, {"x:", "--x"},
      {"alpha:", "--alpha"},     {"p:", "--p"},
      {"depth:", "--depth"},     {"n_ctx:", "--n-ctx"},
      {"length:", "--n-ctx"},    {"max_nodes:", "--max-nodes"}};
  return flags;
}

core::Process load_process(const ProcessOptions& o) {
  if (!o.process_file.empty()) return io::read_process_json(o.process_file);
  return resolve_process(o.process, {o.x, o.alpha, o.p});
}

struct Analysis {
  core::Process process;
  Eigen::VectorXd stationary;
  core::EntropyRate entropy;
  core::MspTree tree;
  core::MspInputs inputs;
  core::BayesLoss loss;
};

Analysis analyse(const ProcessOptions& o) {
  if (o.n_ctx < 1) throw UsageError("--n-ctx: must be >= 1");
  if (o.depth < o.n_ctx)
    throw UsageError("--depth " + std::to_string(o.depth) + ": must be >= --n-ctx (" +
                     std::to_string(o.n_ctx) + ") to hold the inputs and the Bayes loss");
  Analysis a{load_process(o), {}, {}, {}, {}, {}};
  try {
    a.stationary = core::stationary_distribution(a.process);
    a.tree = core::build_msp(a.process, {o.depth, o.max_nodes});
    a.entropy = core::entropy_rate(a.process, o.n_ctx, o.max_nodes);
    a.inputs = core::msp_inputs(a.tree, o.n_ctx);
    a.loss = core::bayes_optimal_loss(a.process, a.tree, o.n_ctx);
  } catch (const std::invalid_argument& e) {
    if (!o.process_file.empty() && std::string(e.what()).rfind("process:", 0) == 0)
      throw Error(o.process_file + ": " + e.what());
    rethrow_as_flag(e, process_flags());
  }
  return a;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

std::string belief_text(const core::RowMatrixXd& m, Eigen::Index r) {
  std::string s = "[";
  for (Eigen::Index c = 0; c < m.cols(); ++c) s += fmt::format("{}{:.5f}", c ? ", " : "", m(r, c));
  return s + "]";
}

// The names of the unique beliefs that are not just "belief <index>" (the one-hot "State X"
// ones), keyed by index: listing all of them made a 6 MB process.json for mess3 at depth 11
// (265k beliefs). Files written before this ("unique_belief_names": a list) still load:
// read_process_json reads only the process.
nlohmann::json belief_names(const core::MspTree& t) {
  nlohmann::json named = nlohmann::json::object();
  for (std::size_t k = 0; k < t.unique_names.size(); ++k)
    if (t.unique_names[k] != "belief " + std::to_string(k))
      named[std::to_string(k)] = t.unique_names[k];
  return {{"default", "belief <index>"}, {"named", std::move(named)}};
}

// The summary shared by `info --json` and run.json / process.json.
nlohmann::json summary(const Analysis& a, const ProcessOptions& o) {
  nlohmann::json j;
  j["process"] = a.process.name;
  j["n_states"] = a.process.n_states();
  j["n_symbols"] = a.process.n_symbols();
  j["states"] = a.process.state_names;
  j["symbols"] = a.process.symbol_names;
  j["unifilar"] = a.process.is_unifilar();
  j["stationary"] = io::to_std_vector(a.stationary);
  j["entropy_rate_nats"] = a.entropy.nats;
  j["entropy_rate_bits"] = a.entropy.nats / std::log(2.0);
  j["entropy_rate_exact"] = a.entropy.exact;
  if (!a.entropy.exact) j["entropy_rate_bound_context"] = a.entropy.depth;
  j["depth"] = o.depth;
  j["n_ctx"] = o.n_ctx;
  j["n_tree_beliefs"] = a.tree.n_nodes();
  j["n_unique_beliefs"] = a.tree.n_unique();
  j["n_inputs"] = a.inputs.tokens.rows();
  j["belief_names"] = belief_names(a.tree);
  j["bayes_optimal_loss_nats"] = a.loss.mean;
  j["bayes_per_context_nats"] = a.loss.per_context;
  j["bayes_definition"] =
      "per_context[k] = H(X_{k+1} | X_1..X_k) from the stationary start, k = 0..n_ctx; loss = "
      "mean over k = 1..n_ctx";
  return j;
}

int run_info(const ProcessOptions& o) {
  const Analysis a = analyse(o);
  const auto& p = a.process;
  std::ostringstream s;
  s << fmt::format("process {}: {} states ({}), {} symbols ({}), {}\n", p.name, p.n_states(),
                   join(p.state_names), p.n_symbols(), join(p.symbol_names),
                   p.is_unifilar() ? "unifilar" : "not unifilar");
  s << "stationary distribution:";
  for (int i = 0; i < p.n_states(); ++i)
    s << fmt::format(" {}={:.6f}", p.state_names[static_cast<std::size_t>(i)], a.stationary[i]);
  s << "\n";
  if (a.entropy.exact)
    s << fmt::format("entropy rate: {:.10f} nats/symbol ({:.10f} bits), exact\n", a.entropy.nats,
                     a.entropy.nats / std::log(2.0));
  else
    s << fmt::format(
        "entropy rate: <= {:.10f} nats/symbol ({:.10f} bits), H(X_{} | X_1..X_{}) bound\n",
        a.entropy.nats, a.entropy.nats / std::log(2.0), a.entropy.depth + 1, a.entropy.depth);
  s << fmt::format(
      "MSP to depth {}: {} tree beliefs (paths of length 0..{}), {} unique (5 "
      "decimals)\n",
      o.depth, a.tree.n_nodes(), o.depth, a.tree.n_unique());
  s << "unique beliefs (index, name, belief; order of first appearance, breadth-first):\n";
  constexpr Eigen::Index kMaxListed = 100;
  for (Eigen::Index k = 0; k < std::min(a.tree.n_unique(), kMaxListed); ++k)
    s << fmt::format("  {:4d}  {:<12}  {}\n", k, a.tree.unique_names[static_cast<std::size_t>(k)],
                     belief_text(a.tree.unique_beliefs, k));
  if (a.tree.n_unique() > kMaxListed)
    s << fmt::format("  ... {} more (`actlens process beliefs` writes them all)\n",
                     a.tree.n_unique() - kMaxListed);
  s << fmt::format("inputs of length {}: {}\n", o.n_ctx, a.inputs.tokens.rows());
  s << "Bayes-optimal next-token loss H(X_k+1 | X_1..X_k), nats:";
  for (std::size_t k = 0; k < a.loss.per_context.size(); ++k)
    s << fmt::format(" k={}:{:.6f}", k, a.loss.per_context[k]);
  s << "\n";
  s << fmt::format("Bayes-optimal loss (mean over k = 1..{}): {:.10f} nats per token\n", o.n_ctx,
                   a.loss.mean);
  std::fputs(s.str().c_str(), stdout);
  if (!o.json.empty()) report::write_json(o.json, summary(a, o));
  return 0;
}

// [n, ...] arrays from flat buffers.
io::Array int64_array(const core::SymbolMatrix& m) {
  io::Array a = io::make_array(std::vector<std::int64_t>(m.data(), m.data() + m.size()));
  a.shape = {m.rows(), m.cols()};
  return a;
}

int run_beliefs(const ProcessOptions& o, Command& cmd) {
  report::RunInfo& info = cmd.start();
  info.start("msp");
  const Analysis a = analyse(o);
  info.stop("msp");
  report::OutputDir& out = cmd.output();
  const auto& t = a.tree;
  const auto& p = a.process;
  const Eigen::Index s = p.n_states();
  info.start("write");

  std::vector<std::string> header = {"index", "name"};
  for (Eigen::Index i = 0; i < s; ++i) header.push_back("b_" + std::to_string(i));
  std::vector<std::vector<std::string>> rows;
  for (Eigen::Index k = 0; k < t.n_unique(); ++k) {
    std::vector<std::string> row = {std::to_string(k), t.unique_names[static_cast<std::size_t>(k)]};
    for (Eigen::Index i = 0; i < s; ++i)
      row.push_back(report::format_double(t.unique_beliefs(k, i)));
    rows.push_back(std::move(row));
  }
  report::write_csv(out.path() / "beliefs.csv", header, rows);
  io::write_npy(out.path() / "unique_beliefs.npy", io::make_array(t.unique_beliefs));

  // tree.csv: path as symbol indices (concatenated when every index is one digit, else joined by
  // '-'); the empty path is the root.
  const bool digits = p.n_symbols() <= 10;
  rows.clear();
  rows.reserve(static_cast<std::size_t>(t.n_nodes()));
  for (std::int64_t n = 0; n < t.n_nodes(); ++n) {
    std::string path;
    for (int x : t.path(n)) path += (digits || path.empty() ? "" : "-") + std::to_string(x);
    rows.push_back({path, std::to_string(t.path_depth(n)),
                    report::format_double(t.probability[static_cast<std::size_t>(n)]),
                    std::to_string(t.unique_index[static_cast<std::size_t>(n)])});
  }
  report::write_csv(out.path() / "tree.csv", {"path", "depth", "probability", "belief_index"},
                    rows);

  io::write_npy(out.path() / "inputs.npy", int64_array(a.inputs.tokens));
  io::Array beliefs = io::make_array(a.inputs.beliefs);
  beliefs.shape = {a.inputs.tokens.rows(), a.inputs.tokens.cols(), s};
  io::write_npy(out.path() / "input_beliefs.npy", beliefs);
  io::write_npy(out.path() / "input_belief_indices.npy", int64_array(a.inputs.belief_indices));
  io::write_npy(out.path() / "input_probabilities.npy", io::make_array(a.inputs.probability));

  nlohmann::json pj = io::process_to_json(p);
  pj["analysis"] = summary(a, o);
  report::write_json(out.path() / "process.json", pj);
  info.stop("write");

  if (!o.process_file.empty())
    info.add_input("process", o.process_file, "process JSON", fs::file_size(o.process_file));
  info.section("resolved")["process"] = o.process_file.empty() ? o.process : o.process_file;
  auto& sm = info.summary();
  sm["n_tree_beliefs"] = t.n_nodes();
  sm["n_unique_beliefs"] = t.n_unique();
  sm["n_inputs"] = a.inputs.tokens.rows();
  sm["entropy_rate_nats"] = a.entropy.nats;
  sm["bayes_optimal_loss_nats"] = a.loss.mean;
  spdlog::info("{}: {} tree beliefs to depth {}, {} unique, {} inputs of length {}", p.name,
               t.n_nodes(), o.depth, t.n_unique(), a.inputs.tokens.rows(), o.n_ctx);
  return cmd.finish();
}

void add_common(CLI::App* sub, ProcessOptions& o) {
  sub->add_option("--process", o.process,
                  "Built-in process (rrxor, mess3, z1r, golden_mean, even) or a process JSON file")
      ->capture_default_str();
  sub->add_option("--process-file", o.process_file,
                  "Process JSON ({\"states\", \"symbols\", \"transitions\": T[x][i][j]}); "
                  "overrides --process");
  sub->add_option("--x", o.x, "mess3: x")->capture_default_str();
  sub->add_option("--alpha", o.alpha, "mess3: alpha")->capture_default_str();
  sub->add_option("--p", o.p, "z1r, golden_mean, even: the branching probability")
      ->capture_default_str();
  sub->add_option("--depth", o.depth, "MSP tree depth (paths of length 0..depth)")
      ->capture_default_str();
  sub->add_option("--n-ctx", o.n_ctx, "Input length (context) for inputs and the Bayes loss")
      ->capture_default_str();
  sub->add_option("--max-nodes", o.max_nodes, "Refuse MSP trees with more nodes")
      ->capture_default_str();
}

}  // namespace

Runner register_process(CLI::App& app) {
  auto o = std::make_shared<ProcessOptions>();
  auto* sub = app.add_subcommand(
      "process", "Hidden Markov processes and their mixed-state presentation (beliefs)");
  sub->require_subcommand(1);
  // `process info` prints and writes no results folder: only --config from the skeleton.
  CommandSpec info_spec{"info",
                        "Print states, stationary distribution, entropy rate, MSP beliefs, "
                        "Bayes loss",
                        /*out_default=*/""};
  info_spec.figures = false;
  info_spec.threads = false;
  auto info = Command::add(*sub, info_spec);
  add_common(&info->app(), *o);
  info->app().add_option("--json", o->json, "Also write the summary as JSON to this file");
  CommandSpec spec{"beliefs",
                   "Write the MSP beliefs, tree and transformer inputs with per-position beliefs",
                   "results/process"};
  spec.figures = false;
  spec.threads = false;
  auto beliefs = Command::add(*sub, spec);
  add_common(&beliefs->app(), *o);
  auto run_info_cmd = info->runner([o](Command&) { return run_info(*o); });
  auto run_beliefs_cmd = beliefs->runner([o](Command& c) { return run_beliefs(*o, c); });
  return [info, run_info_cmd, run_beliefs_cmd] {
    return info->app().parsed() ? run_info_cmd() : run_beliefs_cmd();
  };
}

}  // namespace actlens::cli
