#pragma once
// The figures each command draws, built from the files of its finished run (so that
// `actlens report RUN_DIR` draws the same figures again without recomputing anything).
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actlens/report/figure.hpp"

namespace actlens::report {

// Commands with figures: lda, pca, ged, rsa, tsne, dbscan, cluster, beliefs, steer, train.
bool draws_figures(const std::string& command);

// Builds the figures of a `command` run whose outputs are in `dir`. Throws actlens::Error naming
// a missing or malformed output file.
std::vector<Figure> figures_for_run(const std::string& command, const std::filesystem::path& dir);

// figures_for_run + write_figures; returns run.json's "figures" record.
// `run_name` titles the index page (the results folder's name).
nlohmann::json draw_run_figures(const std::string& command, const std::filesystem::path& dir,
                                const std::string& run_name, const FigureOptions& options);

// One builder per command (figures_<command>.cpp).
std::vector<Figure> lda_figures(const std::filesystem::path& dir);
std::vector<Figure> pca_figures(const std::filesystem::path& dir);
std::vector<Figure> ged_figures(const std::filesystem::path& dir);
std::vector<Figure> rsa_figures(const std::filesystem::path& dir);
// tsne, dbscan and cluster: the 2-D points, coloured by cluster when there are clusters.
std::vector<Figure> embedding_figures(const std::filesystem::path& dir);
std::vector<Figure> beliefs_figures(const std::filesystem::path& dir);
std::vector<Figure> steer_figures(const std::filesystem::path& dir);
std::vector<Figure> train_figures(const std::filesystem::path& dir);

}  // namespace actlens::report
