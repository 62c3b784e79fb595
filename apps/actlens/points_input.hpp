#pragma once
// The inputs of rsa / tsne / dbscan / cluster: a set of named points, from word embeddings (GloVe
// or word2vec text/binary, .npy + vocabulary, a GPT-2 folder's wte) or from activations (one
// layer of an array file or capture folder, named by a labels column or by row number).
#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "actlens/core/types.hpp"

namespace actlens::cli {

struct PointsOptions {
  std::string words;            // --words FILE|a,b,c: rows to take (by word / name), in order
  bool skip_missing = false;    // --skip-missing
  std::string vocab;            // --vocab: vocabulary of an .npy embedding table
  std::string format = "auto";  // --format auto|glove|word2vec|word2vec-binary|npy|gpt2|activations
  bool gpt2_leading_space = false;
  std::string hook, key = "activations", labels, names_column = "label";
  int layer = -1;
};

// Adds the flags above to `sub` (`words_help` tailors --words' description).
void add_points_options(CLI::App* sub, PointsOptions& o);

struct Points {
  std::string path;                  // as given
  std::string kind;                  // "embeddings" or "activations"
  std::string format;                // embedding format or "activations (<layer>)"
  core::RowMatrixXd x;               // [N, D], finite (checked)
  std::vector<std::string> names;    // [N]
  std::vector<std::string> missing;  // words not found (with --skip-missing)
  std::vector<std::string> missing_reasons;
  std::int64_t vocab_size = 0;  // embeddings: words in the file; activations: rows
  std::uint64_t bytes = 0;      // input size for run.json
};

// Loads `path` as the options say. Errors name the file and, for flags, the flag.
Points load_points(const std::string& path, const PointsOptions& o);

// Names of the inputs: --names 'a,b' (one per input, distinct), else the file stems (a repeated
// stem gets _2, _3...). UsageError for a wrong count or a repeat.
std::vector<std::string> space_names(const std::string& spec,
                                     const std::vector<std::string>& inputs);

// Rows of `x` divided by their L2 norm (the RSA seed's E / ||E||); a zero row is an Error that
// names the point.
core::RowMatrixXd unit_rows(const Points& p);

}  // namespace actlens::cli
