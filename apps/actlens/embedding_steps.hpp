#pragma once
// The t-SNE and DBSCAN steps shared by `actlens tsne`, `actlens dbscan` and `actlens cluster` (the
// RSA seed's tSNE_dbscan): their flags, the call into core/, the files they write and the seed's
// "Tokens in group k" listing.
#include <filesystem>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "actlens/core/dbscan.hpp"
#include "actlens/core/tsne.hpp"
#include "points_input.hpp"

namespace actlens::cli {

struct TsneFlags {
  int components = 2;
  double perplexity = 30;
  double early_exaggeration = 12;
  std::string learning_rate = "auto";
  int max_iter = 1000;
  std::string method = "auto";  // auto | exact | barnes_hut | fft (auto: core::tsne_auto_method)
  double angle = 0.5;
  std::string init = "pca";
  std::uint64_t seed = 0;
  int trust_neighbors = 5;
};
void add_tsne_options(CLI::App* sub, TsneFlags& f);
// Runs t-SNE on `x` (rows of `p`, already normalised as asked); checks the flags against N.
core::TsneResult run_tsne(const core::RowMatrixXd& x, const Points& p, const TsneFlags& f,
                          int threads);
// embedding.npy [N, k], tsne.csv (index, name, tsne1..k), tsne.json; returns tsne.json's content.
nlohmann::json write_tsne(const std::filesystem::path& dir, const Points& p,
                          const core::RowMatrixXd& x, const core::TsneResult& r,
                          const TsneFlags& f);

struct DbscanFlags {
  double eps = 0.5;
  int min_samples = 5;
  std::string metric = "euclidean";
};
void add_dbscan_options(CLI::App* sub, DbscanFlags& f);
core::DbscanResult run_dbscan(const core::RowMatrixXd& x, const Points& p, const DbscanFlags& f,
                              int threads);
// labels.csv (index, name, cluster, core), labels.npy, centroids.npy, clusters.json; returns
// clusters.json's content.
nlohmann::json write_dbscan(const std::filesystem::path& dir, const Points& p,
                            const core::RowMatrixXd& x, const core::DbscanResult& r,
                            const DbscanFlags& f);
// The seed's listing: "   Ungrouped tokens : ['a', 'b']" then "   Tokens in group k: [...]".
std::string cluster_listing(const Points& p, const core::DbscanResult& r);

// --normalize none|l2 (the RSA seed runs t-SNE on unit rows).
core::RowMatrixXd normalized(const Points& p, const std::string& normalize);

}  // namespace actlens::cli
