#include "actlens/report/figure_sets.hpp"

#include <map>

#include "actlens/error.hpp"

namespace actlens::report {
namespace fs = std::filesystem;

namespace {

using Builder = std::vector<Figure> (*)(const fs::path&);

const std::map<std::string, Builder>& builders() {
  static const std::map<std::string, Builder> b = {
      {"lda", lda_figures},           {"pca", pca_figures},         {"ged", ged_figures},
      {"rsa", rsa_figures},           {"tsne", embedding_figures},  {"dbscan", embedding_figures},
      {"cluster", embedding_figures}, {"beliefs", beliefs_figures}, {"steer", steer_figures},
      {"train", train_figures}};
  return b;
}

}  // namespace

bool draws_figures(const std::string& command) {
  return builders().count(command) > 0;
}

std::vector<Figure> figures_for_run(const std::string& command, const fs::path& dir) {
  const auto it = builders().find(command);
  if (it == builders().end())
    throw Error(dir.string() + ": '" + command + "' runs have no figures");
  return it->second(dir);
}

nlohmann::json draw_run_figures(const std::string& command, const fs::path& dir,
                                const std::string& run_name, const FigureOptions& options) {
  return write_figures(dir, "actlens " + command + ": " + run_name, figures_for_run(command, dir),
                       options);
}

}  // namespace actlens::report
