// actlens ged: the GED seed (ged-gpt2-him-her) over every layer of a capture: per layer, PCA to
// 99% variance, regularized generalized eigendecomposition class a vs class b in both
// directions, t-tests of the projections (train and test), and the correlation of the patterns.
#include <cmath>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>

#include <spdlog/spdlog.h>

#include "actlens/core/ged.hpp"
#include "actlens/error.hpp"
#include "actlens/io/activation_set.hpp"
#include "actlens/io/npy.hpp"
#include "actlens/io/parse_number.hpp"
#include "actlens/io/two_class_input.hpp"
#include "actlens/report/interrupt.hpp"
#include "actlens/report/output_dir.hpp"
#include "actlens/report/progress.hpp"
#include "actlens/report/run_info.hpp"
#include "actlens/report/schema.hpp"
#include "actlens/report/writers.hpp"
#include "cli_common.hpp"
#include "command.hpp"

namespace actlens::cli {
namespace fs = std::filesystem;
namespace sc = schema::ged;

namespace {

struct GedCliOptions {
  std::string activations, labels, label_column = "label", key = "activations", classes;
  std::string a, b;
  std::string test, test_labels, test_a, test_b;
  std::string hooks = "*", layers = "all";
  double shrinkage = 0.01;
  double pca_variance = -1;  // -1: the seed's rule
};

std::vector<std::string> split_names(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = s.find(',', start);
    out.push_back(s.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// The layers to analyse, named as the training set's first input names them.
std::vector<std::string> pick_layers(const io::ActivationSet& s, const GedCliOptions& o) {
  std::vector<io::LayerRef> refs;
  if (s.is_folder()) {
    refs = s.select_names(o.hooks, "--hooks");
  } else if (s.axis_layers() > 0) {
    refs = s.select_indices(parse_layers(o.layers, s.axis_layers(), "--layers"));
  } else {
    refs = s.layers();
  }
  std::vector<std::string> names;
  for (const auto& r : refs) names.push_back(r.name);
  return names;
}

std::string dir_name(const std::string& layer) {
  return layer.empty() ? "activations" : layer;
}

nlohmann::json direction_json(const core::GedDirection& d) {
  nlohmann::json j = {
      {"train_t", d.train.t},
      {"train_abs_t", std::fabs(d.train.t)},
      {"train_p", d.train.p},
      {"train_df", d.train.df},
      {"top_eigenvalue", d.eigenvalues[0]},
      {"eigenvalues",
       std::vector<double>(d.eigenvalues.data(), d.eigenvalues.data() + d.eigenvalues.size())}};
  if (d.test) {
    j["test_t"] = d.test->t;
    j["test_abs_t"] = std::fabs(d.test->t);
    j["test_p"] = d.test->p;
  }
  return j;
}

std::string num(double v) {
  return report::format_double(v);
}

// ged_layers.csv and ged.json's "layers", one entry per layer.
struct LayerTable {
  std::vector<std::vector<std::string>> rows;
  nlohmann::json json = nlohmann::json::array();
};

// layers/<layer>/: the filters, patterns, eigenvalues and vectors of both directions, and the
// projection of every train (and test) row.
void write_layer_files(const fs::path& dir, const core::GedResult& r,
                       const io::TwoClassInput& train, const io::TwoClassInput* test) {
  fs::create_directories(dir);
  for (const auto& [tag, d] : {std::pair{sc::kAGtB, &r.a_gt_b}, std::pair{sc::kBGtA, &r.b_gt_a}}) {
    const std::string t = tag;
    io::write_npy(dir / ("filter_" + t + ".npy"), io::make_array(io::to_std_vector(d->filter)));
    io::write_npy(dir / ("pattern_" + t + ".npy"), io::make_array(io::to_std_vector(d->pattern)));
    io::write_npy(dir / ("eigenvalues_" + t + ".npy"),
                  io::make_array(io::to_std_vector(d->eigenvalues)));
    io::write_npy(dir / ("vector_" + t + ".npy"), io::make_array(io::to_std_vector(d->vector)));
  }
  std::vector<std::vector<std::string>> proj;
  const auto add = [&](const char* split, const io::TwoClassInput& set, const Eigen::VectorXd& ab,
                       const Eigen::VectorXd& ba) {
    for (Eigen::Index i = 0; i < ab.size(); ++i) {
      const auto s = static_cast<std::size_t>(i);
      proj.push_back(
          {split, std::to_string(set.source_row(s)), set.labels()[s], num(ab[i]), num(ba[i])});
    }
  };
  add("train", train, r.a_gt_b.train_projection, r.b_gt_a.train_projection);
  if (test) add("test", *test, r.a_gt_b.test_projection, r.b_gt_a.test_projection);
  report::write_csv(dir / sc::kProjections,
                    {sc::kSplit, sc::kRow, sc::kLabel, sc::kProjectionAB, sc::kProjectionBA}, proj);
}

// GED of one layer: reads it from both sets, solves, writes its folder and adds its table row.
void analyse_layer(std::size_t li, const std::string& name, io::TwoClassInput& train,
                   io::TwoClassInput* test, const core::GedOptions& go, const fs::path& out,
                   LayerTable& table) {
  const core::RowMatrixXd x = train.read(name);
  std::optional<core::RowMatrixXd> xt;
  if (test) xt = test->read(name);
  const std::string where = name.empty() ? train.sets()[0].path().string() : "layer " + name;
  if (static_cast<std::size_t>(x.rows()) != train.is_b().size())
    throw Error(where + ": the training rows changed between layers");
  // std::vector<bool> has no data(): copy the flags into bytes for the span
  const std::vector<char> flags(train.is_b().begin(), train.is_b().end());
  std::vector<char> test_flags;
  if (test) test_flags.assign(test->is_b().begin(), test->is_b().end());
  const auto as_bools = [](const std::vector<char>& v) {
    return std::span<const bool>(reinterpret_cast<const bool*>(v.data()), v.size());
  };
  core::GedResult r;
  try {
    r = core::ged_two_class(x, as_bools(flags), xt ? &*xt : nullptr, as_bools(test_flags), go);
  } catch (const std::invalid_argument& e) {
    throw Error(where + ": " + e.what());
  }
  const auto& ab = r.a_gt_b;
  const auto& ba = r.b_gt_a;
  table.rows.push_back({std::to_string(li), name, num(std::fabs(ab.train.t)), num(ab.train.p),
                        num(std::fabs(ba.train.t)), num(ba.train.p),
                        num(std::fabs(r.pattern_correlation.r)), num(r.pattern_correlation.p),
                        ab.test ? num(std::fabs(ab.test->t)) : "", ab.test ? num(ab.test->p) : "",
                        ba.test ? num(std::fabs(ba.test->t)) : "", ba.test ? num(ba.test->p) : "",
                        num(ab.eigenvalues[0]), num(ba.eigenvalues[0]),
                        std::to_string(r.n_components), num(r.variance_kept)});
  table.json.push_back({{"index", li},
                        {"layer", name},
                        {"n_train", x.rows()},
                        {"n_test", xt ? xt->rows() : 0},
                        {"dim", x.cols()},
                        {"n_components", r.n_components},
                        {"variance_kept", r.variance_kept},
                        {"a_gt_b", direction_json(ab)},
                        {"b_gt_a", direction_json(ba)},
                        {"pattern_r", r.pattern_correlation.r},
                        {"pattern_p", r.pattern_correlation.p}});
  write_layer_files(out / sc::kLayerDirs / dir_name(name), r, train, test);
  spdlog::debug("{}: {} components ({:.2f}%), |t| {:.3f} / {:.3f}, |r| {:.4f}", where,
                r.n_components, r.variance_kept, std::fabs(ab.train.t), std::fabs(ba.train.t),
                std::fabs(r.pattern_correlation.r));
}

void write_tables(const fs::path& out, const LayerTable& table,
                  const std::vector<std::string>& classes, const GedCliOptions& o) {
  // Every row names the two classes: "a" and "b" of the column names are these labels.
  std::vector<std::vector<std::string>> rows = table.rows;
  for (auto& r : rows) r.insert(r.begin() + 2, {classes[0], classes[1]});
  report::write_csv(
      out / sc::kLayers,
      {sc::kIndex, sc::kLayer, sc::kClassA, sc::kClassB, sc::kTrainAbsTAB, sc::kTrainPAB,
       sc::kTrainAbsTBA, sc::kTrainPBA, sc::kPatternAbsR, sc::kPatternP, sc::kTestAbsTAB,
       sc::kTestPAB, sc::kTestAbsTBA, sc::kTestPBA, sc::kTopEigenvalueAB, sc::kTopEigenvalueBA,
       sc::kNComponents, sc::kVarianceKept},
      rows);
  nlohmann::json j;
  j[sc::kJsonClasses] = {{"a", classes[0]}, {"b", classes[1]}};
  j["shrinkage"] = o.shrinkage;
  j[sc::kJsonComponentRule] =
      o.pca_variance > 0
          ? fmt::format("smallest count whose cumulative variance reaches {}%", o.pca_variance)
          : "seed: np.where(cumulative% > 99)[0][0] (one fewer than the first count above 99%)";
  j[sc::kJsonBonferroniAlpha] = 0.05 / static_cast<double>(table.rows.size());
  j["sign_convention"] =
      "each direction's filter (V_m w) has its largest-|.| coordinate positive; |t| and |r| do "
      "not depend on it";
  j["columns"] = {
      {"a_gt_b", "eigh(S_a, R~_b): the direction with the most class-a variance relative to b"},
      {"b_gt_a", "eigh(S_b, R~_a)"},
      {"class_a, class_b", "the labels of classes a and b (ged_layers.csv repeats them per row)"},
      {"train_abs_t_*", "|t| of Student's t-test (equal variance, two-sided) of class a vs b"},
      {"pattern_abs_r", "|Pearson r| between the two patterns V_m S w (activation space)"}};
  j["layers"] = table.json;
  report::write_json(out / sc::kJson, j);
}

void add_inputs(report::RunInfo& info, const io::TwoClassInput& t) {
  const auto& sets = t.sets();
  for (std::size_t i = 0; i < sets.size(); ++i) {
    std::error_code ec;
    const auto& p = sets[i].path();
    info.add_input(t.role() + (sets.size() == 2 ? (i ? "_b" : "_a") : ""), p,
                   t.role() + " activations",
                   fs::is_regular_file(p, ec) ? fs::file_size(p, ec) : 0);
  }
  for (const auto& l : t.label_files())
    info.add_input(t.role() + "_labels", l, "labels", fs::file_size(l));
}

int run_ged(const GedCliOptions& o, Command& cmd) {
  const bool labeled = !o.activations.empty();
  const bool paired = !o.a.empty() || !o.b.empty();
  if (labeled == paired)
    throw UsageError("give either --activations PATH (with labels) or --a PATH --b PATH");
  if (paired && (o.a.empty() || o.b.empty())) throw UsageError("--a and --b go together");
  if (!o.test_a.empty() != !o.test_b.empty()) throw UsageError("--test-a and --test-b go together");
  if (!o.test.empty() && !o.test_a.empty()) throw UsageError("use --test or --test-a/--test-b");
  std::vector<std::string> classes;  // --classes is checked by its validator
  if (!o.classes.empty()) {
    classes = split_names(o.classes);
  } else if (paired) {
    classes = {fs::path(o.a).stem().string(), fs::path(o.b).stem().string()};
    if (classes[0] == classes[1]) classes = {"a", "b"};
  }

  report::RunInfo& info = cmd.start();
  info.start("open");
  const io::TwoClassOptions to{o.key, o.label_column};
  using io::TwoClassInput;
  TwoClassInput train = labeled ? TwoClassInput::open_labeled("train", o.activations, o.labels, to,
                                                              classes, "--labels")
                                : TwoClassInput::open_pair("train", o.a, o.b, to, classes);
  std::optional<TwoClassInput> test;
  if (!o.test.empty())
    test = TwoClassInput::open_labeled("test", o.test, o.test_labels, to, classes, "--test-labels");
  else if (!o.test_a.empty())
    test = TwoClassInput::open_pair("test", o.test_a, o.test_b, to, classes);
  const std::vector<std::string> layers = pick_layers(train.sets()[0], o);
  info.stop("open");
  report::OutputDir& out = cmd.output();

  core::GedOptions go;
  go.shrinkage = o.shrinkage;
  go.variance_percent = o.pca_variance;
  spdlog::info("GED {} > {} and {} > {} over {} layer(s) of {}, shrinkage {}, components: {}",
               classes[0], classes[1], classes[1], classes[0], layers.size(),
               train.sets()[0].path().string(), o.shrinkage,
               o.pca_variance > 0 ? fmt::format("reaching {}% variance", o.pca_variance)
                                  : std::string("the seed's rule (99%)"));

  LayerTable table;
  report::Progress progress("layers", layers.size(), true);
  info.start("analyse");
  for (std::size_t li = 0; li < layers.size(); ++li) {
    report::check_interrupted();
    analyse_layer(li, layers[li], train, test ? &*test : nullptr, go, out.path(), table);
    progress.advance();
  }
  progress.finish();
  info.stop("analyse");

  info.start("write");
  write_tables(out.path(), table, classes, o);
  info.stop("write");

  add_inputs(info, train);
  if (test) add_inputs(info, *test);
  auto& resolved = info.section("resolved");
  resolved["classes"] = {classes[0], classes[1]};
  resolved["layers"] = layers;
  auto& s = info.summary();
  s["layers"] = layers.size();
  s["n_train"] = train.is_b().size();
  s["n_test"] = test ? test->is_b().size() : 0;
  return cmd.finish();
}

}  // namespace

Runner register_ged(CLI::App& app) {
  auto o = std::make_shared<GedCliOptions>();
  auto cmd = Command::add(
      app,
      {"ged", "Regularized generalized eigendecomposition of two classes per layer (the GED seed)",
       "results/ged"});
  CLI::App* sub = &cmd->app();
  sub->add_option("--activations", o->activations,
                  "Training activations: a folder of per-layer files (e.g. an `actlens capture` "
                  "output) or one [N, d] / [N, n_layers, d] file");
  sub->add_option("--labels", o->labels,
                  "Class of each training row (.csv .npy .txt); default: the folder's labels.csv");
  sub->add_option("--label-column", o->label_column, "Label column of CSV label files")
      ->capture_default_str();
  sub->add_option("--classes", o->classes,
                  "The two labels to compare, a,b (default: the only two, in order of first "
                  "appearance); rows with other labels are left out")
      ->check([](const std::string& s) -> std::string {
        const auto c = split_names(s);
        if (c.size() == 2 && !c[0].empty() && !c[1].empty() && c[0] != c[1]) return {};
        return "two different labels, a,b (a is the first class)";
      });
  sub->add_option("--a", o->a, "Instead of --activations: the class-a activations");
  sub->add_option("--b", o->b, "... and the class-b activations");
  sub->add_option("--test", o->test, "Test activations (out-of-sample t-tests), as --activations");
  sub->add_option("--test-labels", o->test_labels,
                  "Class of each test row; default: the test folder's labels.csv");
  sub->add_option("--test-a", o->test_a, "Instead of --test: class-a test activations");
  sub->add_option("--test-b", o->test_b, "... and class-b test activations");
  sub->add_option("--hooks", o->hooks, "Layers of a folder, comma-separated globs")
      ->capture_default_str();
  sub->add_option("--layers", o->layers,
                  "Layers of an [N, n_layers, d] file: '3,5', '0-5' or 'all'")
      ->capture_default_str();
  sub->add_option("--shrinkage", o->shrinkage,
                  "g in R~ = (1 - g) R + g mean(eig R) I (the seed's regu_gam)")
      ->check(number_range(0, 1))
      ->capture_default_str();
  sub->add_option("--pca-variance", o->pca_variance,
                  "Keep the fewest PCA components reaching this cumulative % (default: the seed's "
                  "rule, np.where(cum% > 99)[0][0], one component fewer)")
      ->check([](const std::string& s) -> std::string {
        const std::optional<double> v = io::parse_double(s);
        if (v && *v > 0 && *v <= 100) return {};
        return "a percentage in (0, 100], got '" + s + "'";
      });
  sub->add_option("--key", o->key, "Array name inside .npz/.safetensors/.pt files")
      ->capture_default_str();
  return cmd->runner([o](Command& c) { return run_ged(*o, c); });
}

}  // namespace actlens::cli
