#include "actlens/io/role_dataset.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "actlens/error.hpp"
#include "actlens/io/json_file.hpp"
#include "actlens/io/shape.hpp"

namespace actlens::io {
namespace fs = std::filesystem;

namespace {

// key -> score; -1 for "REFUSAL" (the judge refused to score). The seed's score files hold
// JSON integers 0..3 or the string "REFUSAL"; anything else is refused with the key named.
std::map<std::string, int> read_scores(const fs::path& path) {
  const nlohmann::json j = read_json_file(path, "a score file (JSON: key -> 0..3 or \"REFUSAL\")");
  if (!j.is_object())
    throw Error(path.string() + ": expected a JSON object key -> score, found a " +
                std::string(j.type_name()) + "; fix the score file");
  std::map<std::string, int> scores;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const auto& v = *it;
    int s = -1;
    if (v.is_number_integer() && !v.is_number_unsigned() && v.get<std::int64_t>() >= 0 &&
        v.get<std::int64_t>() <= 3) {
      s = static_cast<int>(v.get<std::int64_t>());
    } else if (v.is_number_unsigned() && v.get<std::uint64_t>() <= 3) {
      s = static_cast<int>(v.get<std::uint64_t>());
    } else if (!(v.is_string() && v.get<std::string>() == "REFUSAL")) {
      std::string got = v.is_structured() ? std::string("a JSON ") + v.type_name() : v.dump();
      if (got.size() > 60) got = got.substr(0, 60) + "...";
      std::string key = it.key();
      if (key.size() > 80) key = key.substr(0, 80) + "...";
      throw Error(path.string() + ": key '" + key +
                  "': score must be an integer 0..3 or \"REFUSAL\", got " + got +
                  "; fix the score file");
    }
    scores[it.key()] = s;
  }
  return scores;
}

}  // namespace

std::unique_ptr<RoleDataset> RoleDataset::open(const fs::path& dir,
                                               const RoleDatasetOptions& options) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw Error(dir.string() +
                ": no such directory; pass the folder holding response_activations/ "
                "and extract_scores/");
  const fs::path acts_dir = dir / "response_activations";
  const fs::path scores_dir = dir / "extract_scores";
  if (!fs::is_directory(acts_dir, ec))
    throw Error(acts_dir.string() + ": missing; expected the role files {role}.pt there");
  if (options.scores.empty()) throw UsageError("--scores: choose at least one score");

  std::vector<fs::path> pts;
  for (const auto& e : fs::directory_iterator(acts_dir)) {
    const auto name = e.path().filename().string();
    if (e.path().extension() == ".pt" && name.find("default") == std::string::npos)
      pts.push_back(e.path());
  }
  std::sort(pts.begin(), pts.end());
  if (pts.empty())
    throw Error(acts_dir.string() +
                ": no role .pt files found (files named {role}.pt; names "
                "containing 'default' are skipped)");

  auto ds = std::unique_ptr<RoleDataset>(new RoleDataset());
  ds->dir_ = dir;
  std::vector<int> score_slot(4, -1);
  for (std::size_t i = 0; i < options.scores.size(); ++i) {
    const int s = options.scores[i];
    if (s < 0 || s > 3)
      throw UsageError("--scores: judge scores are 0..3, got " + std::to_string(s));
    score_slot[static_cast<std::size_t>(s)] = static_cast<int>(i);
  }

  // Per score slot, per role: the selected samples; classes are formed after counting.
  struct Pending {
    std::string role;
    std::shared_ptr<TorchFile> file;
    std::vector<std::vector<std::pair<std::string, pickle::Tensor>>> by_slot;
  };
  std::vector<Pending> pending;
  std::vector<std::int64_t> shape;
  fs::path shape_from;
  for (const auto& pt : pts) {
    const std::string role = pt.stem().string();
    const fs::path score_file = scores_dir / (role + ".json");
    if (!fs::exists(score_file, ec))
      throw Error(score_file.string() + ": missing; every role file needs its score file (" +
                  pt.filename().string() + " has none)");
    const auto scores = read_scores(score_file);
    auto file = std::make_shared<TorchFile>(TorchFile::open(pt));
    ds->bytes_ += fs::file_size(pt, ec);
    const auto& root = file->root();
    if (!root->is<pickle::Dict>())
      throw Error(pt.string() + ": expected a dict of key -> tensor, found a " + root->type_name());

    Pending p{
        role, file,
        std::vector<std::vector<std::pair<std::string, pickle::Tensor>>>(options.scores.size())};
    std::set<std::string> seen;
    for (const auto& [k, v] : root->as<pickle::Dict>().items) {
      if (!k->is<std::string>())
        throw Error(pt.string() + ": dict key of type " + k->type_name() + " (expected strings)");
      const std::string& key = k->as<std::string>();
      seen.insert(key);
      if (!v->is<pickle::Tensor>())
        throw Error(pt.string() + ": key '" + key + "' holds a " + v->type_name() +
                    ", expected a tensor [n_layers, d]");
      const auto& t = v->as<pickle::Tensor>();
      if (t.shape.size() != 2)
        throw Error(pt.string() + ": key '" + key + "' has shape " + shape_str(t.shape) +
                    ", expected [n_layers, d]");
      if (shape.empty()) {
        shape = t.shape;
        shape_from = pt;
      } else if (t.shape != shape) {
        throw Error(pt.string() + ": key '" + key + "' has shape " + shape_str(t.shape) + " but " +
                    shape_from.filename().string() + " has " + shape_str(shape) +
                    "; all activations must share [n_layers, d]");
      }
      auto it = scores.find(key);
      if (it == scores.end())
        throw Error(pt.string() + ": key '" + key + "' has no score in " + score_file.string() +
                    "; scores and activations must have the same keys");
      if (it->second >= 0 && it->second <= 3 &&
          score_slot[static_cast<std::size_t>(it->second)] >= 0)
        p.by_slot[static_cast<std::size_t>(score_slot[static_cast<std::size_t>(it->second)])]
            .emplace_back(key, t);
    }
    if (!options.ignore_extra_scores) {
      for (const auto& [key, s] : scores)
        if (!seen.count(key))
          throw Error(score_file.string() + ": key '" + key + "' has no activation in " +
                      pt.string() + "; fix the dataset or pass --ignore-extra-scores");
    }
    pending.push_back(std::move(p));
  }
  if (shape.empty()) throw Error(acts_dir.string() + ": the role files hold no activations");
  ds->n_layers_ = static_cast<int>(shape[0]);
  ds->dim_ = shape[1];

  // Classes in the seed's order: every role's pos_{scores[0]}, then pos_{scores[1]}, ...
  std::vector<std::vector<int>> class_of(pending.size(),
                                         std::vector<int>(options.scores.size(), -1));
  for (std::size_t slot = 0; slot < options.scores.size(); ++slot) {
    for (std::size_t r = 0; r < pending.size(); ++r) {
      const auto n = static_cast<std::int64_t>(pending[r].by_slot[slot].size());
      if (n == 0 || n < options.min_samples) continue;
      class_of[r][slot] = static_cast<int>(ds->classes_.size());
      ClassInfo c;
      c.role = pending[r].role;
      c.score = options.scores[slot];
      c.name = c.role + "_pos_" + std::to_string(c.score);
      c.count = n;
      ds->classes_.push_back(c);
      ds->n_samples_ += n;
    }
  }
  if (ds->classes_.empty()) {
    std::string list;
    for (int s : options.scores) list += (list.empty() ? "" : ",") + std::to_string(s);
    throw Error(dir.string() + ": no class has at least " + std::to_string(options.min_samples) +
                " responses with score " + list + "; lower --min-samples or check --scores");
  }
  for (std::size_t r = 0; r < pending.size(); ++r) {
    RoleFile rf{pending[r].role, pending[r].file, {}};
    for (std::size_t slot = 0; slot < options.scores.size(); ++slot) {
      if (class_of[r][slot] < 0) continue;
      for (auto& [key, t] : pending[r].by_slot[slot])
        rf.samples.push_back(Sample{key, class_of[r][slot], t});
    }
    if (!rf.samples.empty()) ds->files_.push_back(std::move(rf));
  }
  return ds;
}

Chunk RoleDataset::read_chunk(std::size_t i, const std::vector<int>& layers) const {
  const RoleFile& rf = files_.at(i);
  Chunk c;
  c.source = rf.file->path().string();
  const auto n = static_cast<Eigen::Index>(rf.samples.size());
  c.rows.assign(layers.size(), RowMatrixF(n, dim_));
  c.class_ids.reserve(rf.samples.size());
  c.keys.reserve(rf.samples.size());
  for (Eigen::Index s = 0; s < n; ++s) {
    const Sample& smp = rf.samples[static_cast<std::size_t>(s)];
    for (std::size_t l = 0; l < layers.size(); ++l)
      rf.file->read_slice_float(smp.tensor, layers[l], c.rows[l].row(s).data());
    c.class_ids.push_back(smp.class_id);
    c.keys.push_back(smp.key);
  }
  return c;
}

std::string RoleDataset::describe() const {
  return dir_.string() + " (" + std::to_string(files_.size()) + " role files, " +
         std::to_string(classes_.size()) + " classes, " + std::to_string(n_samples_) + " samples)";
}

RoleVectors read_role_vectors(const fs::path& pca_file, int layer) {
  TorchFile f = TorchFile::open(pca_file);
  const std::string what = pca_file.string();
  const auto& root = f.root();
  if (!root->is<pickle::Dict>())
    throw Error(what + ": expected a dict, found a " + root->type_name());
  auto vectors = root->get("vectors");
  auto roles = root->get("roles");
  if (!vectors || !roles)
    throw Error(what + ": missing key 'vectors' or 'roles' (expected the pipeline's pca file)");
  RoleVectors out;
  std::vector<RowMatrixF> blocks;
  for (int score : {2, 3}) {
    const std::string key = "pos_" + std::to_string(score);
    auto vs = vectors->get(key);
    auto rs = roles->get(key);
    if (!vs || !rs) continue;
    const auto& vlist = vs->sequence();
    const auto& rlist = rs->sequence();
    if (vlist.size() != rlist.size())
      throw Error(what + ": vectors['" + key + "'] has " + std::to_string(vlist.size()) +
                  " entries but roles['" + key + "'] has " + std::to_string(rlist.size()));
    for (std::size_t i = 0; i < vlist.size(); ++i) {
      if (!rlist[i]->is<std::string>())
        throw Error(what + ": roles['" + key + "'] holds a non-string");
      Array a = to_array(f, vlist[i], what + ": vectors['" + key + "'][" + std::to_string(i) + "]");
      if (a.shape.size() != 2)
        throw Error(what + ": vectors['" + key + "'][" + std::to_string(i) +
                    "] is not [n_layers, d]");
      if (layer < 0 || layer >= a.shape[0])
        throw Error(what + ": layer " + std::to_string(layer) + " out of range [0, " +
                    std::to_string(a.shape[0] - 1) + "]");
      RowMatrixF m = to_float_matrix(a, what);
      blocks.push_back(m.row(layer));
      out.roles.push_back(rlist[i]->as<std::string>());
      out.scores.push_back(score);
    }
  }
  if (!blocks.empty()) {
    out.vectors.resize(static_cast<Eigen::Index>(blocks.size()), blocks[0].cols());
    for (std::size_t i = 0; i < blocks.size(); ++i) {
      if (blocks[i].cols() != out.vectors.cols())
        throw Error(what + ": role vectors differ in width");
      out.vectors.row(static_cast<Eigen::Index>(i)) = blocks[i];
    }
  }
  if (auto pca = root->get("pca")) {
    if (auto comps = pca->get("components_"); is_numeric(comps))
      out.pca_components = to_double_matrix(to_array(f, comps, what + ": pca.components_"), what);
  }
  return out;
}

}  // namespace actlens::io
