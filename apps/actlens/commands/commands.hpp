#pragma once
// Each subcommand lives in its own file: register_* adds it to the app and returns the function
// that runs it once parsed (returns the process exit code).
#include <functional>

#include <CLI/CLI.hpp>

namespace actlens::cli {

using Runner = std::function<int()>;

Runner register_lda(CLI::App& app);
Runner register_compare(CLI::App& app);
Runner register_corpus(CLI::App& app);
Runner register_pca(CLI::App& app);
Runner register_ged(CLI::App& app);
Runner register_rsa(CLI::App& app);
Runner register_tsne(CLI::App& app);
Runner register_dbscan(CLI::App& app);
Runner register_cluster(CLI::App& app);
Runner register_process(CLI::App& app);
Runner register_report(CLI::App& app);

}  // namespace actlens::cli
