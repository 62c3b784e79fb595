#include "registry.hpp"

#include <algorithm>

#include "model_commands.hpp"

namespace actlens::cli {

std::map<CLI::App*, Runner> register_commands(CLI::App& app) {
  std::map<CLI::App*, Runner> runners;
  auto add = [&](Runner (*reg)(CLI::App&)) {
    const auto before = app.get_subcommands({});
    auto runner = reg(app);
    for (auto* sub : app.get_subcommands({}))
      if (std::find(before.begin(), before.end(), sub) == before.end()) runners[sub] = runner;
  };
  add(register_lda);
  for (auto* reg : model_commands()) add(reg);  // capture, train, beliefs, steer
  add(register_pca);
  add(register_ged);
  add(register_rsa);
  add(register_tsne);
  add(register_dbscan);
  add(register_cluster);
  add(register_corpus);
  add(register_compare);
  add(register_process);
  add(register_report);
  return runners;
}

}  // namespace actlens::cli
