// actlens tsne: t-SNE of embeddings or activations with scikit-learn TSNE's semantics and
// defaults (the RSA seed runs TSNE(n_components=2, perplexity=5) on unit-normalised vectors).
#include <memory>

#include <spdlog/spdlog.h>

#include "actlens/report/output_dir.hpp"
#include "actlens/report/run_info.hpp"
#include "cli_common.hpp"
#include "commands.hpp"
#include "embedding_steps.hpp"

namespace actlens::cli {

namespace {

struct TsneCommandOptions {
  FigureFlags figures;
  std::string input;
  std::string normalize = "none";
  TsneFlags tsne;
  PointsOptions points;
  int threads = 0;
  std::string out = "results/tsne";
};

int run_tsne_command(const TsneCommandOptions& o) {
  set_threads(o.threads);
  report::RunInfo info("tsne", command_line(), ACTLENS_VERSION);
  info.start("read");
  const Points p = load_points(o.input, o.points);
  const core::RowMatrixXd x = normalized(p, o.normalize);
  info.stop("read");
  report::OutputDir out(o.out, "tsne");
  info.start("tsne");
  const core::TsneResult r = run_tsne(x, p, o.tsne, o.threads);
  info.stop("tsne");
  info.start("write");
  const nlohmann::json j = write_tsne(out.path(), p, x, r, o.tsne);
  info.stop("write");
  info.add_input("input", p.path, p.format, p.bytes);
  auto& opt = info.options();
  opt["normalize"] = o.normalize;
  opt["words"] = o.points.words;
  opt["threads"] = o.threads;
  info.summary() = j;
  draw_figures("tsne", out.path(), out.target(), o.figures, info);
  info.write(out.path());
  out.commit();
  spdlog::info("results in {}", out.target().string());
  return 0;
}

}  // namespace

Runner register_tsne(CLI::App& app) {
  auto o = std::make_shared<TsneCommandOptions>();
  auto* sub = app.add_subcommand(
      "tsne",
      "t-SNE of embeddings or activations (sklearn TSNE semantics; exact, Barnes-Hut "
      "or FFT-interpolated gradients), deterministic for a given --seed");
  sub->add_option("input", o->input,
                  "Embedding file (GloVe/word2vec text or binary, .npy with --vocab, a GPT-2 "
                  "folder) or activations (array file or capture folder)")
      ->required();
  sub->add_option("--normalize", o->normalize,
                  "Rows before t-SNE: none (sklearn) or l2 (unit length, as the RSA seed)")
      ->capture_default_str();
  add_tsne_options(sub, o->tsne);
  add_points_options(sub, o->points);
  add_threads_option(*sub, o->threads, "Threads (0 = all cores); results do not depend on it")
      ->capture_default_str();
  sub->add_option("-o,--out", o->out, "Output folder (replaced atomically)")->capture_default_str();
  add_figure_options(*sub, o->figures);
  add_config_option(*sub);
  return [o] { return run_tsne_command(*o); };
}

}  // namespace actlens::cli
