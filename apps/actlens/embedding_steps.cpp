#include "embedding_steps.hpp"

#include <cmath>

#include <spdlog/spdlog.h>

#include "actlens/error.hpp"
#include "actlens/io/npy.hpp"
#include "actlens/io/parse_number.hpp"
#include "actlens/report/progress.hpp"
#include "actlens/report/writers.hpp"

namespace actlens::cli {
namespace fs = std::filesystem;

namespace {
// Where each method wins: 1000 iterations, 50 features, --threads 2 (docs/commands.md has the
// timings).
const std::string kMethodHelp =
    "auto (the default): barnes_hut below " + std::to_string(core::kTsneFftMinPoints) +
    " points, fft from there on (1-2 dimensions); run.json's resolved.method says which. "
    "barnes_hut: sklearn's default, kNN P, the fastest below about " +
    std::to_string(core::kTsneFftMinPoints) +
    " points. fft: FIt-SNE interpolation with the same kNN P, O(N) per iteration (below ~850 "
    "points it sums pairs exactly), the fastest above; 1-2 dimensions. exact: all-pairs P and "
    "gradient, O(N^2); never faster than "
    "barnes_hut in our timings (even at 200 points), for comparisons only";
}  // namespace

void add_tsne_options(CLI::App* sub, TsneFlags& f) {
  sub->add_option("--perplexity", f.perplexity,
                  "t-SNE perplexity (sklearn default 30; the RSA seed uses 5); must be < N")
      ->capture_default_str();
  sub->add_option("--tsne-components,--dims", f.components, "t-SNE output dimensions (1-3)")
      ->capture_default_str();
  sub->add_option("--early-exaggeration", f.early_exaggeration,
                  "Factor on P during the first 250 iterations")
      ->capture_default_str();
  sub->add_option("--learning-rate", f.learning_rate,
                  "auto (sklearn: max(N / early_exaggeration / 4, 50)) or a number")
      ->capture_default_str();
  sub->add_option("--max-iter", f.max_iter, "Iterations in all, the exaggeration phase included")
      ->capture_default_str();
  sub->add_option("--method", f.method, kMethodHelp)->capture_default_str();
  sub->add_option("--angle", f.angle, "Barnes-Hut theta (accuracy/speed trade-off)")
      ->capture_default_str();
  sub->add_option("--init", f.init,
                  "pca (sklearn's default: PCA projection scaled to std 1e-4) or random")
      ->capture_default_str();
  sub->add_option("--seed", f.seed,
                  "Seed of every random choice (init random); same seed + input = same bytes")
      ->capture_default_str();
  sub->add_option("--trustworthiness", f.trust_neighbors,
                  "Neighbours for the trustworthiness score in tsne.json (0 = skip; skipped "
                  "above 20000 points)")
      ->capture_default_str();
}

core::RowMatrixXd normalized(const Points& p, const std::string& normalize) {
  if (normalize == "l2") return unit_rows(p);
  if (normalize == "none") return p.x;
  throw UsageError("--normalize: use none or l2");
}

core::TsneResult run_tsne(const core::RowMatrixXd& x, const Points& p, const TsneFlags& f,
                          int threads) {
  const Eigen::Index n = x.rows();
  if (n < 2)
    throw Error(p.path + ": t-SNE needs at least 2 points (got " + std::to_string(n) + ")");
  if (!(f.perplexity > 0)) throw UsageError("--perplexity: must be > 0");
  if (f.perplexity >= static_cast<double>(n))
    throw UsageError("--perplexity " + report::format_double(f.perplexity) +
                     " must be less than the number of points (" + std::to_string(n) +
                     "); the RSA seed uses 5 for its 20 words");
  if (f.method != "auto" && f.method != "exact" && f.method != "barnes_hut" && f.method != "fft")
    throw UsageError("--method: use auto, exact, barnes_hut or fft");
  if (f.init != "pca" && f.init != "random") throw UsageError("--init: use pca or random");
  if (f.max_iter < 250)  // core would name its exaggeration_iter, which is no flag
    throw UsageError("--max-iter " + std::to_string(f.max_iter) +
                     ": at least 250 (the early-exaggeration phase; sklearn's minimum too)");
  if (f.components < 1 || f.components > 3) throw UsageError("--tsne-components: 1, 2 or 3");
  if (f.method == "barnes_hut" && f.components > 3)
    throw UsageError("--method barnes_hut: at most 3 dimensions");
  if (f.method == "fft" && f.components > 2)
    throw UsageError("--method fft: 1 or 2 dimensions; use barnes_hut for 3");
  const std::string method =
      f.method == "auto" ? core::tsne_auto_method(n, f.components) : f.method;
  core::TsneOptions o;
  o.n_components = f.components;
  o.perplexity = f.perplexity;
  o.early_exaggeration = f.early_exaggeration;
  if (f.learning_rate != "auto") {
    const std::optional<double> v = io::parse_double(f.learning_rate);
    if (!v || !(*v > 0)) throw UsageError("--learning-rate: 'auto' or a positive number");
    o.learning_rate = *v;
  }
  o.max_iter = f.max_iter;
  o.method = method;
  o.angle = f.angle;
  o.init = f.init;
  o.seed = f.seed;
  o.n_threads = threads;
  report::Progress progress("t-SNE", static_cast<std::uint64_t>(std::max(1, f.max_iter / 50)),
                            true);
  o.on_check = [&](int iter, double kl, double grad) {
    progress.advance();
    spdlog::debug("t-SNE iteration {}: KL {:.6f}, gradient norm {:.3g}", iter, kl, grad);
  };
  spdlog::info("t-SNE of {} points x {} features: {}{}, perplexity {}, {} iterations", n, x.cols(),
               method, f.method == "auto" ? " (auto)" : "", f.perplexity, f.max_iter);
  core::TsneResult r;
  try {
    r = core::tsne(x, o);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());  // core names the option ("t-SNE: ...")
  }
  progress.finish();
  // barnes_hut / fft optimise (and sklearn reports) the KL against the sparse kNN P; the KL
  // against the all-pairs P of the same embedding is larger, so say which one this is.
  spdlog::info("t-SNE: KL divergence {:.6f} ({} P) after {} iterations", r.kl_divergence,
               method == "exact" ? "all-pairs" : "kNN", r.n_iter + 1);
  return r;
}

namespace {
std::string kl_note(const std::string& method) {
  if (method == "exact")
    return "KL(P||Q) of the final embedding; P over all pairs, Q normalised over all pairs";
  return "KL(P||Q) of the final embedding with the sparse P of the k = min(N - 1, "
         "int(3 perplexity + 1)) nearest neighbours that " +
         method +
         " optimises (sklearn's kl_divergence_ uses the same P); Q normalised over all pairs. "
         "The KL against the all-pairs P (--method exact) differs";
}
}  // namespace

nlohmann::json write_tsne(const fs::path& dir, const Points& p, const core::RowMatrixXd& x,
                          const core::TsneResult& r, const TsneFlags& f) {
  io::write_npy(dir / "embedding.npy", io::make_array(r.embedding));
  std::vector<std::string> header = {"index", "name"};
  for (Eigen::Index c = 0; c < r.embedding.cols(); ++c)
    header.push_back("tsne" + std::to_string(c + 1));
  std::vector<std::vector<std::string>> rows;
  for (Eigen::Index i = 0; i < r.embedding.rows(); ++i) {
    std::vector<std::string> row = {std::to_string(i), p.names[static_cast<std::size_t>(i)]};
    for (Eigen::Index c = 0; c < r.embedding.cols(); ++c)
      row.push_back(report::format_double(r.embedding(i, c)));
    rows.push_back(std::move(row));
  }
  report::write_csv(dir / "tsne.csv", header, rows);
  nlohmann::json j = {{"n_points", r.embedding.rows()},
                      {"n_features", x.cols()},
                      {"n_components", r.embedding.cols()},
                      {"method", r.method},
                      {"perplexity", f.perplexity},
                      {"early_exaggeration", f.early_exaggeration},
                      {"learning_rate", r.learning_rate},
                      {"max_iter", f.max_iter},
                      {"iterations", r.n_iter + 1},
                      {"n_iter", r.n_iter},
                      {"n_iter_note",
                       "sklearn's n_iter_: the 0-based index of the last "
                       "iteration, i.e. iterations - 1"},
                      {"init", f.init},
                      {"seed", f.seed},
                      {"kl_divergence", r.kl_divergence},
                      {"kl_p", r.method == "exact" ? "all-pairs" : "kNN"},
                      {"kl_note", kl_note(r.method)}};
  if (r.method == "barnes_hut") j["angle"] = f.angle;
  const Eigen::Index n = x.rows();
  if (f.trust_neighbors > 0 && n <= 20000 && 2 * f.trust_neighbors < n) {
    j["trustworthiness"] = core::trustworthiness(x, r.embedding, f.trust_neighbors);
    j["trustworthiness_neighbors"] = f.trust_neighbors;
  }
  report::write_json(dir / "tsne.json", j);
  return j;
}

void add_dbscan_options(CLI::App* sub, DbscanFlags& f) {
  sub->add_option("--eps", f.eps,
                  "Neighbourhood radius (closed ball); euclidean distance, or 1 - cos for cosine")
      ->capture_default_str();
  sub->add_option("--min-samples", f.min_samples,
                  "Points in an eps-ball (itself included) that make a core point")
      ->capture_default_str();
  sub->add_option("--metric", f.metric, "euclidean or cosine")->capture_default_str();
}

core::DbscanResult run_dbscan(const core::RowMatrixXd& x, const Points& p, const DbscanFlags& f,
                              int threads) {
  if (!(f.eps > 0) || !std::isfinite(f.eps))
    throw UsageError("--eps " + report::format_double(f.eps) + ": must be > 0");
  if (f.min_samples < 1)
    throw UsageError("--min-samples " + std::to_string(f.min_samples) + ": must be >= 1");
  if (f.metric != "euclidean" && f.metric != "cosine")
    throw UsageError("--metric: use euclidean or cosine");
  if (x.rows() < 2)
    throw Error(p.path + ": DBSCAN needs at least 2 points (got " + std::to_string(x.rows()) + ")");
  if (f.metric == "cosine") {
    // sklearn's cosine distance of a zero row is 1 to every other point (0 to itself): allowed,
    // as sklearn allows it, but worth a line since such a row is rarely meant.
    std::int64_t zero = 0;
    for (Eigen::Index i = 0; i < x.rows(); ++i) zero += x.row(i).squaredNorm() == 0 ? 1 : 0;
    if (zero > 0)
      spdlog::warn("{}: {} zero row(s); cosine distance 1 to every other point, as sklearn", p.path,
                   zero);
  }
  core::DbscanOptions o;
  o.eps = f.eps;
  o.min_samples = f.min_samples;
  o.metric = f.metric == "cosine" ? core::DbscanMetric::Cosine : core::DbscanMetric::Euclidean;
  o.n_threads = threads;
  core::DbscanResult r;
  try {
    r = core::dbscan(x, o);
  } catch (const std::invalid_argument& e) {
    throw Error(p.path + ": DBSCAN: " + e.what());
  }
  std::int64_t noise = 0;
  for (const int l : r.labels) noise += l < 0;
  spdlog::info("DBSCAN (eps {}, min_samples {}, {}): {} clusters, {} noise points of {}", f.eps,
               f.min_samples, f.metric, r.n_clusters, noise, x.rows());
  return r;
}

nlohmann::json write_dbscan(const fs::path& dir, const Points& p, const core::RowMatrixXd& x,
                            const core::DbscanResult& r, const DbscanFlags& f) {
  const core::ClusterSummary s = core::summarize_clusters(x, r.labels);
  // 2-D and 3-D points (t-SNE output, the usual case) are copied as x1, x2[, x3]: the cluster
  // figure (a 3-D scene for three) and `actlens report` then need nothing outside this folder.
  const Eigen::Index drawn = (x.cols() == 2 || x.cols() == 3) ? x.cols() : 0;
  std::vector<std::vector<std::string>> rows;
  for (std::size_t i = 0; i < r.labels.size(); ++i) {
    rows.push_back(
        {std::to_string(i), p.names[i], std::to_string(r.labels[i]), r.is_core[i] ? "1" : "0"});
    for (Eigen::Index c = 0; c < drawn; ++c)
      rows.back().push_back(report::format_double(x(static_cast<Eigen::Index>(i), c)));
  }
  std::vector<std::string> header = {"index", "name", "cluster", "core"};
  for (Eigen::Index c = 0; c < drawn; ++c) header.push_back("x" + std::to_string(c + 1));
  report::write_csv(dir / "labels.csv", header, rows);
  std::vector<std::int64_t> labels(r.labels.begin(), r.labels.end());
  io::write_npy(dir / "labels.npy", io::make_array(labels));
  io::write_npy(dir / "centroids.npy", io::make_array(s.centroids));
  nlohmann::json clusters = nlohmann::json::array();
  for (int c = 0; c < r.n_clusters; ++c) {
    std::vector<std::string> members;
    std::int64_t core_count = 0;
    for (std::size_t i = 0; i < r.labels.size(); ++i)
      if (r.labels[i] == c) {
        members.push_back(p.names[i]);
        core_count += r.is_core[i] ? 1 : 0;
      }
    const auto row = s.centroids.row(c);
    clusters.push_back({{"cluster", c},
                        {"size", s.members[static_cast<std::size_t>(c)]},
                        {"core_points", core_count},
                        {"members", members},
                        {"centroid", std::vector<double>(row.data(), row.data() + row.size())}});
  }
  std::vector<std::string> noise;
  for (std::size_t i = 0; i < r.labels.size(); ++i)
    if (r.labels[i] < 0) noise.push_back(p.names[i]);
  nlohmann::json j = {
      {"n_points", x.rows()},         {"n_features", x.cols()}, {"eps", f.eps},
      {"min_samples", f.min_samples}, {"metric", f.metric},     {"n_clusters", r.n_clusters},
      {"n_noise", s.n_noise},         {"noise", noise},         {"clusters", clusters}};
  report::write_json(dir / "clusters.json", j);
  return j;
}

namespace {
std::string py_list(const std::vector<std::string>& items) {
  std::string s = "[";
  for (std::size_t i = 0; i < items.size(); ++i) s += (i ? ", '" : "'") + items[i] + "'";
  return s + "]";
}
}  // namespace

std::string cluster_listing(const Points& p, const core::DbscanResult& r) {
  std::string out;
  for (int c = -1; c < r.n_clusters; ++c) {
    std::vector<std::string> members;
    for (std::size_t i = 0; i < r.labels.size(); ++i)
      if (r.labels[i] == c) members.push_back(p.names[i]);
    out += (c == -1 ? std::string("   Ungrouped tokens :")
                    : "   Tokens in group " + std::to_string(c) + ":") +
           " " + py_list(members) + "\n";
  }
  return out;
}

}  // namespace actlens::cli
