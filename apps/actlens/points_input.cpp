#include "points_input.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include <spdlog/spdlog.h>

#include "activation_input.hpp"
#include "actlens/core/finite.hpp"
#include "actlens/error.hpp"
#include "actlens/io/embeddings.hpp"
#include "actlens/io/npy.hpp"
#include "actlens/io/plain_activations.hpp"

namespace actlens::cli {
namespace fs = std::filesystem;

void add_points_options(CLI::App* sub, PointsOptions& o) {
  sub->add_option("--words", o.words,
                  "Rows to use, in this order: a file (one word per line, or a CSV with a `word` "
                  "column) or a comma list 'moon,star,sun'. Embeddings: looked up in the "
                  "vocabulary; activations: matched against the names (--names-column). Default: "
                  "every row (embedding files: every word)");
  sub->add_flag("--skip-missing", o.skip_missing,
                "Drop words that are not found (they are listed) instead of stopping");
  sub->add_option("--vocab", o.vocab, "Vocabulary of an .npy embedding table, one word per line");
  sub->add_option("--format", o.format,
                  "Input format: auto (by folder/extension/first line), glove, word2vec, "
                  "word2vec-binary, npy (with --vocab), gpt2 (a Hugging Face GPT-2 folder's "
                  "token embeddings), activations (an activation file or capture folder)")
      ->capture_default_str();
  sub->add_flag("--gpt2-leading-space", o.gpt2_leading_space,
                "GPT-2 folder: look words up as ' word' (the token inside a sentence)");
  sub->add_option("--hook", o.hook, "Activations: layer file of a capture folder");
  sub->add_option("--layer", o.layer, "Activations: layer index of an [N, n_layers, d] file");
  sub->add_option("--key", o.key, "Activations: array name inside .npz/.safetensors/.pt files")
      ->capture_default_str();
  sub->add_option("--labels", o.labels,
                  "Activations: names per row (.csv/.txt/.npy); default the folder's labels.csv")
      ->capture_default_str();
  sub->add_option("--names-column", o.names_column,
                  "Activations: column of the labels CSV that names each row")
      ->capture_default_str();
}

namespace {

bool is_embedding_input(const fs::path& p, const PointsOptions& o) {
  if (o.format == "activations") return false;
  if (o.format != "auto") return true;
  std::error_code ec;
  if (fs::is_directory(p, ec))
    return fs::exists(p / "vocab.json", ec) && fs::exists(p / "config.json", ec);
  std::string name = p.filename().string();
  if (name.size() > 3 && name.ends_with(".gz")) name.resize(name.size() - 3);
  const std::string ext = fs::path(name).extension().string();
  if (ext == ".npy") return !o.vocab.empty();
  return ext == ".txt" || ext == ".vec" || ext == ".bin" || ext == ".w2v" || ext == ".glove" ||
         ext == ".gz";
}

void check_finite(const Points& p) {
  if (core::all_finite(p.x.data(), static_cast<std::size_t>(p.x.size()))) return;
  for (Eigen::Index r = 0; r < p.x.rows(); ++r)
    if (!p.x.row(r).allFinite())
      throw Error(p.path + ": '" + p.names[static_cast<std::size_t>(r)] + "' (row " +
                  std::to_string(r) + ") has NaN/Inf; fix or drop it");
}

Points load_activations(const std::string& path, const PointsOptions& o) {
  const SingleLayerInput where = resolve_single_layer(path, o.key, o.hook, o.layer, o.labels, "");
  io::PlainActivationsOptions po;
  po.key = o.key;
  const auto rows = io::PlainActivations::open(where.file, {}, po);
  Points p;
  p.path = path;
  p.kind = "activations";
  p.format = "activations" + (where.name.empty() ? std::string() : " (" + where.name + ")");
  p.bytes = rows->input_bytes();
  const std::int64_t n = rows->n_samples();
  p.vocab_size = n;
  p.x.resize(n, rows->dim());
  std::int64_t first = 0;
  for (std::size_t i = 0; i < rows->n_chunks(); ++i) {
    core::RowMatrixXd c = rows->read_chunk_double(i, where.layer >= 0 ? where.layer : 0);
    p.x.middleRows(first, c.rows()) = c;
    first += c.rows();
  }
  if (!where.labels.empty()) {
    p.names = read_optional_column(where.labels, o.names_column);
    if (p.names.empty()) p.names = io::read_labels(where.labels, o.names_column);
    if (static_cast<std::int64_t>(p.names.size()) != n)
      throw Error(where.labels.string() + ": " + std::to_string(p.names.size()) + " names for " +
                  std::to_string(n) + " rows of " + where.file.string() +
                  "; they must match one to one");
  } else {
    for (std::int64_t i = 0; i < n; ++i) p.names.push_back(std::to_string(i));
  }
  if (o.words.empty()) return p;
  // --words selects rows by name (the first row of each name).
  std::map<std::string, Eigen::Index> first_row;
  for (std::size_t i = 0; i < p.names.size(); ++i)
    first_row.emplace(p.names[i], static_cast<Eigen::Index>(i));
  Points sel = p;
  sel.names.clear();
  std::vector<Eigen::Index> keep;
  for (const auto& w : io::read_word_list(o.words)) {
    const auto it = first_row.find(w);
    if (it == first_row.end()) {
      sel.missing.push_back(w);
      sel.missing_reasons.push_back("no row has this name");
      continue;
    }
    keep.push_back(it->second);
    sel.names.push_back(w);
  }
  if (!sel.missing.empty() && !o.skip_missing) {
    std::string list;
    for (std::size_t i = 0; i < sel.missing.size() && i < 20; ++i)
      list += (i ? ", " : "") + sel.missing[i];
    throw Error(path + ": " + std::to_string(sel.missing.size()) + " of the --words name no row (" +
                list + (sel.missing.size() > 20 ? ", ..." : "") +
                "); check --names-column or pass "
                "--skip-missing");
  }
  sel.x.resize(static_cast<Eigen::Index>(keep.size()), p.x.cols());
  for (std::size_t i = 0; i < keep.size(); ++i)
    sel.x.row(static_cast<Eigen::Index>(i)) = p.x.row(keep[i]);
  return sel;
}

// A finished `actlens tsne` (or `cluster`) folder: its embedding.npy and the names in tsne.csv.
bool is_tsne_result(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec) && fs::exists(p / "tsne.json", ec) &&
         fs::exists(p / "embedding.npy", ec);
}

Points load_tsne_result(const std::string& path) {
  Points p;
  p.path = path;
  p.kind = "tsne";
  p.format = "actlens tsne result";
  const fs::path file = fs::path(path) / "embedding.npy";
  p.x = io::to_double_matrix(io::read_npy(file), file.string());
  p.bytes = fs::file_size(file);
  p.names = read_optional_column(fs::path(path) / "tsne.csv", "name");
  if (static_cast<Eigen::Index>(p.names.size()) != p.x.rows())
    throw Error(path +
                ": tsne.csv and embedding.npy disagree on the number of points; re-run "
                "actlens tsne");
  p.vocab_size = p.x.rows();
  return p;
}

}  // namespace

Points load_points(const std::string& path, const PointsOptions& o) {
  Points p;
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(path + ": no such file or folder; check the path");
  if (o.format == "auto" && is_tsne_result(path)) {
    p = load_tsne_result(path);
  } else if (is_embedding_input(path, o)) {
    io::EmbeddingQuery q;
    if (!o.words.empty()) q.words = io::read_word_list(o.words);
    q.skip_missing = o.skip_missing;
    q.format = io::parse_embedding_format(o.format == "auto" ? "auto" : o.format);
    q.vocab = o.vocab;
    q.gpt2_leading_space = o.gpt2_leading_space;
    io::Embeddings e = io::read_embeddings(path, q);
    p.path = path;
    p.kind = "embeddings";
    p.format = e.format;
    p.x = std::move(e.vectors);
    p.names = std::move(e.words);
    p.missing = std::move(e.missing);
    p.missing_reasons = std::move(e.missing_reasons);
    p.vocab_size = e.vocab_size;
    p.bytes = fs::is_directory(path, ec) ? 0 : fs::file_size(path, ec);
  } else {
    p = load_activations(path, o);
  }
  for (std::size_t i = 0; i < p.missing.size(); ++i)
    spdlog::warn("{}: '{}' skipped ({})", path, p.missing[i],
                 i < p.missing_reasons.size() ? p.missing_reasons[i] : "not found");
  check_finite(p);
  return p;
}

std::vector<std::string> space_names(const std::string& spec,
                                     const std::vector<std::string>& inputs) {
  std::vector<std::string> names;
  if (!spec.empty()) {
    std::string item;
    for (std::size_t i = 0; i <= spec.size(); ++i) {
      if (i == spec.size() || spec[i] == ',') {
        names.push_back(item);
        item.clear();
      } else {
        item += spec[i];
      }
    }
    if (names.size() != inputs.size())
      throw UsageError("--names: " + std::to_string(names.size()) + " names for " +
                       std::to_string(inputs.size()) + " inputs");
    if (std::set<std::string>(names.begin(), names.end()).size() != names.size())
      throw UsageError("--names: two inputs have the same name (" + spec + "); give distinct ones");
    return names;
  }
  for (const auto& s : inputs) {
    std::string stem = fs::path(s).filename().string();
    if (stem.ends_with(".gz")) stem.resize(stem.size() - 3);
    stem = fs::path(stem).stem().string();
    // the same file twice (or two files with one stem): number the repeats
    std::string name = stem;
    for (int k = 2; std::find(names.begin(), names.end(), name) != names.end(); ++k)
      name = stem + "_" + std::to_string(k);
    names.push_back(name);
  }
  return names;
}

core::RowMatrixXd unit_rows(const Points& p) {
  core::RowMatrixXd x = p.x;
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    const double norm = x.row(r).norm();
    if (!(norm > 0))
      throw Error(p.path + ": '" + p.names[static_cast<std::size_t>(r)] +
                  "' is a zero vector; its cosine similarity is undefined (drop it from --words)");
    x.row(r) /= norm;
  }
  return x;
}

}  // namespace actlens::cli
