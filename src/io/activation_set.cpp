#include "actlens/io/activation_set.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <cstring>

#include <nlohmann/json.hpp>

#include "actlens/error.hpp"
#include "actlens/io/json_file.hpp"
#include "actlens/io/npy.hpp"
#include "actlens/io/plain_activations.hpp"
#include "actlens/io/safetensors.hpp"

namespace actlens::io {
namespace fs = std::filesystem;

namespace {

bool is_array_file(const fs::path& p) {
  const std::string ext = p.extension().string();
  const std::string name = p.filename().string();
  if (name.ends_with(".offsets.npy")) return false;  // `actlens capture --format npy` side file
  return ext == ".npy" || ext == ".npz" || ext == ".safetensors" || ext == ".pt";
}

// The capture's options, when the folder has its run.json: refuse per-token outputs, whose rows
// are tokens rather than texts.
void check_capture_run(const fs::path& dir) {
  const fs::path run = dir / "run.json";
  std::error_code ec;
  if (!fs::exists(run, ec)) return;
  // A FIFO, a device, a folder or a huge file is refused (reading one would hang); JSON that
  // does not parse is not ours: the array files speak for themselves.
  const std::string text = read_text_file(run, "the run.json of an actlens capture", kMaxJsonBytes);
  nlohmann::json j;
  try {
    j = parse_json_text(text, run.string());
  } catch (const Error&) {
    return;
  }
  if (!j.is_object()) return;  // not ours; the array files speak for themselves
  const auto cmd = j.find("command");
  if (cmd == j.end() || !cmd->is_string() || cmd->get<std::string>() != "capture") return;
  const auto opt = j.find("options");
  if (opt == j.end() || !opt->is_object()) return;
  const auto agg = opt->find("aggregate");
  if (agg != opt->end() && agg->is_string() && agg->get<std::string>() == "all")
    throw Error(dir.string() +
                ": captured with --aggregate all (one row per token, not per text); capture "
                "with --aggregate final, mean, max, sum or token:WORDS for this analysis");
}

}  // namespace

bool natural_less(const std::string& a, const std::string& b) {
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const bool da = std::isdigit(static_cast<unsigned char>(a[i])) != 0;
    const bool db = std::isdigit(static_cast<unsigned char>(b[j])) != 0;
    if (da && db) {
      std::size_t ie = i, je = j;
      while (ie < a.size() && std::isdigit(static_cast<unsigned char>(a[ie]))) ++ie;
      while (je < b.size() && std::isdigit(static_cast<unsigned char>(b[je]))) ++je;
      // Compare digit runs as numbers: longer (without leading zeros) is larger.
      std::string_view na(a.data() + i, ie - i), nb(b.data() + j, je - j);
      while (na.size() > 1 && na.front() == '0') na.remove_prefix(1);
      while (nb.size() > 1 && nb.front() == '0') nb.remove_prefix(1);
      if (na.size() != nb.size()) return na.size() < nb.size();
      if (na != nb) return na < nb;
      i = ie;
      j = je;
      continue;
    }
    if (a[i] != b[j]) return a[i] < b[j];
    ++i;
    ++j;
  }
  return a.size() - i < b.size() - j;
}

ActivationSet ActivationSet::open(const fs::path& path, const std::string& key) {
  ActivationSet s;
  s.path_ = path;
  s.key_ = key;
  std::error_code ec;
  if (!fs::exists(path, ec))
    throw Error(path.string() + ": no such file or folder; check the path");
  if (fs::is_directory(path, ec)) {
    s.folder_ = true;
    check_capture_run(path);
    for (const auto& e : fs::directory_iterator(path, ec)) {
      if (!e.is_regular_file() || !is_array_file(e.path())) continue;
      const std::string name = e.path().filename().string();
      if (name.starts_with(".")) continue;
      s.layers_.push_back(LayerRef{e.path().stem().string(), e.path(), -1});
    }
    if (s.layers_.empty())
      throw Error(path.string() +
                  ": no activation files (.npy .npz .safetensors .pt) in this folder");
    std::sort(s.layers_.begin(), s.layers_.end(),
              [](const LayerRef& a, const LayerRef& b) { return natural_less(a.name, b.name); });
    for (std::size_t i = 1; i < s.layers_.size(); ++i)
      if (s.layers_[i].name == s.layers_[i - 1].name)
        throw Error(path.string() + ": two files for layer '" + s.layers_[i].name + "' (" +
                    s.layers_[i - 1].file.filename().string() + ", " +
                    s.layers_[i].file.filename().string() + "); keep one");
    return s;
  }
  // One file: its rank tells whether it has a layer axis.
  std::vector<std::int64_t> shape;
  if (path.extension() == ".npy") {
    shape = read_npy_layout(path).shape;
  } else if (path.extension() == ".safetensors") {  // the header alone tells the shape
    const auto f = SafetensorsFile::open(path);
    const auto keys = f.keys();
    if (keys.size() == 1 || !f.contains(key)) {
      if (keys.size() != 1) (void)read_array_file(path, key);  // throws naming the keys
      shape = f.info(keys.front()).shape;
    } else {
      shape = f.info(key).shape;
    }
  } else {
    auto a = std::make_shared<const Array>(read_array_file(path, key));
    shape = a->shape;
    s.cache_[path] = a;
  }
  if (shape.size() == 2) {
    s.layers_.push_back(LayerRef{"", path, -1});
  } else if (shape.size() == 3) {
    s.axis_layers_ = static_cast<int>(shape[1]);
    for (int l = 0; l < s.axis_layers_; ++l)
      s.layers_.push_back(LayerRef{"layer" + std::to_string(l), path, l});
  } else {
    throw Error(path.string() + ": activations must be [N, d] or [N, n_layers, d], got rank " +
                std::to_string(shape.size()));
  }
  return s;
}

fs::path ActivationSet::labels_file() const {
  std::error_code ec;
  if (folder_ && fs::exists(path_ / "labels.csv", ec)) return path_ / "labels.csv";
  return {};
}

std::vector<LayerRef> ActivationSet::select_names(const std::string& globs,
                                                  const std::string& flag) const {
  std::vector<std::string> patterns;
  std::size_t start = 0;
  while (start <= globs.size()) {
    const std::size_t comma = globs.find(',', start);
    std::string p =
        globs.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!p.empty()) patterns.push_back(p);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  std::vector<LayerRef> out;
  for (const auto& l : layers_)
    for (const auto& p : patterns)
      if (::fnmatch(p.c_str(), l.name.c_str(), 0) == 0) {
        out.push_back(l);
        break;
      }
  if (out.empty()) {
    std::string names;
    for (const auto& l : layers_) names += (names.empty() ? "" : ", ") + l.name;
    throw Error(flag + " '" + globs + "' matches no layer of " + path_.string() +
                " (has: " + names + ")");
  }
  return out;
}

std::vector<LayerRef> ActivationSet::select_indices(const std::vector<int>& indices) const {
  std::vector<LayerRef> out;
  for (int i : indices) {
    if (i < 0 || i >= axis_layers_)
      throw Error(path_.string() + ": layer " + std::to_string(i) + " is out of range (0.." +
                  std::to_string(axis_layers_ - 1) + ")");
    out.push_back(layers_[static_cast<std::size_t>(i)]);
  }
  return out;
}

RowMatrixD ActivationSet::read(const LayerRef& layer) const {
  auto it = cache_.find(layer.file);
  std::shared_ptr<const Array> a;
  if (it != cache_.end()) {
    a = it->second;
  } else {
    a = std::make_shared<const Array>(read_array_file(layer.file, key_));
    if (layer.index >= 0) cache_[layer.file] = a;  // the other layers come from the same file
  }
  const std::string what = layer.file.string();
  if (layer.index < 0) {
    if (a->shape.size() != 2)
      throw Error(what + ": expected [N, d] activations, got rank " +
                  std::to_string(a->shape.size()));
    return to_double_matrix(*a, what);
  }
  if (a->shape.size() != 3) throw Error(what + ": expected [N, n_layers, d] activations");
  const std::int64_t n = a->shape[0], nl = a->shape[1], d = a->shape[2];
  RowMatrixD out(n, d);
  const std::size_t es = dtype_size(a->dtype);
  for (std::int64_t r = 0; r < n; ++r) {
    const std::byte* src =
        a->data.data() + static_cast<std::size_t>((r * nl + layer.index) * d) * es;
    convert_to_double(a->dtype, src, out.row(r).data(), static_cast<std::size_t>(d));
  }
  return out;
}

}  // namespace actlens::io
