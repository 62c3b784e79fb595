#include "actlens/io/partial_stats.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <stdexcept>
#include <string_view>

#include "actlens/error.hpp"
#include "actlens/io/content_hash.hpp"
#include "actlens/io/json_file.hpp"
#include "actlens/io/safetensors.hpp"

namespace actlens::io {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string_view bytes_of(const Array& a) {
  return {reinterpret_cast<const char*>(a.data.data()), a.data.size()};
}

bool valid_group_name(const std::string& name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '-';
  });
}

// Lower triangle of a symmetric matrix, row by row (numpy's g[np.tril_indices(d)]), and back.
std::vector<double> pack_lower(const Eigen::MatrixXd& g) {
  std::vector<double> out;
  out.reserve(static_cast<std::size_t>(g.rows() * (g.rows() + 1) / 2));
  for (Eigen::Index i = 0; i < g.rows(); ++i)
    for (Eigen::Index j = 0; j <= i; ++j) out.push_back(g(i, j));
  return out;
}

Eigen::MatrixXd unpack_lower(const std::vector<double>& v, Eigen::Index d) {
  Eigen::MatrixXd g(d, d);
  std::size_t k = 0;
  for (Eigen::Index i = 0; i < d; ++i)
    for (Eigen::Index j = 0; j <= i; ++j) g(i, j) = g(j, i) = v[k++];
  return g;
}

json fingerprint_json(const InputFingerprint& f) {
  return {{"file", f.file}, {"size", f.size}, {"xxh3", f.xxh3}};
}

json manifest_json(const PartialManifest& m) {
  json inputs = json::array();
  for (const auto& f : m.inputs) inputs.push_back(fingerprint_json(f));
  json shard = nullptr;
  if (m.shard_count > 0) shard = {{"k", m.shards}, {"n", m.shard_count}};
  return {{"format", kPartialFormat},
          {"statistic", "scatter"},
          {"analysis", m.analysis},
          {"program_version", m.program_version},
          {"options", m.options},
          {"layers", m.layers},
          {"d", m.dim},
          {"classes", m.classes},
          {"inputs", inputs},
          {"shard", shard}};
}

std::map<std::string, Array> group_arrays(const PartialGroup& g) {
  const auto& s = g.state;
  return {{g.name + ".class_counts", make_array(s.class_counts)},
          {g.name + ".shift", make_array(to_std_vector(s.shift))},
          {g.name + ".class_sums", make_array(s.class_sums)},
          {g.name + ".gram", make_array(pack_lower(s.gram))}};
}

[[noreturn]] void bad(const fs::path& path, const std::string& what) {
  throw Error(path.string() + ": " + what);
}

}  // namespace

std::string layer_group(int layer) {
  return "layer" + std::to_string(layer);
}

InputFingerprint fingerprint_file(const fs::path& path) {
  InputFingerprint f;
  f.file = path.string();
  f.xxh3 = hash_file(path);
  f.size = static_cast<std::uint64_t>(fs::file_size(path));
  return f;
}

void write_partial(const fs::path& path, const PartialStats& partial) {
  std::map<std::string, Array> tensors;
  json groups = json::array(), checksums = json::object();
  for (const auto& g : partial.groups) {
    if (!valid_group_name(g.name))
      bad(path, "internal error: group name '" + g.name + "' is not [A-Za-z0-9_-]+");
    // Shapes checked before writing: a state from_state would refuse is never written.
    (void)core::ScatterAccumulator::from_state(g.state);
    for (auto& [key, array] : group_arrays(g)) {
      checksums[key] = hash_bytes(bytes_of(array));
      if (!tensors.emplace(key, std::move(array)).second)
        bad(path, "internal error: group '" + g.name + "' given twice");
    }
    groups.push_back(g.name);
  }
  json manifest = manifest_json(partial.manifest);
  manifest["groups"] = groups;
  manifest["checksums"] = checksums;
  write_safetensors(path, tensors, {{kPartialMetadataKey, manifest.dump()}});
}

namespace {

// Manifest fields, type-checked; nlohmann's exceptions become one line naming the file.
PartialManifest parse_manifest(const fs::path& path, const json& j) {
  PartialManifest m;
  try {
    if (j.at("format").get<int>() != kPartialFormat)
      bad(path, "partial-statistics format " + j.at("format").dump() + ", this actlens reads " +
                    std::to_string(kPartialFormat) + "; rerun the shard with this version");
    if (j.at("statistic").get<std::string>() != "scatter")
      bad(path, "unknown statistic " + j.at("statistic").dump());
    m.analysis = j.at("analysis").get<std::string>();
    m.program_version = j.at("program_version").get<std::string>();
    m.options = j.at("options");
    if (!m.options.is_object()) bad(path, "manifest field 'options' is not an object");
    m.layers = j.at("layers").get<std::vector<int>>();
    m.dim = j.at("d").get<std::int64_t>();
    m.classes = j.at("classes").get<std::vector<std::string>>();
    for (const auto& f : j.at("inputs"))
      m.inputs.push_back({f.at("file").get<std::string>(), f.at("size").get<std::uint64_t>(),
                          f.at("xxh3").get<std::string>()});
    const json& shard = j.at("shard");
    if (!shard.is_null()) {
      m.shard_count = shard.at("n").get<int>();
      m.shards = shard.at("k").get<std::vector<int>>();
      if (m.shard_count <= 0 || m.shards.empty()) bad(path, "manifest 'shard' is empty");
      for (int k : m.shards)
        if (k < 1 || k > m.shard_count)
          bad(path, "manifest shard " + std::to_string(k) + " is outside 1.." +
                        std::to_string(m.shard_count));
    }
  } catch (const json::exception& e) {
    bad(path, std::string("manifest is incomplete or mistyped (") + e.what() +
                  "); is this a partial-statistics file written by actlens?");
  }
  return m;
}

// One tensor, checked against the manifest's checksum, dtype and shape.
Array read_checked(const SafetensorsFile& file, const json& checksums, const std::string& key,
                   DType dtype, const std::vector<std::int64_t>& shape) {
  const fs::path& path = file.path();
  if (!file.contains(key)) bad(path, "tensor '" + key + "' is missing; the file is corrupt");
  Array a = file.read(key);
  if (a.dtype != dtype || a.shape != shape)
    bad(path, "tensor '" + key + "' has the wrong dtype or shape; the file is corrupt");
  if (!checksums.contains(key) || checksums.at(key) != hash_bytes(bytes_of(a)))
    bad(path, "tensor '" + key + "' does not match its checksum; the file is corrupt");
  return a;
}

PartialGroup read_group(const SafetensorsFile& file, const json& checksums, const std::string& name,
                        std::int64_t dim) {
  const fs::path& path = file.path();
  if (!file.contains(name + ".class_counts"))
    bad(path, "tensor '" + name + ".class_counts' is missing; the file is corrupt");
  const auto& counts_info = file.info(name + ".class_counts");
  if (counts_info.shape.size() != 1) bad(path, "tensor '" + name + ".class_counts' is not 1-D");
  const std::int64_t c = counts_info.shape[0];
  PartialGroup g;
  g.name = name;
  const Array counts = read_checked(file, checksums, name + ".class_counts", DType::I64, {c});
  g.state.class_counts.resize(static_cast<std::size_t>(c));
  if (c > 0) std::memcpy(g.state.class_counts.data(), counts.data.data(), counts.data.size());
  g.state.n = 0;
  for (auto k : g.state.class_counts) g.state.n += k;
  const Array shift = read_checked(file, checksums, name + ".shift", DType::F64, {dim});
  g.state.shift =
      Eigen::Map<const Eigen::VectorXd>(reinterpret_cast<const double*>(shift.data.data()), dim);
  g.state.class_sums = to_double_matrix(
      read_checked(file, checksums, name + ".class_sums", DType::F64, {c, dim}), name);
  const Array gram =
      read_checked(file, checksums, name + ".gram", DType::F64, {dim * (dim + 1) / 2});
  g.state.gram = unpack_lower(to_double_vector(gram), dim);
  try {
    (void)core::ScatterAccumulator::from_state(g.state);
  } catch (const std::invalid_argument& e) {
    bad(path, "group '" + name + "': " + e.what() + "; the file is corrupt");
  }
  return g;
}

}  // namespace

PartialStats read_partial(const fs::path& path, const std::string& program_version) {
  const SafetensorsFile file = SafetensorsFile::open(path);  // corrupt/truncated: names the file
  const auto it = file.metadata().find(kPartialMetadataKey);
  if (it == file.metadata().end())
    bad(path, "no actlens partial-statistics manifest; give files written with --shard");
  const json j = parse_json_text(it->second, path.string() + " manifest");
  PartialStats p;
  p.path = path;
  p.manifest = parse_manifest(path, j);
  if (p.manifest.program_version != program_version)
    bad(path, "written by actlens " + p.manifest.program_version + ", this is actlens " +
                  program_version + "; rerun the shard with this version");
  if (p.manifest.dim <= 0) bad(path, "manifest 'd' is not positive");
  try {
    const json& checksums = j.at("checksums");
    for (const auto& name : j.at("groups")) {
      const auto s = name.get<std::string>();
      if (!valid_group_name(s)) bad(path, "group name '" + s + "' is not [A-Za-z0-9_-]+");
      p.groups.push_back(read_group(file, checksums, s, p.manifest.dim));
    }
  } catch (const json::exception& e) {
    bad(path, std::string("manifest 'groups' or 'checksums' is mistyped (") + e.what() + ")");
  }
  return p;
}

namespace {

std::string files(const PartialStats& a, const PartialStats& b) {
  return a.path.string() + " and " + b.path.string();
}

// The first option whose value differs (keys of both, in order), or "" when all agree.
std::string differing_option(const json& a, const json& b) {
  std::set<std::string> keys;
  for (const auto& [k, v] : a.items()) keys.insert(k);
  for (const auto& [k, v] : b.items()) keys.insert(k);
  for (const auto& k : keys) {
    const json va = a.contains(k) ? a.at(k) : json("(absent)");
    const json vb = b.contains(k) ? b.at(k) : json("(absent)");
    if (va != vb) return "option '" + k + "' (" + va.dump() + " vs " + vb.dump() + ")";
  }
  return "";
}

std::string shape_of(const PartialGroup& g) {
  return g.name + "[" + std::to_string(g.state.class_counts.size()) + "x" +
         std::to_string(g.state.shift.size()) + "]";
}

// The field in which b differs from a, or "" when they may be merged.
std::string differing_field(const PartialStats& a, const PartialStats& b) {
  const auto& ma = a.manifest;
  const auto& mb = b.manifest;
  if (ma.analysis != mb.analysis) return "analysis (" + ma.analysis + " vs " + mb.analysis + ")";
  if (ma.program_version != mb.program_version)
    return "program version (" + ma.program_version + " vs " + mb.program_version + ")";
  if (auto o = differing_option(ma.options, mb.options); !o.empty()) return o;
  if (ma.layers != mb.layers)
    return "layers (" + json(ma.layers).dump() + " vs " + json(mb.layers).dump() + ")";
  if (ma.dim != mb.dim)
    return "d (" + std::to_string(ma.dim) + " vs " + std::to_string(mb.dim) + ")";
  if (ma.classes != mb.classes)
    return "class names (" + json(ma.classes).dump() + " vs " + json(mb.classes).dump() + ")";
  if (ma.shard_count != mb.shard_count)
    return "shard count N (" + std::to_string(ma.shard_count) + " vs " +
           std::to_string(mb.shard_count) + "; 0 = not split by --shard)";
  std::string ga, gb;
  for (const auto& g : a.groups) ga += shape_of(g) + " ";
  for (const auto& g : b.groups) gb += shape_of(g) + " ";
  if (ga != gb) return "statistics groups (" + ga + "vs " + gb + ")";
  return "";
}

// "" or why a and b hold the same data twice.
std::string duplicate(const PartialStats& a, const PartialStats& b) {
  const auto& ma = a.manifest;
  const auto& mb = b.manifest;
  if (ma.shard_count > 0) {
    for (int k : ma.shards)
      if (std::find(mb.shards.begin(), mb.shards.end(), k) != mb.shards.end())
        return "both hold shard " + std::to_string(k) + "/" + std::to_string(ma.shard_count);
    return "";
  }
  for (const auto& fa : ma.inputs)
    for (const auto& fb : mb.inputs)
      if (fa.size == fb.size && fa.xxh3 == fb.xxh3)
        return "both read the same input content (" + fa.file +
               (fa.file == fb.file ? "" : " = " + fb.file) + ")";
  return "";
}

}  // namespace

void check_compatible(const std::vector<PartialStats>& parts, bool require_complete) {
  if (parts.empty()) throw Error("no partial-statistics files given");
  const PartialStats& first = parts.front();
  for (std::size_t i = 1; i < parts.size(); ++i)
    if (auto f = differing_field(first, parts[i]); !f.empty())
      throw Error("cannot merge " + files(first, parts[i]) + ": they differ in " + f +
                  "; merge partials of one run only");
  for (std::size_t i = 0; i < parts.size(); ++i)
    for (std::size_t j = i + 1; j < parts.size(); ++j)
      if (auto d = duplicate(parts[i], parts[j]); !d.empty())
        throw Error("cannot merge " + files(parts[i], parts[j]) + ": they " + d +
                    "; give each shard once");
  const int n = first.manifest.shard_count;
  if (!require_complete || n == 0) return;
  std::set<int> have;
  for (const auto& p : parts) have.insert(p.manifest.shards.begin(), p.manifest.shards.end());
  std::string missing;
  for (int k = 1; k <= n; ++k)
    if (!have.count(k)) missing += (missing.empty() ? "" : ", ") + std::to_string(k);
  if (!missing.empty())
    throw Error("cannot finish from " + std::to_string(parts.size()) + " partial file(s) (" +
                first.path.string() + ", ...): shard(s) " + missing + " of " + std::to_string(n) +
                " are missing; give the partial files of every shard");
}

PartialStats merge_partials(const std::vector<PartialStats>& parts) {
  check_compatible(parts, false);
  PartialStats out;
  out.manifest = parts.front().manifest;
  out.manifest.inputs.clear();
  out.manifest.shards.clear();
  for (std::size_t g = 0; g < parts.front().groups.size(); ++g) {
    const auto& state = parts.front().groups[g].state;
    core::ScatterAccumulator acc(state.shift.size(),
                                 static_cast<Eigen::Index>(state.class_counts.size()));
    for (const auto& p : parts) acc.merge(core::ScatterAccumulator::from_state(p.groups[g].state));
    out.groups.push_back({parts.front().groups[g].name, acc.state()});
  }
  std::set<std::pair<std::uint64_t, std::string>> seen;  // row shards share their input file
  for (const auto& p : parts) {
    for (const auto& f : p.manifest.inputs)
      if (seen.emplace(f.size, f.xxh3).second) out.manifest.inputs.push_back(f);
    out.manifest.shards.insert(out.manifest.shards.end(), p.manifest.shards.begin(),
                               p.manifest.shards.end());
  }
  std::sort(out.manifest.shards.begin(), out.manifest.shards.end());
  return out;
}

}  // namespace actlens::io
