#include "actlens/model/capture_store.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "actlens/error.hpp"
#include "actlens/io/npy.hpp"
#include "actlens/io/safetensors.hpp"

namespace actlens::model {
namespace fs = std::filesystem;
namespace {

io::Array float_array(const std::vector<float>& v, std::vector<std::int64_t> shape) {
  io::Array a;
  a.dtype = io::DType::F32;
  a.shape = std::move(shape);
  a.data.resize(v.size() * sizeof(float));
  if (!v.empty()) std::memcpy(a.data.data(), v.data(), a.data.size());
  return a;
}

std::vector<std::int64_t> full_shape(const HookOutput& o) {
  std::vector<std::int64_t> s = {o.rows};
  s.insert(s.end(), o.row_shape.begin(), o.row_shape.end());
  return s;
}

}  // namespace

fs::path ShardStore::shard_path(std::size_t i) const {
  char name[40];
  std::snprintf(name, sizeof name, "shard-%06zu.safetensors", i);
  return dir_ / name;
}

bool ShardStore::load(std::size_t i, const std::vector<std::string>& hooks,
                      HookOutputs& out) const {
  const fs::path p = shard_path(i);
  if (!fs::exists(p)) return false;
  try {
    const auto st = io::SafetensorsFile::open(p);
    for (const auto& h : hooks)
      if (!st.contains(h)) return false;
    for (const auto& h : hooks) {
      const io::Array a = st.read(h);
      HookOutput o;
      o.rows = a.shape.empty() ? 0 : a.shape[0];
      o.row_shape.assign(a.shape.begin() + 1, a.shape.end());
      o.data.resize(a.data.size() / sizeof(float));
      std::memcpy(o.data.data(), a.data.data(), a.data.size());
      if (st.contains(h + "::offsets")) {
        const auto d = io::to_double_vector(st.read(h + "::offsets"));
        o.offsets.assign(d.begin(), d.end());
      }
      out[h] = std::move(o);
    }
    return true;
  } catch (const Error&) {
    return false;  // a damaged shard (e.g. the disk filled up) is simply computed again
  }
}

void ShardStore::save(std::size_t i, const HookOutputs& shard) const {
  fs::create_directories(dir_);
  std::map<std::string, io::Array> tensors;
  for (const auto& [h, o] : shard) {
    tensors[h] = float_array(o.data, full_shape(o));
    if (!o.offsets.empty()) tensors[h + "::offsets"] = io::make_array(o.offsets);
  }
  io::write_safetensors(shard_path(i), tensors);
}

void ShardStore::remove() const {
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

HookOutputs concat_shards(std::vector<HookOutputs>& shards, const std::vector<std::string>& hooks) {
  HookOutputs out;
  for (const auto& h : hooks) {
    HookOutput& o = out[h];
    std::size_t total = 0;
    for (const auto& s : shards) total += s.at(h).data.size();
    o.data.reserve(total);
    for (auto& s : shards) {
      auto& part = s.at(h);
      o.row_shape = part.row_shape;
      if (!part.offsets.empty()) {
        if (o.offsets.empty()) o.offsets.push_back(0);
        for (std::size_t k = 1; k < part.offsets.size(); ++k)
          o.offsets.push_back(o.rows + part.offsets[k]);
      }
      o.rows += part.rows;
      o.data.insert(o.data.end(), part.data.begin(), part.data.end());
      std::vector<float>().swap(part.data);  // free as we go
    }
  }
  return out;
}

std::vector<std::string> write_hook_output(const fs::path& out_dir, const std::string& hook,
                                           const HookOutput& o, const std::string& format,
                                           const std::map<std::string, std::string>& metadata) {
  if (format == "npy") {
    io::write_npy(out_dir / (hook + ".npy"), float_array(o.data, full_shape(o)));
    if (o.offsets.empty()) return {hook + ".npy"};
    io::write_npy(out_dir / (hook + ".offsets.npy"), io::make_array(o.offsets));
    return {hook + ".npy", hook + ".offsets.npy"};
  }
  std::map<std::string, io::Array> tensors;
  tensors["activations"] = float_array(o.data, full_shape(o));
  if (!o.offsets.empty()) tensors["offsets"] = io::make_array(o.offsets);
  io::write_safetensors(out_dir / (hook + ".safetensors"), tensors, metadata);
  return {hook + ".safetensors"};
}

ShardedCaptureResult capture_sharded(const Gpt2Model& model, const std::vector<CaptureText>& texts,
                                     const std::vector<std::string>& hooks,
                                     const Aggregation& aggregation, const CaptureOptions& options,
                                     std::size_t shard_size, const ShardStore& store,
                                     const std::function<void(std::size_t)>& progress) {
  if (shard_size < 1) throw std::invalid_argument("capture_sharded: shard_size must be >= 1");
  const std::size_t n = texts.size();
  ShardedCaptureResult r;
  r.n_shards = (n + shard_size - 1) / shard_size;
  std::vector<HookOutputs> shards(r.n_shards);
  for (std::size_t s = 0; s < r.n_shards; ++s) {
    const std::size_t begin = s * shard_size, end = std::min(n, begin + shard_size);
    if (store.load(s, hooks, shards[s])) {
      ++r.resumed;
      if (progress) progress(end - begin);
      continue;
    }
    const std::vector<CaptureText> part(texts.begin() + static_cast<std::ptrdiff_t>(begin),
                                        texts.begin() + static_cast<std::ptrdiff_t>(end));
    shards[s] = capture(model, part, hooks, aggregation, options, progress);
    if (r.n_shards > 1) store.save(s, shards[s]);
  }
  r.outputs = concat_shards(shards, hooks);
  return r;
}

}  // namespace actlens::model
