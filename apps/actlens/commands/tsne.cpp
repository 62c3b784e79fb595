// actlens tsne: t-SNE of embeddings or activations with scikit-learn TSNE's semantics and
// defaults (the RSA seed runs TSNE(n_components=2, perplexity=5) on unit-normalised vectors).
#include <memory>

#include <spdlog/spdlog.h>

#include "actlens/report/output_dir.hpp"
#include "actlens/report/run_info.hpp"
#include "cli_common.hpp"
#include "command.hpp"
#include "embedding_steps.hpp"

namespace actlens::cli {

namespace {

struct TsneCommandOptions {
  std::string input;
  std::string normalize = "none";
  TsneFlags tsne;
  PointsOptions points;
};

int run_tsne_command(const TsneCommandOptions& o, Command& cmd) {
  report::RunInfo& info = cmd.start();
  info.start("read");
  const Points p = load_points(o.input, o.points);
  const core::RowMatrixXd x = normalized(p, o.normalize);
  info.stop("read");
  report::OutputDir& out = cmd.output();
  info.start("tsne");
  const core::TsneResult r = run_tsne(x, p, o.tsne, cmd.threads());
  info.stop("tsne");
  info.start("write");
  const nlohmann::json j = write_tsne(out.path(), p, x, r, o.tsne);
  info.stop("write");
  info.add_input("input", p.path, p.format, p.bytes);
  // --method auto picks by N: the method that ran, whatever was asked.
  info.section("resolved")["method"] = r.method;
  info.summary() = j;
  return cmd.finish();
}

}  // namespace

Runner register_tsne(CLI::App& app) {
  auto o = std::make_shared<TsneCommandOptions>();
  auto cmd =
      Command::add(app, {"tsne",
                         "t-SNE of embeddings or activations (sklearn TSNE semantics; exact, "
                         "Barnes-Hut or FFT-interpolated gradients), deterministic for a "
                         "given --seed",
                         "results/tsne"});
  CLI::App* sub = &cmd->app();
  sub->add_option("input", o->input,
                  "Embedding file (GloVe/word2vec text or binary, .npy with --vocab, a GPT-2 "
                  "folder) or activations (array file or capture folder)")
      ->required();
  sub->add_option("--normalize", o->normalize,
                  "Rows before t-SNE: none (sklearn) or l2 (unit length, as the RSA seed)")
      ->check(one_of({"none", "l2"}))
      ->capture_default_str();
  add_tsne_options(sub, o->tsne);
  add_points_options(sub, o->points);
  return cmd->runner([o](Command& c) { return run_tsne_command(*o, c); });
}

}  // namespace actlens::cli
