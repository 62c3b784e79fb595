// actlens ged: the GED seed (ged-gpt2-him-her) over every layer of a capture: per layer, PCA to
// 99% variance, regularized generalized eigendecomposition class a vs class b in both
// directions, t-tests of the projections (train and test), and the correlation of the patterns.
#include <filesystem>
#include <memory>
#include <optional>

#include <spdlog/spdlog.h>

#include "activation_input.hpp"
#include "actlens/core/error.hpp"
#include "actlens/core/finite.hpp"
#include "actlens/core/ged.hpp"
#include "actlens/io/activation_set.hpp"
#include "actlens/io/npy.hpp"
#include "actlens/io/plain_activations.hpp"
#include "actlens/report/interrupt.hpp"
#include "actlens/report/output_dir.hpp"
#include "actlens/report/progress.hpp"
#include "actlens/report/run_info.hpp"
#include "actlens/report/writers.hpp"
#include "cli_common.hpp"
#include "commands.hpp"

namespace actlens::cli {
namespace fs = std::filesystem;

namespace {

struct GedCliOptions {
  FigureFlags figures;
  std::string activations, labels, label_column = "label", key = "activations", classes;
  std::string a, b;
  std::string test, test_labels, test_a, test_b;
  std::string hooks = "*", layers = "all";
  double shrinkage = 0.01;
  double pca_variance = -1;
  int threads = 0;
  std::string out = "results/ged";
};

// A two-class activation set (train or test): either one input with a label per row, or one
// input per class. Rows of other labels are left out.
struct TwoClassSet {
  std::string role;                     // "train" or "test", for messages
  std::vector<io::ActivationSet> sets;  // 1 (labels) or 2 (a, b)
  std::vector<std::int64_t> keep;       // labels mode: rows of the input that belong to a or b
  std::vector<bool> is_b;               // per kept row
  std::vector<std::string> labels;      // per kept row
  std::int64_t n_input_rows = 0;        // labels mode: rows the labels file describes
  std::vector<fs::path> label_files;

  // The rows of layer `name` [n_kept, d], float64, checked for NaN/Inf.
  core::RowMatrixXd read(const std::string& name) const {
    std::vector<core::RowMatrixXd> parts;
    for (const auto& s : sets) {
      const io::LayerRef* ref = nullptr;
      for (const auto& l : s.layers())
        if (l.name == name) ref = &l;
      if (!ref)
        throw Error(s.path().string() + ": no layer '" + name + "' (the " + role +
                    " inputs must have the same layers as the training set)");
      parts.push_back(s.read(*ref));
      const auto& x = parts.back();
      const std::string where = ref->file.string() + (name.empty() ? "" : " (" + name + ")");
      if (!core::all_finite(x.data(), static_cast<std::size_t>(x.size())))
        for (Eigen::Index r = 0; r < x.rows(); ++r)
          if (!core::all_finite(x.row(r).data(), static_cast<std::size_t>(x.cols())))
            throw Error(where + ": row " + std::to_string(r) + " has NaN/Inf; fix or drop it");
      if (sets.size() == 1 && x.rows() != n_input_rows)
        throw Error(where + " has " + std::to_string(x.rows()) + " rows but " +
                    label_files[0].string() + " has " + std::to_string(n_input_rows) +
                    " labels; they must match one to one");
    }
    if (parts.size() == 2) {
      if (parts[0].cols() != parts[1].cols())
        throw Error(role + " layer '" + name + "': class a has " + std::to_string(parts[0].cols()) +
                    " features, class b " + std::to_string(parts[1].cols()));
      core::RowMatrixXd x(parts[0].rows() + parts[1].rows(), parts[0].cols());
      x << parts[0], parts[1];
      return x;
    }
    core::RowMatrixXd x(static_cast<Eigen::Index>(keep.size()), parts[0].cols());
    for (std::size_t i = 0; i < keep.size(); ++i)
      x.row(static_cast<Eigen::Index>(i)) = parts[0].row(keep[i]);
    return x;
  }
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

// Labels mode. `classes` (a, b) empty: the two labels of the file, in order of first appearance.
TwoClassSet open_labeled(const std::string& role, const fs::path& path, const fs::path& labels,
                         const GedCliOptions& o, std::vector<std::string>& classes,
                         const std::string& labels_flag) {
  TwoClassSet t;
  t.role = role;
  t.sets.push_back(io::ActivationSet::open(path, o.key));
  fs::path lab = labels.empty() ? t.sets[0].labels_file() : labels;
  if (lab.empty())
    throw UsageError(labels_flag + ": " + path.string() +
                     " has no labels.csv; give the class of each row with " + labels_flag);
  t.label_files.push_back(lab);
  const auto names = io::read_labels(lab, o.label_column);
  t.n_input_rows = static_cast<std::int64_t>(names.size());
  if (classes.empty()) {
    for (const auto& n : names)
      if (std::find(classes.begin(), classes.end(), n) == classes.end()) classes.push_back(n);
    if (classes.size() != 2) {
      std::string list;
      for (std::size_t i = 0; i < classes.size() && i < 8; ++i)
        list += (i ? ", " : "") + classes[i];
      throw Error(lab.string() + ": GED compares two classes, but the labels have " +
                  std::to_string(classes.size()) + " (" + list +
                  (classes.size() > 8 ? ", ..." : "") + "); pick two with --classes A,B");
    }
  }
  for (std::size_t i = 0; i < names.size(); ++i) {
    const bool a = names[i] == classes[0], b = names[i] == classes[1];
    if (!a && !b) continue;
    t.keep.push_back(static_cast<std::int64_t>(i));
    t.is_b.push_back(b);
    t.labels.push_back(names[i]);
  }
  for (int c = 0; c < 2; ++c)
    if (std::count(t.is_b.begin(), t.is_b.end(), c == 1) == 0)
      throw Error(lab.string() + ": no " + role + " row is labelled '" +
                  classes[static_cast<std::size_t>(c)] + "' (column '" + o.label_column +
                  "'); check --classes");
  return t;
}

// One input per class.
TwoClassSet open_pair(const std::string& role, const fs::path& a, const fs::path& b,
                      const GedCliOptions& o) {
  TwoClassSet t;
  t.role = role;
  t.sets.push_back(io::ActivationSet::open(a, o.key));
  t.sets.push_back(io::ActivationSet::open(b, o.key));
  return t;
}

// Pair mode learns its row counts (and so the class flags) from the first layer it reads.
void fill_pair_flags(TwoClassSet& t, const std::string& layer,
                     const std::vector<std::string>& classes) {
  if (t.sets.size() != 2 || !t.is_b.empty()) return;
  for (int c = 0; c < 2; ++c) {
    const auto& s = t.sets[static_cast<std::size_t>(c)];
    for (const auto& l : s.layers())
      if (l.name == layer) {
        const auto rows = s.read(l).rows();
        for (Eigen::Index r = 0; r < rows; ++r) {
          t.is_b.push_back(c == 1);
          t.labels.push_back(classes[static_cast<std::size_t>(c)]);
        }
      }
  }
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

std::vector<double> vec(const Eigen::VectorXd& v) {
  return std::vector<double>(v.data(), v.data() + v.size());
}

int run_ged(const GedCliOptions& o) {
  set_threads(o.threads);
  const bool labeled = !o.activations.empty();
  const bool paired = !o.a.empty() || !o.b.empty();
  if (labeled == paired)
    throw UsageError("give either --activations PATH (with labels) or --a PATH --b PATH");
  if (paired && (o.a.empty() || o.b.empty())) throw UsageError("--a and --b go together");
  if (!o.test_a.empty() != !o.test_b.empty()) throw UsageError("--test-a and --test-b go together");
  if (!o.test.empty() && !o.test_a.empty()) throw UsageError("use --test or --test-a/--test-b");
  if (!(o.shrinkage >= 0 && o.shrinkage <= 1)) throw UsageError("--shrinkage: a value in [0, 1]");
  if (o.pca_variance != -1 && !(o.pca_variance > 0 && o.pca_variance <= 100))
    throw UsageError("--pca-variance: a percentage in (0, 100]");
  std::vector<std::string> classes;
  if (!o.classes.empty()) {
    classes = split_names(o.classes);
    if (classes.size() != 2 || classes[0].empty() || classes[1].empty() || classes[0] == classes[1])
      throw UsageError("--classes: two different labels, a,b (a is the first class)");
  } else if (paired) {
    classes = {fs::path(o.a).stem().string(), fs::path(o.b).stem().string()};
    if (classes[0] == classes[1]) classes = {"a", "b"};
  }

  report::RunInfo info("ged", command_line(), ACTLENS_VERSION);
  info.start("open");
  TwoClassSet train = labeled
                          ? open_labeled("train", o.activations, o.labels, o, classes, "--labels")
                          : open_pair("train", o.a, o.b, o);
  std::optional<TwoClassSet> test;
  if (!o.test.empty())
    test = open_labeled("test", o.test, o.test_labels, o, classes, "--test-labels");
  else if (!o.test_a.empty())
    test = open_pair("test", o.test_a, o.test_b, o);
  const std::vector<std::string> layers = pick_layers(train.sets[0], o);
  info.stop("open");
  report::OutputDir out(o.out, "ged");

  core::GedOptions go;
  go.shrinkage = o.shrinkage;
  go.variance_percent = o.pca_variance;
  spdlog::info("GED {} > {} and {} > {} over {} layer(s) of {}, shrinkage {}, components: {}",
               classes[0], classes[1], classes[1], classes[0], layers.size(),
               train.sets[0].path().string(), o.shrinkage,
               o.pca_variance > 0 ? fmt::format("reaching {}% variance", o.pca_variance)
                                  : std::string("the seed's rule (99%)"));

  std::vector<std::string> header = {"index",
                                     "layer",
                                     "train_abs_t_a_gt_b",
                                     "train_p_a_gt_b",
                                     "train_abs_t_b_gt_a",
                                     "train_p_b_gt_a",
                                     "pattern_abs_r",
                                     "pattern_p",
                                     "test_abs_t_a_gt_b",
                                     "test_p_a_gt_b",
                                     "test_abs_t_b_gt_a",
                                     "test_p_b_gt_a",
                                     "top_eigenvalue_a_gt_b",
                                     "top_eigenvalue_b_gt_a",
                                     "n_components",
                                     "variance_kept"};
  std::vector<std::vector<std::string>> table;
  nlohmann::json layer_json = nlohmann::json::array();
  report::Progress progress("layers", layers.size(), true);
  const auto f = [](double v) { return report::format_double(v); };
  info.start("analyse");
  for (std::size_t li = 0; li < layers.size(); ++li) {
    report::check_interrupted();
    const std::string& name = layers[li];
    fill_pair_flags(train, name, classes);
    const core::RowMatrixXd x = train.read(name);
    std::optional<core::RowMatrixXd> xt;
    if (test) {
      fill_pair_flags(*test, name, classes);
      xt = test->read(name);
    }
    const std::string where = name.empty() ? train.sets[0].path().string() : "layer " + name;
    if (static_cast<std::size_t>(x.rows()) != train.is_b.size())
      throw Error(where + ": the training rows changed between layers");
    std::vector<char> flags(train.is_b.begin(), train.is_b.end());
    std::vector<char> test_flags;
    if (test) test_flags.assign(test->is_b.begin(), test->is_b.end());
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
    table.push_back({std::to_string(li), name, f(std::fabs(ab.train.t)), f(ab.train.p),
                     f(std::fabs(ba.train.t)), f(ba.train.p), f(std::fabs(r.pattern_correlation.r)),
                     f(r.pattern_correlation.p), ab.test ? f(std::fabs(ab.test->t)) : "",
                     ab.test ? f(ab.test->p) : "", ba.test ? f(std::fabs(ba.test->t)) : "",
                     ba.test ? f(ba.test->p) : "", f(ab.eigenvalues[0]), f(ba.eigenvalues[0]),
                     std::to_string(r.n_components), f(r.variance_kept)});
    layer_json.push_back({{"index", li},
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
    const fs::path dir = out.path() / "layers" / dir_name(name);
    fs::create_directories(dir);
    for (const auto& [tag, d] : {std::pair{"a_gt_b", &ab}, std::pair{"b_gt_a", &ba}}) {
      const std::string t = tag;
      io::write_npy(dir / ("filter_" + t + ".npy"), io::make_array(vec(d->filter)));
      io::write_npy(dir / ("pattern_" + t + ".npy"), io::make_array(vec(d->pattern)));
      io::write_npy(dir / ("eigenvalues_" + t + ".npy"), io::make_array(vec(d->eigenvalues)));
      io::write_npy(dir / ("vector_" + t + ".npy"), io::make_array(vec(d->vector)));
    }
    std::vector<std::vector<std::string>> proj;
    for (Eigen::Index i = 0; i < x.rows(); ++i) {
      const auto s = static_cast<std::size_t>(i);
      proj.push_back({"train", std::to_string(train.sets.size() == 1 ? train.keep[s] : i),
                      train.labels[s], f(ab.train_projection[i]), f(ba.train_projection[i])});
    }
    if (xt)
      for (Eigen::Index i = 0; i < xt->rows(); ++i) {
        const auto s = static_cast<std::size_t>(i);
        proj.push_back({"test", std::to_string(test->sets.size() == 1 ? test->keep[s] : i),
                        test->labels[s], f(ab.test_projection[i]), f(ba.test_projection[i])});
      }
    report::write_csv(dir / "projections.csv",
                      {"split", "row", "label", "projection_a_gt_b", "projection_b_gt_a"}, proj);
    spdlog::debug("{}: {} components ({:.2f}%), |t| {:.3f} / {:.3f}, |r| {:.4f}", where,
                  r.n_components, r.variance_kept, std::fabs(ab.train.t), std::fabs(ba.train.t),
                  std::fabs(r.pattern_correlation.r));
    progress.advance();
  }
  progress.finish();
  info.stop("analyse");

  info.start("write");
  report::write_csv(out.path() / "ged_layers.csv", header, table);
  nlohmann::json j;
  j["classes"] = {{"a", classes[0]}, {"b", classes[1]}};
  j["shrinkage"] = o.shrinkage;
  j["component_rule"] =
      o.pca_variance > 0
          ? fmt::format("smallest count whose cumulative variance reaches {}%", o.pca_variance)
          : "seed: np.where(cumulative% > 99)[0][0] (one fewer than the first count above 99%)";
  j["bonferroni_alpha"] = 0.05 / static_cast<double>(layers.size());
  j["sign_convention"] =
      "each direction's filter (V_m w) has its largest-|.| coordinate positive; |t| and |r| do "
      "not depend on it";
  j["columns"] = {
      {"a_gt_b", "eigh(S_a, R~_b): the direction with the most class-a variance relative to b"},
      {"b_gt_a", "eigh(S_b, R~_a)"},
      {"train_abs_t_*", "|t| of Student's t-test (equal variance, two-sided) of class a vs b"},
      {"pattern_abs_r", "|Pearson r| between the two patterns V_m S w (activation space)"}};
  j["layers"] = layer_json;
  report::write_json(out.path() / "ged.json", j);
  info.stop("write");

  const auto add_inputs = [&](const TwoClassSet& t) {
    for (std::size_t i = 0; i < t.sets.size(); ++i) {
      std::error_code ec;
      const auto& p = t.sets[i].path();
      info.add_input(t.role + (t.sets.size() == 2 ? (i ? "_b" : "_a") : ""), p,
                     t.role + " activations",
                     fs::is_regular_file(p, ec) ? fs::file_size(p, ec) : 0);
    }
    for (const auto& l : t.label_files)
      info.add_input(t.role + "_labels", l, "labels", fs::file_size(l));
  };
  add_inputs(train);
  if (test) add_inputs(*test);
  auto& opt = info.options();
  opt["classes"] = {classes[0], classes[1]};
  opt["shrinkage"] = o.shrinkage;
  opt["pca_variance"] = o.pca_variance > 0 ? nlohmann::json(o.pca_variance) : nlohmann::json();
  opt["layers"] = layers;
  opt["threads"] = o.threads;
  auto& s = info.summary();
  s["layers"] = layers.size();
  s["n_train"] = train.is_b.size();
  s["n_test"] = test ? test->is_b.size() : 0;
  draw_figures("ged", out.path(), out.target(), o.figures, info);
  info.write(out.path());
  out.commit();
  spdlog::info("results in {}", out.target().string());
  return 0;
}

}  // namespace

Runner register_ged(CLI::App& app) {
  auto o = std::make_shared<GedCliOptions>();
  auto* sub = app.add_subcommand(
      "ged", "Regularized generalized eigendecomposition of two classes per layer (the GED seed)");
  sub->add_option("--activations", o->activations,
                  "Training activations: a folder of per-layer files (e.g. an `actlens capture` "
                  "output) or one [N, d] / [N, n_layers, d] file");
  sub->add_option("--labels", o->labels,
                  "Class of each training row (.csv .npy .txt); default: the folder's labels.csv");
  sub->add_option("--label-column", o->label_column, "Label column of CSV label files")
      ->capture_default_str();
  sub->add_option("--classes", o->classes,
                  "The two labels to compare, a,b (default: the only two, in order of first "
                  "appearance); rows with other labels are left out");
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
      ->capture_default_str();
  sub->add_option("--pca-variance", o->pca_variance,
                  "Keep the fewest PCA components reaching this cumulative % (default: the seed's "
                  "rule, np.where(cum% > 99)[0][0], one component fewer)");
  sub->add_option("--key", o->key, "Array name inside .npz/.safetensors/.pt files")
      ->capture_default_str();
  add_threads_option(*sub, o->threads, "Threads for BLAS (default: all cores)");
  sub->add_option("-o,--out", o->out, "Output folder (replaced atomically)")->capture_default_str();
  add_figure_options(*sub, o->figures);
  add_config_option(*sub);
  return [o] { return run_ged(*o); };
}

}  // namespace actlens::cli
