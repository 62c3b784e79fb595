// actlens pca: principal components of activations (seed pca-gpt2-days: L2-normalised final-token
// activations -> PCA(3)), with sklearn PCA's semantics; fit on one set, project it and others.
#include <cmath>
#include <filesystem>
#include <memory>
#include <optional>

#include <spdlog/spdlog.h>

#include "activation_input.hpp"
#include "actlens/core/error.hpp"
#include "actlens/core/finite.hpp"
#include "actlens/core/pca.hpp"
#include "actlens/core/scaler.hpp"
#include "actlens/core/scatter.hpp"
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

constexpr double kKeepBytes = 1024.0 * 1024.0 * 1024.0;

struct PcaOptions {
  FigureFlags figures;
  std::string activations, hook, labels, key = "activations", label_column = "label";
  std::string text_column = "text";
  int layer = -1;
  std::string components = "3";
  std::string normalize = "l2";
  std::string solver = "auto";
  std::string apply_to, apply_hook, apply_labels;
  int apply_layer = -1;
  int csv_components = 10;
  int threads = 0;
  std::string out = "results/pca";
};

// The seed's x / (||x|| + 1e-8) per row, or sklearn's StandardScaler / centring fitted on the
// fit set; applied the same way to every set that is projected.
struct Normalizer {
  std::string kind;           // none | l2 | center | standard
  core::FittedScaler scaler;  // center, standard: fitted on the fit set

  void apply(core::RowMatrixXd& x) const {
    if (kind == "l2") {
      for (Eigen::Index r = 0; r < x.rows(); ++r) x.row(r) /= (x.row(r).norm() + 1e-8);
    } else if (kind == "center" || kind == "standard") {
      scaler.transform(x);
    }
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
    if (!core::all_finite(x.data(), static_cast<std::size_t>(x.size()))) {
      for (Eigen::Index r = 0; r < x.rows(); ++r)
        if (!x.row(r).allFinite())
          throw Error(in.where.file.string() + ": row " + std::to_string(first + r) +
                      " has NaN/Inf" + (in.where.name.empty() ? "" : " (" + in.where.name + ")") +
                      "; fix or drop that sample");
    }
    use(x, first);
    first += x.rows();
    progress.advance();
  }
  progress.finish();
}

core::RowMatrixXd load_all(const OpenedInput& in, const Normalizer& norm) {
  core::RowMatrixXd all(in.rows->n_samples(), in.rows->dim());
  for_each_chunk(in, "reading", [&](core::RowMatrixXd& x, std::int64_t first) {
    norm.apply(x);
    all.middleRows(first, x.rows()) = x;
  });
  return all;
}

// Fits the scaler of `center`/`standard` from the count, means and centred sums of squares.
core::FittedScaler fit_normalizer(const std::string& kind, std::int64_t n,
                                  const Eigen::VectorXd& mean, const Eigen::VectorXd& css) {
  const auto scaler_kind = kind == "standard" ? core::ScalerKind::Standard : core::ScalerKind::Mean;
  return core::fit_scaler(scaler_kind, static_cast<double>(n), mean, css);
}

std::vector<std::string> pc_names(Eigen::Index k) {
  std::vector<std::string> names;
  for (Eigen::Index i = 0; i < k; ++i) names.push_back("PC" + std::to_string(i + 1));
  return names;
}

// projections.npy [N, k] and projections.csv (index, label, text, PC1..PCc with c = min(k,
// csv_components): the CSV is for reading and plotting; the full projection of `-k all` would be a
// text copy of the whole data set).
void write_projections(const fs::path& dir, const std::string& stem, const OpenedInput& in,
                       const core::RowMatrixXd& proj, Eigen::Index csv_components) {
  io::write_npy(dir / (stem + ".npy"), io::make_array(proj));
  const Eigen::Index cols = std::min<Eigen::Index>(proj.cols(), csv_components);
  std::vector<std::string> header = {"index", "label", "text"};
  const auto pcs = pc_names(cols);
  header.insert(header.end(), pcs.begin(), pcs.end());
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

std::vector<double> to_vec(const Eigen::VectorXd& v) {
  return std::vector<double>(v.data(), v.data() + v.size());
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

int run_pca(const PcaOptions& o) {
  set_threads(o.threads);
  if (o.activations.empty()) throw UsageError("--activations (or --fit-on) is required");
  if (o.normalize != "l2" && o.normalize != "center" && o.normalize != "standard" &&
      o.normalize != "none")
    throw UsageError("--normalize: use l2, center, standard or none");
  if (o.solver != "auto" && o.solver != "covariance" && o.solver != "gram" &&
      o.solver != "lanczos" && o.solver != "randomized")
    throw UsageError("--solver: use auto, covariance, gram or lanczos");
  std::optional<Eigen::Index> k_req;
  if (o.csv_components < 0) throw UsageError("--csv-components: 0 or more");
  if (o.components != "all") {
    try {
      std::size_t used = 0;
      const long v = std::stol(o.components, &used);
      if (used != o.components.size() || v < 1) throw std::invalid_argument("");
      k_req = v;
    } catch (const std::exception&) {
      throw UsageError("-k: a positive number of components or 'all'");
    }
  }

  report::RunInfo info("pca", command_line(), ACTLENS_VERSION);
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
  report::OutputDir out(o.out, "pca");
  spdlog::info("PCA of {} ({} rows x {} features{}): {} components, normalize {}, solver {}",
               fit_in.where.file.string(), n, d,
               fit_in.where.name.empty() ? "" : ", " + fit_in.where.name, k, o.normalize, solver);

  Normalizer norm{o.normalize, {}};
  core::PcaFit fit;
  std::optional<core::RowMatrixXd> fitted_rows;  // in-memory routes keep them for projection
  info.start("fit");
  if (solver == "covariance") {
    // One streamed pass of float64 scatter sums; l2 is per row, so it applies before summing,
    // and center/standard are affine: their statistics follow from the raw ones.
    // Rows small enough to keep (<= 1 GiB as float64) are kept for the projection, which then
    // needs no second pass over the file; larger inputs are read again.
    core::ScatterAccumulator acc(d, 1);
    const bool keep = static_cast<double>(n) * static_cast<double>(d) * 8.0 <= kKeepBytes;
    core::RowMatrixXd kept(keep ? n : 0, keep ? d : 0);
    for_each_chunk(fit_in, "accumulating", [&](core::RowMatrixXd& x, std::int64_t first) {
      norm.apply(x);
      const std::vector<int> ids(static_cast<std::size_t>(x.rows()), 0);
      acc.add(x, ids);
      if (keep) kept.middleRows(first, x.rows()) = x;
    });
    core::ScatterStats stats = acc.finalize();
    if (o.normalize == "center" || o.normalize == "standard") {
      norm.scaler =
          fit_normalizer(o.normalize, stats.n, stats.mean, stats.total_scatter.diagonal());
      stats = core::scale_stats(stats, norm.scaler.mean, norm.scaler.scale);
    }
    fit = core::pca_from_scatter(stats.mean, stats.total_scatter, stats.n, k);
    if (keep) {
      norm.scaler.transform(kept);  // center/standard (identity otherwise)
      fitted_rows = std::move(kept);
    }
  } else {
    core::RowMatrixXd x = load_all(fit_in, Normalizer{o.normalize == "l2" ? "l2" : "none", {}});
    if (o.normalize == "center" || o.normalize == "standard") {
      const Eigen::VectorXd mean = x.colwise().mean().transpose();
      const Eigen::VectorXd css = (x.rowwise() - mean.transpose()).colwise().squaredNorm();
      norm.scaler = fit_normalizer(o.normalize, x.rows(), mean, css);
      norm.scaler.transform(x);
    }
    fit = solver == "gram" ? core::pca_gram(x, k) : core::pca_topk(x, k);
    fitted_rows = std::move(x);
  }
  info.stop("fit");
  if (!(fit.total_variance > 0))
    throw Error(fit_in.where.file.string() +
                ": every feature is constant (zero total variance); nothing to analyse");

  info.start("project");
  const core::RowMatrixXd proj =
      fitted_rows ? fit.transform(*fitted_rows) : project(fit_in, norm, fit, "projecting");
  std::optional<core::RowMatrixXd> proj_apply;
  if (apply_in) proj_apply = project(*apply_in, norm, fit, "projecting --apply-to");
  info.stop("project");

  info.start("write");
  const Eigen::VectorXd ratio = fit.explained_variance_ratio();
  const bool full = fit.spectrum.size() > 0;
  const Eigen::VectorXd all_ratio = full ? fit.spectrum_ratio() : ratio;
  nlohmann::json j;
  j["n_samples"] = n;
  j["n_features"] = d;
  j["n_components"] = k;
  j["normalize"] = o.normalize;
  j["solver"] = fit.solver;
  j["explained_variance"] = to_vec(fit.explained_variance);
  j["explained_variance_ratio"] = to_vec(ratio);
  std::vector<double> cumulative;
  double cum = 0;
  for (Eigen::Index i = 0; i < ratio.size(); ++i) cumulative.push_back(cum += ratio[i]);
  j["cumulative_ratio"] = cumulative;
  j["singular_values"] = to_vec(fit.singular_values());
  j["total_variance"] = fit.total_variance;
  if (full) {
    j["spectrum"] = {{"explained_variance", to_vec(fit.spectrum)},
                     {"explained_variance_ratio", to_vec(all_ratio)}};
  }
  // Counts and elbow come from the full spectrum when the solver has it, else from the top k
  // (null when the top k do not reach the fraction).
  j["components_for"] = nlohmann::json::object();
  for (int pct : {70, 80, 90, 95, 99}) {
    const Eigen::Index m = core::components_for_fraction(all_ratio, pct / 100.0);
    j["components_for"][std::to_string(pct)] = m > 0 ? nlohmann::json(m) : nlohmann::json();
  }
  j["elbow"] = core::elbow(all_ratio);
  j["counts_from"] = full ? "full spectrum" : "top-k components";
  j["sign_convention"] =
      "sklearn svd_flip(u_based_decision=False): the largest-|.| coordinate of each component "
      "is positive";
  j["input"] = {{"file", fit_in.where.file.string()}, {"layer", fit_in.where.name}};
  nlohmann::json label_counts = nlohmann::json::array();
  for (const auto& c : fit_in.rows->classes())
    label_counts.push_back({{"label", c.name}, {"count", c.count}});
  j["labels"] = label_counts;
  report::write_json(out.path() / "pca.json", j);
  io::write_npy(out.path() / "components.npy", io::make_array(fit.components));
  io::write_npy(out.path() / "mean.npy", io::make_array(to_vec(fit.mean)));
  io::write_npy(out.path() / "explained_variance.npy",
                io::make_array(to_vec(fit.explained_variance)));
  if (o.normalize == "center" || o.normalize == "standard")
    io::write_npz(out.path() / "scaler.npz",
                  {{"mean", io::make_array(to_vec(norm.scaler.mean))},
                   {"scale", io::make_array(to_vec(norm.scaler.scale))}});
  write_projections(out.path(), "projections", fit_in, proj, o.csv_components);
  if (proj_apply)
    write_projections(out.path(), "projections_applied", *apply_in, *proj_apply, o.csv_components);
  info.stop("write");

  info.add_input("activations", fit_in.where.file, fit_in.rows->describe(),
                 fit_in.rows->input_bytes());
  if (!fit_in.where.labels.empty())
    info.add_input("labels", fit_in.where.labels, "labels", fs::file_size(fit_in.where.labels));
  if (apply_in) {
    info.add_input("apply_to", apply_in->where.file, apply_in->rows->describe(),
                   apply_in->rows->input_bytes());
    if (!apply_in->where.labels.empty())
      info.add_input("apply_labels", apply_in->where.labels, "labels",
                     fs::file_size(apply_in->where.labels));
  }
  auto& opt = info.options();
  opt["components"] = o.components;
  opt["normalize"] = o.normalize;
  opt["solver"] = fit.solver;
  opt["layer"] = fit_in.where.name;
  opt["csv_components"] = o.csv_components;
  opt["threads"] = o.threads;
  auto& s = info.summary();
  s["n_samples"] = n;
  s["n_features"] = d;
  s["explained_variance_ratio"] = j["explained_variance_ratio"];
  s["components_for"] = j["components_for"];
  s["elbow"] = j["elbow"];
  draw_figures("pca", out.path(), out.target(), o.figures, info);
  info.write(out.path());
  out.commit();
  std::string shares;
  for (Eigen::Index i = 0; i < std::min<Eigen::Index>(k, 5); ++i)
    shares += fmt::format("{}{:.4f}", i ? ", " : "", ratio[i]);
  spdlog::info("explained variance ratio of PC1..: {}{}", shares, k > 5 ? ", ..." : "");
  spdlog::info("results in {}", out.target().string());
  return 0;
}

}  // namespace

Runner register_pca(CLI::App& app) {
  auto o = std::make_shared<PcaOptions>();
  auto* sub = app.add_subcommand(
      "pca", "Principal components of activations (sklearn PCA semantics), with projections");
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
      ->capture_default_str();
  sub->add_option("--normalize", o->normalize,
                  "Before PCA: l2 (x / (||x|| + 1e-8) per row, as the seed), center, standard "
                  "(sklearn StandardScaler), none")
      ->capture_default_str();
  sub->add_option("--solver", o->solver,
                  "auto (gram when samples < features, else covariance), covariance (one "
                  "streamed pass, float64), gram (rows in memory), lanczos (top-k by Spectra, "
                  "no d x d matrix; alias randomized)")
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
      ->capture_default_str();
  add_threads_option(*sub, o->threads, "Threads for BLAS (default: all cores)");
  sub->add_option("-o,--out", o->out, "Output folder (replaced atomically)")->capture_default_str();
  add_figure_options(*sub, o->figures);
  add_config_option(*sub);
  return [o] { return run_pca(*o); };
}

}  // namespace actlens::cli
