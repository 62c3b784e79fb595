// actlens lda: between-class LDA of labelled activations (seed lda-role-activations), every
// requested layer in one pass over the files.
#include <cmath>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>

#include <spdlog/spdlog.h>

#include "actlens/core/error.hpp"
#include "actlens/core/finite.hpp"
#include "actlens/core/lda.hpp"
#include "actlens/core/scaler.hpp"
#include "actlens/core/scatter.hpp"
#include "actlens/io/npy.hpp"
#include "actlens/io/plain_activations.hpp"
#include "actlens/io/role_dataset.hpp"
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

struct LdaOptions {
  FigureFlags figures;
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
  int threads = 0;
  std::string out = "results/lda";
};

struct LayerState {
  int layer = 0;
  std::optional<core::ScatterAccumulator> raw, scaled;
  core::FittedScaler scaler;
  std::int64_t skipped = 0;
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
  for (Eigen::Index i = 0; i < k; ++i) names.push_back(prefix + std::to_string(i + 1));
  return names;
}

// Streams every chunk once; `use` gets each chunk (already checked for NaN/Inf).
void stream_pass(const io::LabeledRows& src, const std::vector<int>& layers,
                 const std::string& label, bool skip_nonfinite, std::vector<LayerState>& states,
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
      auto& rows = chunk.rows[l];
      std::vector<int> ids = chunk.class_ids;
      if (!core::all_finite(rows.data(), static_cast<std::size_t>(rows.size()))) {
        std::vector<Eigen::Index> keep;
        for (Eigen::Index r = 0; r < rows.rows(); ++r) {
          if (core::all_finite(rows.row(r).data(), static_cast<std::size_t>(rows.cols()))) {
            keep.push_back(r);
            continue;
          }
          if (!skip_nonfinite)
            throw Error(chunk.source + ": key '" + chunk.keys[static_cast<std::size_t>(r)] +
                        "' has NaN/Inf at layer " + std::to_string(layers[l]) +
                        "; fix the data or pass --nan skip to leave such samples out");
        }
        io::RowMatrixF kept(static_cast<Eigen::Index>(keep.size()), rows.cols());
        std::vector<int> kept_ids;
        for (std::size_t r = 0; r < keep.size(); ++r) {
          kept.row(static_cast<Eigen::Index>(r)) = rows.row(keep[r]);
          kept_ids.push_back(ids[static_cast<std::size_t>(keep[r])]);
        }
        states[l].skipped += rows.rows() - static_cast<Eigen::Index>(keep.size());
        rows = std::move(kept);
        ids = std::move(kept_ids);
      }
      use(l, chunk, ids);
    }
    progress.advance();
  }
  progress.finish();
}

void write_layer(const fs::path& dir, const io::LabeledRows& src, const LayerState& st,
                 const core::ScatterStats& stats, const core::LdaResult& res, const LdaOptions& o,
                 const std::optional<fs::path>& pca_file, nlohmann::json& summary) {
  fs::create_directories(dir);
  const Eigen::Index k = res.eigenvalues.size();
  const double top_sum = res.eigenvalues.sum();
  const double all_sum = res.all_eigenvalues.sum();
  nlohmann::json j;
  j["layer"] = st.layer;
  j["k"] = k;
  j["eigenvalues"] = std::vector<double>(res.eigenvalues.data(), res.eigenvalues.data() + k);
  std::vector<double> ratio, cumulative, ratio_all;
  double cum = 0;
  for (Eigen::Index i = 0; i < k; ++i) {
    ratio.push_back(top_sum > 0 ? res.eigenvalues[i] / top_sum : 0);
    cum += ratio.back();
    cumulative.push_back(cum);
    ratio_all.push_back(all_sum > 0 ? res.eigenvalues[i] / all_sum : 0);
  }
  j["variance_ratio"] = ratio;  // of the top-k between-class variance, as the seed prints
  j["cumulative_ratio"] = cumulative;
  j["variance_ratio_of_all"] = ratio_all;  // of all C-1 nonzero eigenvalues
  j["all_eigenvalues"] = std::vector<double>(
      res.all_eigenvalues.data(), res.all_eigenvalues.data() + res.all_eigenvalues.size());
  j["solver"] = res.solver;
  j["total_scatter_rank"] = res.total_scatter_rank;
  j["n_samples"] = stats.n;
  j["dim"] = src.dim();
  j["skipped_nonfinite"] = st.skipped;
  j["scaler"] = o.scaler;
  j["sign_convention"] = "largest-magnitude coordinate of each component is positive";
  nlohmann::json classes = nlohmann::json::array();
  for (std::size_t c = 0; c < src.classes().size(); ++c)
    classes.push_back({{"name", src.classes()[c].name}, {"count", stats.class_counts[c]}});
  j["classes"] = classes;
  report::write_json(dir / "lda.json", j);
  io::write_npy(dir / "components.npy", io::make_array(res.components));
  io::write_npy(dir / "eigenvalues.npy", io::make_array(std::vector<double>(
                                             res.eigenvalues.data(), res.eigenvalues.data() + k)));
  io::write_npz(
      dir / "scaler.npz",
      {{"mean", io::make_array(std::vector<double>(st.scaler.mean.data(),
                                                   st.scaler.mean.data() + st.scaler.mean.size()))},
       {"scale", io::make_array(std::vector<double>(
                     st.scaler.scale.data(), st.scaler.scale.data() + st.scaler.scale.size()))}});

  const auto ld = component_names(k, "LD");
  {  // class means of the scaled data, projected
    const core::RowMatrixXd proj = stats.class_means * res.components.transpose();
    std::vector<std::string> header = {"class", "role", "score", "count"};
    header.insert(header.end(), ld.begin(), ld.end());
    std::vector<std::vector<std::string>> rows;
    for (std::size_t c = 0; c < src.classes().size(); ++c) {
      const auto& ci = src.classes()[c];
      std::vector<std::string> r = {ci.name, ci.role, ci.score >= 0 ? std::to_string(ci.score) : "",
                                    std::to_string(stats.class_counts[c])};
      for (Eigen::Index i = 0; i < k; ++i)
        r.push_back(report::format_double(proj(static_cast<Eigen::Index>(c), i)));
      rows.push_back(std::move(r));
    }
    report::write_csv(dir / "class_means_projected.csv", header, rows);
  }
  nlohmann::json layer_summary = {{"eigenvalues", j["eigenvalues"]},
                                  {"n_classes", src.classes().size()},
                                  {"n_samples", stats.n},
                                  {"solver", res.solver}};
  if (pca_file) {
    io::RoleVectors rv = io::read_role_vectors(*pca_file, st.layer);
    if (rv.vectors.rows() > 0) {
      if (rv.vectors.cols() != src.dim())
        throw Error(pca_file->string() + ": role vectors have width " +
                    std::to_string(rv.vectors.cols()) + " but the activations have " +
                    std::to_string(src.dim()));
      core::RowMatrixXd v = rv.vectors.cast<double>();
      st.scaler.transform(v);  // the same scaler, fitted on the activations, as the seed does
      const core::RowMatrixXd proj = v * res.components.transpose();
      // norm: |scaled role vector|, so LDi / norm is its cosine with component i (the lower
      // row of the seed's plot_pc figure).
      std::vector<std::string> header = {"role", "score", "label", "name", "norm"};
      header.insert(header.end(), ld.begin(), ld.end());
      std::vector<std::vector<std::string>> rows;
      for (Eigen::Index r = 0; r < proj.rows(); ++r) {
        const auto idx = static_cast<std::size_t>(r);
        std::vector<std::string> row = {
            rv.roles[idx], std::to_string(rv.scores[idx]), role_label(rv.scores[idx]),
            title_case(rv.roles[idx]) + " (" + role_label(rv.scores[idx]) + ")",
            report::format_double(v.row(r).norm())};
        for (Eigen::Index i = 0; i < k; ++i) row.push_back(report::format_double(proj(r, i)));
        rows.push_back(std::move(row));
      }
      report::write_csv(dir / "role_projections.csv", header, rows);
      // 10 lowest and 10 highest roles per component, as the seed's plot labels them.
      std::vector<std::vector<std::string>> ranking;
      for (Eigen::Index i = 0; i < k; ++i) {
        std::vector<Eigen::Index> order(static_cast<std::size_t>(proj.rows()));
        for (Eigen::Index r = 0; r < proj.rows(); ++r) order[static_cast<std::size_t>(r)] = r;
        std::stable_sort(order.begin(), order.end(),
                         [&](Eigen::Index a, Eigen::Index b) { return proj(a, i) < proj(b, i); });
        const std::size_t m = std::min<std::size_t>(10, order.size());
        for (std::size_t t = 0; t < m; ++t) {
          for (const char* end : {"lowest", "highest"}) {
            const Eigen::Index r =
                std::string(end) == "lowest" ? order[t] : order[order.size() - 1 - t];
            const auto idx = static_cast<std::size_t>(r);
            ranking.push_back({ld[static_cast<std::size_t>(i)], end, std::to_string(t + 1),
                               rv.roles[idx], role_label(rv.scores[idx]),
                               report::format_double(proj(r, i))});
          }
        }
      }
      report::write_csv(dir / "rankings.csv",
                        {"component", "end", "rank", "role", "label", "value"}, ranking);
      layer_summary["role_vectors"] = proj.rows();
    }
    if (rv.pca_components.rows() > 0 && rv.pca_components.cols() == src.dim()) {
      std::vector<std::string> header = {"component"};
      const auto pcs = component_names(rv.pca_components.rows(), "PC");
      header.insert(header.end(), pcs.begin(), pcs.end());
      std::vector<std::vector<std::string>> rows;
      for (Eigen::Index i = 0; i < k; ++i) {
        std::vector<std::string> row = {ld[static_cast<std::size_t>(i)]};
        for (Eigen::Index p = 0; p < rv.pca_components.rows(); ++p) {
          const double nrm = rv.pca_components.row(p).norm();
          row.push_back(report::format_double(
              nrm > 0 ? res.components.row(i).dot(rv.pca_components.row(p)) / nrm : 0.0));
        }
        rows.push_back(std::move(row));
      }
      report::write_csv(dir / "pca_cosine.csv", header, rows);
    }
  }
  summary["layers"][std::to_string(st.layer)] = layer_summary;
}

int run_lda(const LdaOptions& o) {
  set_threads(o.threads);
  const bool roles = !o.data.empty();
  if (roles == (!o.activations.empty()))
    throw UsageError("give either --data DIR (role dataset) or --activations FILE --labels FILE");
  if (!roles && o.labels.empty()) throw UsageError("--activations needs --labels");
  if (o.k < 1) throw UsageError("-k: must be at least 1");
  if (o.min_samples < 1) throw UsageError("--min-samples: must be at least 1");
  if (o.nan != "error" && o.nan != "skip") throw UsageError("--nan: use 'error' or 'skip'");
  if (o.precision != "mixed" && o.precision != "float64")
    throw UsageError("--precision: use 'mixed' or 'float64'");
  const auto precision =
      o.precision == "float64" ? core::Precision::Float64 : core::Precision::Mixed;
  core::ScalerKind scaler_kind;
  try {
    scaler_kind = core::parse_scaler(o.scaler);
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("--scaler: ") + e.what());
  }
  if (!o.layer.empty() && !o.layers.empty()) throw UsageError("use --layer or --layers, not both");

  report::RunInfo info("lda", command_line(), ACTLENS_VERSION);
  info.start("open");
  std::unique_ptr<io::LabeledRows> src;
  bool layered = true;
  if (roles) {
    io::RoleDatasetOptions ro;
    ro.scores = parse_int_list(o.scores, "--scores");
    ro.min_samples = o.min_samples;
    ro.ignore_extra_scores = o.ignore_extra_scores;
    src = io::RoleDataset::open(o.data, ro);
  } else {
    io::PlainActivationsOptions po;
    po.key = o.key;
    po.label_column = o.label_column;
    po.min_samples = o.min_samples;
    auto plain = io::PlainActivations::open(o.activations, o.labels, po);
    layered = !plain->flat();
    src = std::move(plain);
  }
  info.stop("open");
  if (src->classes().size() < 2)
    throw Error("only one class (" + src->classes()[0].name +
                ") after filtering; LDA needs two "
                "or more (check --scores and --min-samples)");

  std::vector<int> layers;
  if (!layered) {
    if (!o.layer.empty() || !o.layers.empty())
      throw UsageError("--layer/--layers: the activations are [N, d] with no layer axis");
    layers = {0};
  } else if (!o.layer.empty()) {
    std::string spec;
    for (int l : o.layer) spec += (spec.empty() ? "" : ",") + std::to_string(l);
    layers = parse_layers(spec, src->n_layers(), "--layer");
  } else if (!o.layers.empty()) {
    layers = parse_layers(o.layers, src->n_layers(), "--layers");
  } else {
    throw UsageError(
        "choose layers with --layer L, --layers 10,22,30 or --layers all (the data has " +
        std::to_string(src->n_layers()) + " layers, 0.." + std::to_string(src->n_layers() - 1) +
        ")");
  }
  report::OutputDir out(o.out, "lda");  // validated before the long pass
  spdlog::info(
      "LDA of {}: layers {}, d = {}, scaler {}", src->describe(),
      layers.size() == 1 ? std::to_string(layers[0]) : std::to_string(layers.size()) + " layers",
      src->dim(), o.scaler);
  const double gib = static_cast<double>(layers.size()) * static_cast<double>(src->dim()) *
                     static_cast<double>(src->dim()) * 8.0 / (1024.0 * 1024.0 * 1024.0);
  if (gib > 1.0) spdlog::info("scatter matrices need {:.1f} GiB for {} layers", gib, layers.size());

  const auto n_classes = static_cast<Eigen::Index>(src->classes().size());
  std::vector<LayerState> states(layers.size());
  for (std::size_t l = 0; l < layers.size(); ++l) {
    states[l].layer = layers[l];
    states[l].raw.emplace(src->dim(), n_classes, precision);
  }
  const bool skip = o.nan == "skip";
  info.start("accumulate");
  stream_pass(*src, layers, "reading", skip, states,
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
        throw Error("class " + src->classes()[c].name + " has no finite samples at layer " +
                    std::to_string(layers[l]));
    states[l].scaler = core::fit_scaler(scaler_kind, static_cast<double>(raw.n), raw.mean,
                                        raw.total_scatter.diagonal());
    if (states[l].scaler.is_affine()) {
      stats[l] = scaler_kind == core::ScalerKind::None
                     ? raw
                     : core::scale_stats(raw, states[l].scaler.mean, states[l].scaler.scale);
    }
  }
  if (scaler_kind == core::ScalerKind::L2Mean) {  // row norms need the mean: a second pass
    for (auto& st : states) {
      st.scaled.emplace(src->dim(), n_classes);
      st.skipped = 0;
    }
    info.start("accumulate");
    stream_pass(*src, layers, "scaling", skip, states,
                [&](std::size_t l, io::Chunk& c, std::vector<int>& ids) {
                  core::RowMatrixXd x = c.rows[l].cast<double>();
                  states[l].scaler.transform(x);
                  states[l].scaled->add(x, ids);
                });
    info.stop("accumulate");
    for (std::size_t l = 0; l < layers.size(); ++l) stats[l] = states[l].scaled->finalize();
  }

  nlohmann::json& summary = info.summary();
  summary["layers"] = nlohmann::json::object();
  core::LdaOptions lo;
  lo.k = o.k;
  lo.rcond = o.rcond;
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
    std::optional<fs::path> pca_file;
    if (!o.pca_file.empty()) {
      pca_file = fs::path(o.pca_file);
    } else if (roles) {
      fs::path p = fs::path(o.data) / "pca" / ("layer" + std::to_string(layers[l]) + "_pos23.pt");
      if (fs::exists(p))
        pca_file = p;
      else
        spdlog::debug("no {}: role-vector projections skipped for layer {}", p.string(), layers[l]);
    }
    info.start("write");
    const fs::path dir = layered ? out.path() / ("layer" + std::to_string(layers[l])) : out.path();
    write_layer(dir, *src, states[l], stats[l], res, o, pca_file, summary);
    info.stop("write");
  }

  info.add_input(roles ? "dataset" : "activations", roles ? o.data : o.activations, src->describe(),
                 src->input_bytes());
  if (!roles) info.add_input("labels", o.labels, "labels", fs::file_size(o.labels));
  auto& opt = info.options();
  opt["layers"] = layers;
  opt["k"] = o.k;
  opt["scaler"] = o.scaler;
  opt["scores"] = o.scores;
  opt["min_samples"] = o.min_samples;
  opt["nan"] = o.nan;
  opt["rcond"] = o.rcond;
  opt["precision"] = o.precision;
  draw_figures("lda", out.path(), out.target(), o.figures, info);
  info.write(out.path());
  out.commit();
  spdlog::info("results in {}", out.target().string());
  return 0;
}

}  // namespace

Runner register_lda(CLI::App& app) {
  auto o = std::make_shared<LdaOptions>();
  auto* sub = app.add_subcommand(
      "lda", "Between-class LDA (eigenpairs of pinv(S_T) S_B) of labelled activations, per layer");
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
      ->capture_default_str();
  sub->add_option("--scaler", o->scaler,
                  "Feature scaler fitted on all samples: standard|mean|l2mean|none")
      ->capture_default_str();
  sub->add_option("--scores", o->scores, "Judge scores that form classes ({role}_pos_{score})")
      ->capture_default_str();
  sub->add_option("--min-samples", o->min_samples, "Drop classes with fewer samples")
      ->capture_default_str();
  sub->add_option("--pca-file", o->pca_file,
                  "PCA file with role vectors (default: DIR/pca/layer{L}_pos23.pt when present)");
  sub->add_option("--nan", o->nan, "NaN/Inf in activations: error (default) or skip the sample")
      ->capture_default_str();
  sub->add_option("--precision", o->precision,
                  "Chunk products: float64 (exact to ~1e-12) or mixed (float32 blocks summed in "
                  "float64: ~2x faster, ~1e-5 relative, like the seed's float32 outer products)")
      ->capture_default_str();
  sub->add_option("--rcond", o->rcond,
                  "Relative cutoff for zero eigenvalues of S_T (default max(N, d) * eps)");
  sub->add_flag("--ignore-extra-scores", o->ignore_extra_scores,
                "Allow score entries whose key has no activation");
  add_threads_option(*sub, o->threads, "Threads for BLAS and conversion (default: all cores)");
  sub->add_option("-o,--out", o->out, "Output folder (replaced atomically)")->capture_default_str();
  add_figure_options(*sub, o->figures);
  add_config_option(*sub);
  return [o] { return run_lda(*o); };
}

}  // namespace actlens::cli
