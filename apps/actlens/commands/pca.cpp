// actlens pca: principal components of activations (seed pca-gpt2-days: L2-normalised final-token
// activations -> PCA(3)), with sklearn PCA's semantics; fit on one set, project it and others.
#include <cmath>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "activation_input.hpp"
#include "actlens/core/pca.hpp"
#include "actlens/core/scaler.hpp"
#include "actlens/core/scatter.hpp"
#include "actlens/error.hpp"
#include "actlens/io/nan_policy.hpp"
#include "actlens/io/npy.hpp"
#include "actlens/io/parse_number.hpp"
#include "actlens/io/plain_activations.hpp"
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
namespace sc = schema::pca;

namespace {

constexpr double kKeepBytes = 1024.0 * 1024.0 * 1024.0;

struct PcaOptions {
  std::string activations, hook, labels, key = "activations", label_column = "label";
  std::string text_column = "text";
  int layer = -1;
  std::string components = "3";
  std::string normalize = "l2";
  std::string solver = "auto";
  std::string apply_to, apply_hook, apply_labels;
  int apply_layer = -1;
  int csv_components = 10;
};

// -k: a positive whole number of components, or "all" (nullopt: min(samples, features)).
// Throws std::invalid_argument otherwise.
std::optional<Eigen::Index> parse_components(const std::string& s) {
  if (s == "all") return std::nullopt;
  const std::optional<long> v = io::parse_long(s);
  if (!v || *v < 1)
    throw std::invalid_argument("a positive number of components or 'all', got '" + s + "'");
  return *v;
}

bool scaled(const std::string& normalize) {
  return normalize == "center" || normalize == "standard";
}

// The seed's x / (||x|| + 1e-8) per row, or sklearn's StandardScaler / centring fitted on the
// fit set; applied the same way to every set that is projected.
struct Normalizer {
  std::string kind;           // none | l2 | center | standard
  core::FittedScaler scaler;  // center, standard: fitted on the fit set

  void apply(core::RowMatrixXd& x) const {
    if (kind == "l2") {
      for (Eigen::Index r = 0; r < x.rows(); ++r) x.row(r) /= (x.row(r).norm() + 1e-8);
    } else if (scaled(kind)) {
      scaler.transform(x);
    }
  }
  // Fits the scaler of center/standard from the count, means and centred sums of squares.
  void fit(std::int64_t n, const Eigen::VectorXd& mean, const Eigen::VectorXd& css) {
    const auto k = kind == "standard" ? core::ScalerKind::Standard : core::ScalerKind::Mean;
    scaler = core::fit_scaler(k, static_cast<double>(n), mean, css);
  }
};

// An opened input: rows stream in chunks; labels and texts per row.
struct OpenedInput {
  SingleLayerInput where;
  std::unique_ptr<io::PlainActivations> rows;
  std::vector<int> layers;  // {index on the layer axis} or {0}
  std::vector<std::string> labels, texts;
};

OpenedInput open_input(const std::string& path, const std::string& hook, int layer,
                       const std::string& labels, const PcaOptions& o, const std::string& prefix) {
  OpenedInput in;
  in.where = resolve_single_layer(path, o.key, hook, layer, labels, prefix);
  io::PlainActivationsOptions po;
  po.key = o.key;
  po.label_column = o.label_column;
  in.rows = io::PlainActivations::open(in.where.file, in.where.labels, po);
  in.layers = {in.where.layer >= 0 ? in.where.layer : 0};
  if (!in.where.labels.empty()) {
    in.labels = io::read_labels(in.where.labels, o.label_column);
    in.texts = read_optional_column(in.where.labels, o.text_column);
  }
  return in;
}

// Calls `use` with every chunk of `in` as float64 rows, after checking for NaN/Inf.
void for_each_chunk(const OpenedInput& in, const std::string& label,
                    const std::function<void(core::RowMatrixXd&, std::int64_t first_row)>& use) {
  report::Progress progress(label, in.rows->n_chunks(), true);
  std::int64_t first = 0;
  for (std::size_t i = 0; i < in.rows->n_chunks(); ++i) {
    report::check_interrupted();
    core::RowMatrixXd x = in.rows->read_chunk_double(i, in.layers[0]);
    if (const auto r = io::first_nonfinite_row(x); r >= 0)
      throw Error(in.where.file.string() + ": row " + std::to_string(first + r) + " has NaN/Inf" +
                  (in.where.name.empty() ? "" : " (" + in.where.name + ")") +
                  "; fix or drop that sample");
    use(x, first);
    first += x.rows();
    progress.advance();
  }
  progress.finish();
}

core::RowMatrixXd project(const OpenedInput& in, const Normalizer& norm, const core::PcaFit& fit,
                          const char* label) {
  core::RowMatrixXd proj(in.rows->n_samples(), fit.components.rows());
  for_each_chunk(in, label, [&](core::RowMatrixXd& x, std::int64_t first) {
    norm.apply(x);
    proj.middleRows(first, x.rows()) = fit.transform(x);
  });
  return proj;
}

// The fit, the normalizer it was fitted with, and the normalized rows when they were kept.
struct Fitted {
  core::PcaFit fit;
  Normalizer norm;
  std::optional<core::RowMatrixXd> rows;
};

// covariance: one streamed pass of float64 scatter sums; l2 is per row, so it applies before
// summing, and center/standard are affine: their statistics follow from the raw ones. Rows small
// enough to keep (<= 1 GiB as float64) are kept for the projection, which then needs no second
// pass over the file; larger inputs are read again.
Fitted fit_streamed(const OpenedInput& in, const std::string& normalize, Eigen::Index k) {
  const std::int64_t n = in.rows->n_samples(), d = in.rows->dim();
  Fitted f{{}, Normalizer{normalize, {}}, std::nullopt};
  core::ScatterAccumulator acc(d, 1);
  const bool keep = static_cast<double>(n) * static_cast<double>(d) * 8.0 <= kKeepBytes;
  core::RowMatrixXd kept(keep ? n : 0, keep ? d : 0);
  for_each_chunk(in, "accumulating", [&](core::RowMatrixXd& x, std::int64_t first) {
    f.norm.apply(x);
    const std::vector<int> ids(static_cast<std::size_t>(x.rows()), 0);
    acc.add(x, ids);
    if (keep) kept.middleRows(first, x.rows()) = x;
  });
  core::ScatterStats stats = acc.finalize();
  if (scaled(normalize)) {
    f.norm.fit(stats.n, stats.mean, stats.total_scatter.diagonal());
    stats = core::scale_stats(stats, f.norm.scaler.mean, f.norm.scaler.scale);
  }
  f.fit = core::pca_from_scatter(stats.mean, stats.total_scatter, stats.n, k);
  if (keep) {
    f.norm.scaler.transform(kept);  // center/standard (identity otherwise)
    f.rows = std::move(kept);
  }
  return f;
}

// gram / lanczos: every row in memory.
Fitted fit_in_memory(const OpenedInput& in, const std::string& normalize, const std::string& solver,
                     Eigen::Index k) {
  Fitted f{{}, Normalizer{normalize, {}}, std::nullopt};
  core::RowMatrixXd x(in.rows->n_samples(), in.rows->dim());
  const Normalizer rows_norm{normalize == "l2" ? "l2" : "none", {}};
  for_each_chunk(in, "reading", [&](core::RowMatrixXd& c, std::int64_t first) {
    rows_norm.apply(c);
    x.middleRows(first, c.rows()) = c;
  });
  if (scaled(normalize)) {
    const Eigen::VectorXd mean = x.colwise().mean().transpose();
    const Eigen::VectorXd css = (x.rowwise() - mean.transpose()).colwise().squaredNorm();
    f.norm.fit(x.rows(), mean, css);
    f.norm.scaler.transform(x);
  }
  f.fit = solver == "gram" ? core::pca_gram(x, k) : core::pca_topk(x, k);
  f.rows = std::move(x);
  return f;
}

// <stem>.npy [N, k] and <stem>.csv (index, label, text, PC1..PCc with c = min(k,
// csv_components): the CSV is for reading and plotting; the full projection of `-k all` would be a
// text copy of the whole data set).
void write_projections(const fs::path& dir, const std::string& stem, const OpenedInput& in,
                       const core::RowMatrixXd& proj, Eigen::Index csv_components) {
  io::write_npy(dir / (stem + ".npy"), io::make_array(proj));
  const Eigen::Index cols = std::min<Eigen::Index>(proj.cols(), csv_components);
  std::vector<std::string> header = {sc::kIndex, sc::kLabel, sc::kText};
  for (Eigen::Index c = 0; c < cols; ++c)
    header.push_back(schema::numbered(sc::kPcPrefix, static_cast<std::size_t>(c)));
  std::vector<std::vector<std::string>> rows;
  rows.reserve(static_cast<std::size_t>(proj.rows()));
  for (Eigen::Index r = 0; r < proj.rows(); ++r) {
    const auto i = static_cast<std::size_t>(r);
    std::vector<std::string> row = {std::to_string(r), i < in.labels.size() ? in.labels[i] : "",
                                    i < in.texts.size() ? in.texts[i] : ""};
    for (Eigen::Index c = 0; c < cols; ++c) row.push_back(report::format_double(proj(r, c)));
    rows.push_back(std::move(row));
  }
  report::write_csv(dir / (stem + ".csv"), header, rows);
}

// pca.json: the spectrum, counts of components per variance fraction, the elbow, the input.
nlohmann::json pca_json(const core::PcaFit& fit, Eigen::Index k, const OpenedInput& in,
                        const std::string& normalize) {
  const Eigen::VectorXd ratio = fit.explained_variance_ratio();
  const bool full = fit.spectrum.size() > 0;
  const Eigen::VectorXd all_ratio = full ? fit.spectrum_ratio() : ratio;
  nlohmann::json j;
  j["n_samples"] = in.rows->n_samples();
  j["n_features"] = in.rows->dim();
  j["n_components"] = k;
  j["normalize"] = normalize;
  j["solver"] = fit.solver;
  j["explained_variance"] = io::to_std_vector(fit.explained_variance);
  j[sc::kJsonExplainedVarianceRatio] = io::to_std_vector(ratio);
  std::vector<double> cumulative;
  double cum = 0;
  for (Eigen::Index i = 0; i < ratio.size(); ++i) cumulative.push_back(cum += ratio[i]);
  j["cumulative_ratio"] = cumulative;
  j["singular_values"] = io::to_std_vector(fit.singular_values());
  j["total_variance"] = fit.total_variance;
  if (full) {
    j[sc::kJsonSpectrum] = {{"explained_variance", io::to_std_vector(fit.spectrum)},
                            {sc::kJsonExplainedVarianceRatio, io::to_std_vector(all_ratio)}};
  }
  // Counts and elbow come from the full spectrum when the solver has it, else from the top k
  // (null when the top k do not reach the fraction).
  j[sc::kJsonComponentsFor] = nlohmann::json::object();
  for (int pct : {70, 80, 90, 95, 99}) {
    const Eigen::Index m = core::components_for_fraction(all_ratio, pct / 100.0);
    j[sc::kJsonComponentsFor][std::to_string(pct)] = m > 0 ? nlohmann::json(m) : nlohmann::json();
  }
  j[sc::kJsonElbow] = core::elbow(all_ratio);
  j["counts_from"] = full ? "full spectrum" : "top-k components";
  j["sign_convention"] =
      "sklearn svd_flip(u_based_decision=False): the largest-|.| coordinate of each component "
      "is positive";
  j["input"] = {{"file", in.where.file.string()}, {"layer", in.where.name}};
  nlohmann::json label_counts = nlohmann::json::array();
  for (const auto& c : in.rows->classes())
    label_counts.push_back({{"label", c.name}, {"count", c.count}});
  j["labels"] = label_counts;
  return j;
}

void write_results(const fs::path& dir, const Fitted& f, const nlohmann::json& j,
                   const OpenedInput& fit_in, const core::RowMatrixXd& proj,
                   const OpenedInput* apply_in, const core::RowMatrixXd* proj_apply,
                   int csv_components) {
  report::write_json(dir / sc::kJson, j);
  io::write_npy(dir / sc::kComponents, io::make_array(f.fit.components));
  io::write_npy(dir / sc::kMean, io::make_array(io::to_std_vector(f.fit.mean)));
  io::write_npy(dir / sc::kExplainedVariance,
                io::make_array(io::to_std_vector(f.fit.explained_variance)));
  if (scaled(f.norm.kind))
    io::write_npz(dir / sc::kScaler,
                  {{"mean", io::make_array(io::to_std_vector(f.norm.scaler.mean))},
                   {"scale", io::make_array(io::to_std_vector(f.norm.scaler.scale))}});
  write_projections(dir, sc::kProjections, fit_in, proj, csv_components);
  if (apply_in)
    write_projections(dir, sc::kProjectionsApplied, *apply_in, *proj_apply, csv_components);
}

void add_inputs(report::RunInfo& info, const OpenedInput& in, const std::string& role,
                const std::string& labels_role) {
  info.add_input(role, in.where.file, in.rows->describe(), in.rows->input_bytes());
  if (!in.where.labels.empty())
    info.add_input(labels_role, in.where.labels, "labels", fs::file_size(in.where.labels));
}

int run_pca(const PcaOptions& o, Command& cmd) {
  const std::optional<Eigen::Index> k_req = parse_components(o.components);  // validated

  report::RunInfo& info = cmd.start();
  info.start("open");
  const OpenedInput fit_in = open_input(o.activations, o.hook, o.layer, o.labels, o, "");
  std::optional<OpenedInput> apply_in;
  if (!o.apply_to.empty()) {
    apply_in =
        open_input(o.apply_to, o.apply_hook.empty() ? o.hook : o.apply_hook,
                   o.apply_layer >= 0 ? o.apply_layer : o.layer, o.apply_labels, o, "apply-");
    if (apply_in->rows->dim() != fit_in.rows->dim())
      throw Error(apply_in->where.file.string() + ": rows have " +
                  std::to_string(apply_in->rows->dim()) + " features, but the fit set (" +
                  fit_in.where.file.string() + ") has " + std::to_string(fit_in.rows->dim()));
  }
  info.stop("open");
  const std::int64_t n = fit_in.rows->n_samples();
  const std::int64_t d = fit_in.rows->dim();
  if (n < 2)
    throw Error(fit_in.where.file.string() + ": PCA needs at least 2 samples, got " +
                std::to_string(n));
  const Eigen::Index limit = std::min<Eigen::Index>(n, d);
  const Eigen::Index k = k_req ? *k_req : limit;
  if (k > limit)
    throw UsageError("-k " + std::to_string(k) + ": at most min(samples, features) = " +
                     std::to_string(limit) + " components exist");
  std::string solver = o.solver == "randomized" ? "lanczos" : o.solver;
  if (solver == "auto") solver = n < d ? "gram" : "covariance";
  if (solver == "lanczos" && k >= limit)
    throw UsageError("--solver lanczos: needs -k below min(samples, features) = " +
                     std::to_string(limit) + "; use the exact solver for the full spectrum");
  report::OutputDir& out = cmd.output();
  spdlog::info("PCA of {} ({} rows x {} features{}): {} components, normalize {}, solver {}",
               fit_in.where.file.string(), n, d,
               fit_in.where.name.empty() ? "" : ", " + fit_in.where.name, k, o.normalize, solver);

  info.start("fit");
  const Fitted f = solver == "covariance" ? fit_streamed(fit_in, o.normalize, k)
                                          : fit_in_memory(fit_in, o.normalize, solver, k);
  info.stop("fit");
  if (!(f.fit.total_variance > 0))
    throw Error(fit_in.where.file.string() +
                ": every feature is constant (zero total variance); nothing to analyse");

  info.start("project");
  const core::RowMatrixXd proj =
      f.rows ? f.fit.transform(*f.rows) : project(fit_in, f.norm, f.fit, "projecting");
  std::optional<core::RowMatrixXd> proj_apply;
  if (apply_in) proj_apply = project(*apply_in, f.norm, f.fit, "projecting --apply-to");
  info.stop("project");

  info.start("write");
  const nlohmann::json j = pca_json(f.fit, k, fit_in, o.normalize);
  write_results(out.path(), f, j, fit_in, proj, apply_in ? &*apply_in : nullptr,
                proj_apply ? &*proj_apply : nullptr, o.csv_components);
  info.stop("write");

  add_inputs(info, fit_in, "activations", "labels");
  if (apply_in) add_inputs(info, *apply_in, "apply_to", "apply_labels");
  auto& resolved = info.section("resolved");
  resolved["solver"] = f.fit.solver;
  resolved["layer"] = fit_in.where.name;
  auto& s = info.summary();
  s["n_samples"] = n;
  s["n_features"] = d;
  s["explained_variance_ratio"] = j[sc::kJsonExplainedVarianceRatio];
  s["components_for"] = j[sc::kJsonComponentsFor];
  s["elbow"] = j[sc::kJsonElbow];
  const Eigen::VectorXd ratio = f.fit.explained_variance_ratio();
  std::string shares;
  for (Eigen::Index i = 0; i < std::min<Eigen::Index>(k, 5); ++i)
    shares += fmt::format("{}{:.4f}", i ? ", " : "", ratio[i]);
  spdlog::info("explained variance ratio of PC1..: {}{}", shares, k > 5 ? ", ..." : "");
  return cmd.finish();
}

}  // namespace

Runner register_pca(CLI::App& app) {
  auto o = std::make_shared<PcaOptions>();
  auto cmd = Command::add(
      app, {"pca", "Principal components of activations (sklearn PCA semantics), with projections",
            "results/pca"});
  CLI::App* sub = &cmd->app();
  sub->add_option("--activations,--fit-on", o->activations,
                  "Activations to fit on: [N, d] or [N, n_layers, d] (.npy .npz .safetensors .pt), "
                  "or a folder of per-layer files such as `actlens capture` writes")
      ->required();
  sub->add_option("--hook", o->hook, "Layer file of a folder (e.g. blocks.8.hook_resid_post)");
  sub->add_option("--layer", o->layer, "Layer index of an [N, n_layers, d] file");
  sub->add_option("--labels", o->labels,
                  "Label per row (.csv .npy .txt); default: the folder's labels.csv, if any");
  sub->add_option("--label-column", o->label_column, "Label column of a CSV")
      ->capture_default_str();
  sub->add_option("--text-column", o->text_column,
                  "Text column of the labels CSV, copied into projections.csv")
      ->capture_default_str();
  sub->add_option("--key", o->key, "Array name inside .npz/.safetensors/.pt files")
      ->capture_default_str();
  sub->add_option("-k,--components", o->components,
                  "Number of components, or 'all' for min(samples, features)")
      ->check([](const std::string& s) -> std::string {
        try {
          parse_components(s);
          return {};
        } catch (const std::invalid_argument& e) {
          return e.what();
        }
      })
      ->capture_default_str();
  sub->add_option("--normalize", o->normalize,
                  "Before PCA: l2 (x / (||x|| + 1e-8) per row, as the seed), center, standard "
                  "(sklearn StandardScaler), none")
      ->check(one_of({"l2", "center", "standard", "none"}))
      ->capture_default_str();
  sub->add_option("--solver", o->solver,
                  "auto (gram when samples < features, else covariance), covariance (one "
                  "streamed pass, float64), gram (rows in memory), lanczos (top-k by Spectra, "
                  "no d x d matrix; alias randomized)")
      ->check(one_of({"auto", "covariance", "gram", "lanczos", "randomized"}))
      ->capture_default_str();
  sub->add_option("--apply-to", o->apply_to,
                  "Also project these activations with the fitted PCA (projections_applied.csv)");
  sub->add_option("--apply-hook", o->apply_hook,
                  "Layer file of the --apply-to folder (default --hook)");
  sub->add_option("--apply-layer", o->apply_layer, "Layer index of --apply-to (default --layer)");
  sub->add_option("--apply-labels", o->apply_labels,
                  "Labels of --apply-to (default: its folder's labels.csv)");
  sub->add_option("--csv-components", o->csv_components,
                  "PCs written to projections.csv (all k are in projections.npy)")
      ->check(int_range(0, 1 << 30))
      ->capture_default_str();
  return cmd->runner([o](Command& c) { return run_pca(*o, c); });
}

}  // namespace actlens::cli
