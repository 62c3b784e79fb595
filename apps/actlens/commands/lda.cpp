// actlens lda: between-class LDA of labelled activations (seed lda-role-activations), every
// requested layer in one pass over the files.
#include <cctype>
#include <cmath>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "actlens/core/lda.hpp"
#include "actlens/core/lda_roles.hpp"
#include "actlens/core/scaler.hpp"
#include "actlens/core/scatter.hpp"
#include "actlens/error.hpp"
#include "actlens/io/nan_policy.hpp"
#include "actlens/io/npy.hpp"
#include "actlens/io/plain_activations.hpp"
#include "actlens/io/role_dataset.hpp"
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
namespace sc = schema::lda;

namespace {

constexpr std::size_t kRanked = 10;  // lowest and highest roles per component, as the seed labels

struct LdaOptions {
  std::string data;
  std::string activations, labels, key = "activations", label_column = "label";
  std::vector<int> layer;
  std::string layers;
  int k = 10;
  std::string scaler = "standard";
  std::string scores = "2,3";
  int min_samples = 10;
  std::string pca_file;
  std::string nan = "error";
  std::string precision = "float64";
  double rcond = -1;
  bool ignore_extra_scores = false;
};

struct LayerState {
  int layer = 0;
  std::optional<core::ScatterAccumulator> raw, scaled;
  core::FittedScaler scaler;
  std::int64_t skipped = 0;
};

// The opened input: a role dataset (--data) or one activation file with labels.
struct Source {
  std::unique_ptr<io::LabeledRows> rows;
  bool roles = false;
  bool layered = true;  // false for [N, d] activations
};

std::string role_label(int score) {
  return score == 2 ? "Somewhat RP" : score == 3 ? "Fully RP" : "";
}

// "mad_scientist" -> "Mad Scientist", as the seed's role.replace('_', ' ').title()
std::string title_case(std::string s) {
  bool start = true;
  for (char& c : s) {
    if (c == '_') c = ' ';
    const bool alpha = std::isalpha(static_cast<unsigned char>(c)) != 0;
    if (alpha)
      c = static_cast<char>(start ? std::toupper(static_cast<unsigned char>(c))
                                  : std::tolower(static_cast<unsigned char>(c)));
    start = !alpha;
  }
  return s;
}

std::vector<std::string> component_names(Eigen::Index k, const char* prefix) {
  std::vector<std::string> names;
  for (Eigen::Index i = 0; i < k; ++i)
    names.push_back(schema::numbered(prefix, static_cast<std::size_t>(i)));
  return names;
}

// Streams every chunk once, reading the next one while this one is used; `use` gets each layer
// of each chunk after the NaN policy, with the class ids of the rows left.
void stream_pass(const io::LabeledRows& src, const std::vector<int>& layers,
                 const std::string& label, io::NanPolicy nan, std::vector<LayerState>& states,
                 const std::function<void(std::size_t, io::Chunk&, std::vector<int>&)>& use) {
  report::Progress progress(label, src.n_chunks(), true);
  auto fetch = [&](std::size_t i) { return src.read_chunk(i, layers); };
  std::future<io::Chunk> next;
  if (src.n_chunks() > 0) next = std::async(std::launch::async, fetch, 0);
  for (std::size_t i = 0; i < src.n_chunks(); ++i) {
    io::Chunk chunk = next.get();  // rethrows read errors here, on this thread
    report::check_interrupted();
    if (i + 1 < src.n_chunks()) next = std::async(std::launch::async, fetch, i + 1);
    for (std::size_t l = 0; l < layers.size(); ++l) {
      io::FiniteRows kept = io::apply_nan_policy(chunk, l, layers[l], nan);
      states[l].skipped += kept.dropped;
      use(l, chunk, kept.class_ids);
    }
    progress.advance();
  }
  progress.finish();
}

// lda.json and the arrays: eigenvalues, components, the scaler.
void write_fit(const fs::path& dir, const io::LabeledRows& src, const LayerState& st,
               const core::ScatterStats& stats, const core::LdaResult& res,
               const std::string& scaler) {
  const Eigen::Index k = res.eigenvalues.size();
  const double top_sum = res.eigenvalues.sum();
  const double all_sum = res.all_eigenvalues.sum();
  const std::vector<double> eigenvalues(res.eigenvalues.data(), res.eigenvalues.data() + k);
  nlohmann::json j;
  j[sc::kJsonLayer] = st.layer;
  j["k"] = k;
  j[sc::kJsonEigenvalues] = eigenvalues;
  std::vector<double> ratio, cumulative, ratio_all;
  double cum = 0;
  for (Eigen::Index i = 0; i < k; ++i) {
    ratio.push_back(top_sum > 0 ? res.eigenvalues[i] / top_sum : 0);
    cum += ratio.back();
    cumulative.push_back(cum);
    ratio_all.push_back(all_sum > 0 ? res.eigenvalues[i] / all_sum : 0);
  }
  j["variance_ratio"] = ratio;  // of the top-k between-class variance, as the seed prints
  j[sc::kJsonCumulativeRatio] = cumulative;
  j["variance_ratio_of_all"] = ratio_all;  // of all C-1 nonzero eigenvalues
  j["all_eigenvalues"] = std::vector<double>(
      res.all_eigenvalues.data(), res.all_eigenvalues.data() + res.all_eigenvalues.size());
  j["solver"] = res.solver;
  j["total_scatter_rank"] = res.total_scatter_rank;
  j["n_samples"] = stats.n;
  j["dim"] = src.dim();
  j["skipped_nonfinite"] = st.skipped;
  j["scaler"] = scaler;
  j["sign_convention"] = "largest-magnitude coordinate of each component is positive";
  nlohmann::json classes = nlohmann::json::array();
  for (std::size_t c = 0; c < src.classes().size(); ++c)
    classes.push_back({{"name", src.classes()[c].name}, {"count", stats.class_counts[c]}});
  j["classes"] = classes;
  report::write_json(dir / sc::kJson, j);
  io::write_npy(dir / sc::kComponents, io::make_array(res.components));
  io::write_npy(dir / sc::kEigenvalues, io::make_array(eigenvalues));
  io::write_npz(dir / sc::kScaler, {{"mean", io::make_array(io::to_std_vector(st.scaler.mean))},
                                    {"scale", io::make_array(io::to_std_vector(st.scaler.scale))}});
}

// The class means of the scaled data, projected on the components.
void write_class_means(const fs::path& dir, const io::LabeledRows& src,
                       const core::ScatterStats& stats, const core::LdaResult& res) {
  const core::RowMatrixXd proj = stats.class_means * res.components.transpose();
  std::vector<std::string> header = {sc::kClass, sc::kRole, sc::kScore, sc::kCount};
  const auto ld = component_names(res.components.rows(), sc::kLdPrefix);
  header.insert(header.end(), ld.begin(), ld.end());
  std::vector<std::vector<std::string>> rows;
  for (std::size_t c = 0; c < src.classes().size(); ++c) {
    const auto& ci = src.classes()[c];
    std::vector<std::string> r = {ci.name, ci.role, ci.score >= 0 ? std::to_string(ci.score) : "",
                                  std::to_string(stats.class_counts[c])};
    for (Eigen::Index i = 0; i < proj.cols(); ++i)
      r.push_back(report::format_double(proj(static_cast<Eigen::Index>(c), i)));
    rows.push_back(std::move(r));
  }
  report::write_csv(dir / sc::kClassMeans, header, rows);
}

// role_projections.csv (each role vector's projection and norm: LDi / norm is its cosine with
// component i, the lower row of the seed's plot_pc figure) and rankings.csv.
void write_role_projections(const fs::path& dir, const io::RoleVectors& rv,
                            const core::RoleProjection& p) {
  const Eigen::Index k = p.projections.cols();
  const auto ld = component_names(k, sc::kLdPrefix);
  std::vector<std::string> header = {sc::kRole, sc::kScore, sc::kLabel, sc::kName, sc::kNorm};
  header.insert(header.end(), ld.begin(), ld.end());
  std::vector<std::vector<std::string>> rows;
  for (Eigen::Index r = 0; r < p.projections.rows(); ++r) {
    const auto idx = static_cast<std::size_t>(r);
    std::vector<std::string> row = {
        rv.roles[idx], std::to_string(rv.scores[idx]), role_label(rv.scores[idx]),
        title_case(rv.roles[idx]) + " (" + role_label(rv.scores[idx]) + ")",
        report::format_double(p.norms[r])};
    for (Eigen::Index i = 0; i < k; ++i) row.push_back(report::format_double(p.projections(r, i)));
    rows.push_back(std::move(row));
  }
  report::write_csv(dir / sc::kRoleProjections, header, rows);

  std::vector<std::vector<std::string>> ranking;
  const auto extremes = core::extreme_rows(p.projections, kRanked);
  for (Eigen::Index i = 0; i < k; ++i) {
    const auto& e = extremes[static_cast<std::size_t>(i)];
    for (std::size_t t = 0; t < e.lowest.size(); ++t)
      for (const auto& [end, r] :
           {std::pair{sc::kLowest, e.lowest[t]}, std::pair{sc::kHighest, e.highest[t]}}) {
        const auto idx = static_cast<std::size_t>(r);
        ranking.push_back({ld[static_cast<std::size_t>(i)], end, std::to_string(t + 1),
                           rv.roles[idx], role_label(rv.scores[idx]),
                           report::format_double(p.projections(r, i))});
      }
  }
  report::write_csv(dir / sc::kRankings,
                    {sc::kComponent, sc::kEnd, sc::kRank, sc::kRole, sc::kLabel, sc::kValue},
                    ranking);
}

// pca_cosine.csv: each LDA component against each PC of the pca file.
void write_pca_cosine(const fs::path& dir, const core::RowMatrixXd& cosines) {
  std::vector<std::string> header = {sc::kComponent};
  const auto pcs = component_names(cosines.cols(), sc::kPcPrefix);
  header.insert(header.end(), pcs.begin(), pcs.end());
  std::vector<std::vector<std::string>> rows;
  for (Eigen::Index i = 0; i < cosines.rows(); ++i) {
    std::vector<std::string> row = {schema::numbered(sc::kLdPrefix, static_cast<std::size_t>(i))};
    for (Eigen::Index p = 0; p < cosines.cols(); ++p)
      row.push_back(report::format_double(cosines(i, p)));
    rows.push_back(std::move(row));
  }
  report::write_csv(dir / sc::kPcaCosine, header, rows);
}

void write_layer(const fs::path& dir, const io::LabeledRows& src, const LayerState& st,
                 const core::ScatterStats& stats, const core::LdaResult& res,
                 const std::string& scaler, const std::optional<fs::path>& pca_file,
                 nlohmann::json& summary) {
  fs::create_directories(dir);
  write_fit(dir, src, st, stats, res, scaler);
  write_class_means(dir, src, stats, res);
  const Eigen::Index k = res.eigenvalues.size();
  nlohmann::json layer_summary = {
      {"eigenvalues", std::vector<double>(res.eigenvalues.data(), res.eigenvalues.data() + k)},
      {"n_classes", src.classes().size()},
      {"n_samples", stats.n},
      {"solver", res.solver}};
  if (pca_file) {
    const io::RoleVectors rv = io::read_role_vectors(*pca_file, st.layer);
    if (rv.vectors.rows() > 0) {
      if (rv.vectors.cols() != src.dim())
        throw Error(pca_file->string() + ": role vectors have width " +
                    std::to_string(rv.vectors.cols()) + " but the activations have " +
                    std::to_string(src.dim()));
      write_role_projections(dir, rv, core::project_roles(rv.vectors, st.scaler, res.components));
      layer_summary["role_vectors"] = rv.vectors.rows();
    }
    if (rv.pca_components.rows() > 0 && rv.pca_components.cols() == src.dim())
      write_pca_cosine(dir, core::component_cosines(res.components, rv.pca_components));
  }
  summary["layers"][std::to_string(st.layer)] = layer_summary;
}

Source open_source(const LdaOptions& o) {
  Source s;
  s.roles = !o.data.empty();
  if (s.roles) {
    io::RoleDatasetOptions ro;
    ro.scores = parse_int_list(o.scores, "--scores");
    ro.min_samples = o.min_samples;
    ro.ignore_extra_scores = o.ignore_extra_scores;
    s.rows = io::RoleDataset::open(o.data, ro);
  } else {
    io::PlainActivationsOptions po;
    po.key = o.key;
    po.label_column = o.label_column;
    po.min_samples = o.min_samples;
    auto plain = io::PlainActivations::open(o.activations, o.labels, po);
    s.layered = !plain->flat();
    s.rows = std::move(plain);
  }
  if (s.rows->classes().size() < 2)
    throw Error("only one class (" + s.rows->classes()[0].name +
                ") after filtering; LDA needs two "
                "or more (check --scores and --min-samples)");
  return s;
}

std::vector<int> choose_layers(const LdaOptions& o, const Source& s) {
  const int n = s.rows->n_layers();
  if (!s.layered) {
    if (!o.layer.empty() || !o.layers.empty())
      throw UsageError("--layer/--layers: the activations are [N, d] with no layer axis");
    return {0};
  }
  if (!o.layer.empty()) {
    std::string spec;
    for (int l : o.layer) spec += (spec.empty() ? "" : ",") + std::to_string(l);
    return parse_layers(spec, n, "--layer");
  }
  if (!o.layers.empty()) return parse_layers(o.layers, n, "--layers");
  throw UsageError(
      "choose layers with --layer L, --layers 10,22,30 or --layers all (the data has " +
      std::to_string(n) + " layers, 0.." + std::to_string(n - 1) + ")");
}

// The scatter statistics of every layer's scaled rows: one pass over the files, two for l2mean
// (its row norms need the mean first).
std::vector<core::ScatterStats> accumulate(const io::LabeledRows& src, const LdaOptions& o,
                                           const std::vector<int>& layers,
                                           std::vector<LayerState>& states, report::RunInfo& info) {
  const auto precision =
      o.precision == "float64" ? core::Precision::Float64 : core::Precision::Mixed;
  const core::ScalerKind scaler_kind = core::parse_scaler(o.scaler);  // validated
  const io::NanPolicy nan = io::parse_nan_policy(o.nan);              // validated
  const auto n_classes = static_cast<Eigen::Index>(src.classes().size());
  for (std::size_t l = 0; l < layers.size(); ++l) {
    states[l].layer = layers[l];
    states[l].raw.emplace(src.dim(), n_classes, precision);
  }
  info.start("accumulate");
  stream_pass(src, layers, "reading", nan, states,
              [&](std::size_t l, io::Chunk& c, std::vector<int>& ids) {
                states[l].raw->add(c.rows[l], ids);
              });
  info.stop("accumulate");

  std::vector<core::ScatterStats> stats(layers.size());
  for (std::size_t l = 0; l < layers.size(); ++l) {
    if (states[l].raw->count() == 0)
      throw Error("layer " + std::to_string(layers[l]) + ": no finite samples");
    core::ScatterStats raw = states[l].raw->finalize();
    for (std::size_t c = 0; c < raw.class_counts.size(); ++c)
      if (raw.class_counts[c] == 0)
        throw Error("class " + src.classes()[c].name + " has no finite samples at layer " +
                    std::to_string(layers[l]));
    states[l].scaler = core::fit_scaler(scaler_kind, static_cast<double>(raw.n), raw.mean,
                                        raw.total_scatter.diagonal());
    if (states[l].scaler.is_affine()) {
      stats[l] = scaler_kind == core::ScalerKind::None
                     ? raw
                     : core::scale_stats(raw, states[l].scaler.mean, states[l].scaler.scale);
    }
  }
  if (scaler_kind != core::ScalerKind::L2Mean) return stats;
  for (auto& st : states) {
    st.scaled.emplace(src.dim(), n_classes);
    st.skipped = 0;
  }
  info.start("accumulate");
  stream_pass(src, layers, "scaling", nan, states,
              [&](std::size_t l, io::Chunk& c, std::vector<int>& ids) {
                core::RowMatrixXd x = c.rows[l].cast<double>();
                states[l].scaler.transform(x);
                states[l].scaled->add(x, ids);
              });
  info.stop("accumulate");
  for (std::size_t l = 0; l < layers.size(); ++l) stats[l] = states[l].scaled->finalize();
  return stats;
}

// --pca-file, else DIR/pca/layer{L}_pos23.pt of a role dataset when it exists.
std::optional<fs::path> pca_file_for(const LdaOptions& o, const Source& s, int layer) {
  if (!o.pca_file.empty()) return fs::path(o.pca_file);
  if (!s.roles) return std::nullopt;
  fs::path p = fs::path(o.data) / "pca" / ("layer" + std::to_string(layer) + "_pos23.pt");
  if (fs::exists(p)) return p;
  spdlog::debug("no {}: role-vector projections skipped for layer {}", p.string(), layer);
  return std::nullopt;
}

int run_lda(const LdaOptions& o, Command& cmd) {
  if (!o.data.empty() == !o.activations.empty())
    throw UsageError("give either --data DIR (role dataset) or --activations FILE --labels FILE");
  if (o.data.empty() && o.labels.empty()) throw UsageError("--activations needs --labels");
  if (!o.layer.empty() && !o.layers.empty()) throw UsageError("use --layer or --layers, not both");

  report::RunInfo& info = cmd.start();
  info.start("open");
  const Source s = open_source(o);
  info.stop("open");
  const io::LabeledRows& src = *s.rows;
  const std::vector<int> layers = choose_layers(o, s);
  report::OutputDir& out = cmd.output();  // validated before the long pass
  spdlog::info(
      "LDA of {}: layers {}, d = {}, scaler {}", src.describe(),
      layers.size() == 1 ? std::to_string(layers[0]) : std::to_string(layers.size()) + " layers",
      src.dim(), o.scaler);
  const double gib = static_cast<double>(layers.size()) * static_cast<double>(src.dim()) *
                     static_cast<double>(src.dim()) * 8.0 / (1024.0 * 1024.0 * 1024.0);
  if (gib > 1.0) spdlog::info("scatter matrices need {:.1f} GiB for {} layers", gib, layers.size());

  std::vector<LayerState> states(layers.size());
  const std::vector<core::ScatterStats> stats = accumulate(src, o, layers, states, info);

  nlohmann::json& summary = info.summary();
  summary["layers"] = nlohmann::json::object();
  core::LdaOptions lo;
  lo.k = o.k;
  lo.rcond = o.rcond;
  const auto n_classes = src.classes().size();
  for (std::size_t l = 0; l < layers.size(); ++l) {
    info.start("solve");
    core::LdaResult res = core::solve_lda(stats[l], lo);
    info.stop("solve");
    if (res.eigenvalues.size() < o.k)
      spdlog::warn(
          "layer {}: only {} nonzero eigenvalues (classes - 1 = {}, rank of S_T = {}); "
          "writing {} components",
          layers[l], res.all_eigenvalues.size(), n_classes - 1, res.total_scatter_rank,
          res.eigenvalues.size());
    spdlog::info("layer {}: {} classes, {} samples, top eigenvalue {:.6f} ({})", layers[l],
                 n_classes, stats[l].n, res.eigenvalues.size() ? res.eigenvalues[0] : 0.0,
                 res.solver);
    const std::optional<fs::path> pca_file = pca_file_for(o, s, layers[l]);
    info.start("write");
    const fs::path dir =
        s.layered ? out.path() / (sc::kLayerDirPrefix + std::to_string(layers[l])) : out.path();
    write_layer(dir, src, states[l], stats[l], res, o.scaler, pca_file, summary);
    info.stop("write");
  }

  info.add_input(s.roles ? "dataset" : "activations", s.roles ? o.data : o.activations,
                 src.describe(), src.input_bytes());
  if (!s.roles) info.add_input("labels", o.labels, "labels", fs::file_size(o.labels));
  info.section("resolved")["layers"] = layers;
  return cmd.finish();
}

// A check that runs `parse` on the flag's value and shows its message when it throws.
CLI::Validator parsed_by(std::function<void(const std::string&)> parse, const std::string& what) {
  return CLI::Validator(
      [parse](std::string& s) -> std::string {
        try {
          parse(s);
          return {};
        } catch (const std::invalid_argument& e) {
          return e.what();
        }
      },
      what);
}

}  // namespace

Runner register_lda(CLI::App& app) {
  auto o = std::make_shared<LdaOptions>();
  auto cmd = Command::add(
      app,
      {"lda", "Between-class LDA (eigenpairs of pinv(S_T) S_B) of labelled activations, per layer",
       "results/lda"});
  CLI::App* sub = &cmd->app();
  sub->add_option(
      "--data", o->data,
      "Role dataset folder: response_activations/{role}.pt, extract_scores/{role}.json, "
      "optional pca/layer{L}_pos23.pt");
  sub->add_option(
      "--activations", o->activations,
      "Instead of --data: activations [N, d] or [N, n_layers, d] (.npy .npz .safetensors .pt)");
  sub->add_option("--labels", o->labels,
                  "Class label per row (.csv column --label-column, .npy, .txt)");
  sub->add_option("--key", o->key, "Array name inside .npz/.safetensors/.pt files")
      ->capture_default_str();
  sub->add_option("--label-column", o->label_column, "Label column of a CSV")
      ->capture_default_str();
  sub->add_option("--layer", o->layer, "Layer index (repeatable)");
  sub->add_option("--layers", o->layers,
                  "Layers: '10,22,30', '0-5' or 'all' (one pass over the files)");
  sub->add_option("-k,--components", o->k, "Number of LDA components to keep")
      ->check(int_range(1, 1 << 30))
      ->capture_default_str();
  sub->add_option("--scaler", o->scaler,
                  "Feature scaler fitted on all samples: standard|mean|l2mean|none")
      ->check(parsed_by([](const std::string& s) { core::parse_scaler(s); },
                        "standard|mean|l2mean|none"))
      ->capture_default_str();
  sub->add_option("--scores", o->scores, "Judge scores that form classes ({role}_pos_{score})")
      ->capture_default_str();
  sub->add_option("--min-samples", o->min_samples, "Drop classes with fewer samples")
      ->check(int_range(1, 1 << 30))
      ->capture_default_str();
  sub->add_option("--pca-file", o->pca_file,
                  "PCA file with role vectors (default: DIR/pca/layer{L}_pos23.pt when present)");
  sub->add_option("--nan", o->nan, "NaN/Inf in activations: error (default) or skip the sample")
      ->check(one_of({"error", "skip"}))
      ->capture_default_str();
  sub->add_option("--precision", o->precision,
                  "Chunk products: float64 (exact to ~1e-12) or mixed (float32 blocks summed in "
                  "float64: ~2x faster, ~1e-5 relative, like the seed's float32 outer products)")
      ->check(one_of({"float64", "mixed"}))
      ->capture_default_str();
  sub->add_option("--rcond", o->rcond,
                  "Relative cutoff for zero eigenvalues of S_T (default max(N, d) * eps)");
  sub->add_flag("--ignore-extra-scores", o->ignore_extra_scores,
                "Allow score entries whose key has no activation");
  return cmd->runner([o](Command& c) { return run_lda(*o, c); });
}

}  // namespace actlens::cli
