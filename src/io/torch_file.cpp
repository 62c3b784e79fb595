// torch.save zip archives: locate data.pkl, unpickle it safely, and read storages lazily.
#include "actlens/io/torch_file.hpp"

#include <cstring>
#include <fstream>
#include <unordered_map>

#include "actlens/core/error.hpp"

namespace actlens::io {
namespace fs = std::filesystem;

namespace {

// Magic number that legacy (non-zip) torch.save files pickle first, after the protocol opcode.
bool looks_like_legacy_torch(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char head[2] = {0, 0};
  in.read(reinterpret_cast<char*>(head), 2);
  return in.gcount() == 2 && head[0] == 0x80 && head[1] >= 2 && head[1] <= 5;
}

bool looks_like_zip(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  char head[4] = {0, 0, 0, 0};
  in.read(head, 4);
  return in.gcount() == 4 && std::memcmp(head, "PK\x03\x04", 4) == 0;
}

}  // namespace

TorchFile TorchFile::open(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(path.string() + ": no such file; check the path");
  if (fs::is_directory(path, ec)) throw Error(path.string() + ": is a directory, not a .pt file");
  if (!looks_like_zip(path) && looks_like_legacy_torch(path))
    throw Error(path.string() +
                ": legacy (pre-zip) torch.save format is not supported; re-save it in Python with "
                "torch.save(torch.load(path), path) using torch >= 1.6");
  ZipArchive zip = ZipArchive::open(path);

  // data.pkl sits in one top-level folder whose name torch chose (usually "archive").
  const ZipEntry* pkl = nullptr;
  for (const auto& e : zip.entries()) {
    const std::string suffix = "/data.pkl";
    if (e.name.size() > suffix.size() &&
        e.name.compare(e.name.size() - suffix.size(), suffix.size(), suffix) == 0 &&
        e.name.find('/') == e.name.size() - suffix.size()) {
      pkl = &e;
      break;
    }
  }
  if (!pkl)
    throw Error(path.string() +
                ": a zip archive but not a torch.save file (no <name>/data.pkl); "
                "re-save it with torch.save");
  std::string prefix = pkl->name.substr(0, pkl->name.size() - std::strlen("/data.pkl"));
  std::vector<std::byte> bytes = zip.read(*pkl);

  TorchFile file(std::move(zip), std::move(prefix));
  // Storages named by several tensors (views) are one object.
  std::unordered_map<std::string, std::shared_ptr<pickle::Storage>> storages;
  const std::string what = path.string();
  auto persistent_load = [&](const std::vector<pickle::ValuePtr>& pid) -> pickle::ValuePtr {
    // ('storage', storage_type, key, location, numel)
    if (pid.size() < 5 || !pid[0]->is<std::string>() || pid[0]->as<std::string>() != "storage" ||
        !pid[2]->is<std::string>())
      throw Error(what + ": unsupported persistent id in data.pkl (not a torch storage)");
    const std::string key = pid[2]->as<std::string>();
    auto v = std::make_shared<pickle::Value>();
    if (auto it = storages.find(key); it != storages.end()) {
      v->v = it->second;
      return v;
    }
    auto s = std::make_shared<pickle::Storage>();
    s->key = key;
    if (!pid[1]->is<pickle::Global>())
      throw Error(what + ": corrupt storage record for key " + key);
    const auto& g = pid[1]->as<pickle::Global>();
    if (!pickle::torch_storage_dtype(g.name, s->dtype))
      throw Error(what + ": storage " + key + " has unsupported type " + g.module + "." + g.name +
                  " (supported: float64/32/16, bfloat16, int64/32/16/8, uint8, bool)");
    s->location = pid[3]->is<std::string>() ? pid[3]->as<std::string>() : "";
    if (!pid[4]->is<std::int64_t>()) throw Error(what + ": corrupt storage size for key " + key);
    s->numel = pid[4]->as<std::int64_t>();
    // The entry must exist and hold the whole storage: catch truncation at open time.
    const ZipEntry* e = file.zip_.find(file.prefix_ + "/data/" + key);
    if (!e) throw Error(what + ": storage entry data/" + key + " is missing; the file is corrupt");
    if (e->size < checked_nbytes(s->dtype, {s->numel}, what + ": storage " + key))
      throw Error(what + ": storage data/" + key +
                  " is shorter than its tensor; the file is "
                  "truncated or corrupt");
    storages.emplace(key, s);
    v->v = s;
    return v;
  };
  file.root_ = pickle::load(bytes.data(), bytes.size(), what + " (data.pkl)", persistent_load);
  return file;
}

const ZipEntry& TorchFile::storage_entry(const pickle::Storage& s) const {
  const ZipEntry* e = zip_.find(prefix_ + "/data/" + s.key);
  if (!e) throw Error(path().string() + ": storage entry data/" + s.key + " is missing");
  return *e;
}

namespace {
// Checks that every element the view touches lies inside its storage.
[[noreturn]] void outside_storage(const std::string& what) {
  throw Error(what + ": tensor view reaches outside its storage; the file is corrupt");
}
void check_view(const pickle::Tensor& t, const std::string& what) {
  // Sizes and strides come from the file: overflowing spans are errors, not wrapped offsets.
  for (auto s : t.shape)
    if (s < 0) throw Error(what + ": tensor with a negative size");
  for (auto s : t.shape)
    if (s == 0) return;  // empty: touches nothing
  std::int64_t lo = t.offset, hi = t.offset;
  for (std::size_t d = 0; d < t.shape.size(); ++d) {
    std::int64_t span = 0;
    if (__builtin_mul_overflow(t.shape[d] - 1, t.stride[d], &span)) outside_storage(what);
    if (span < 0 ? __builtin_add_overflow(lo, span, &lo) : __builtin_add_overflow(hi, span, &hi))
      outside_storage(what);
  }
  if (lo < 0 || hi >= t.storage->numel) outside_storage(what);
}
}  // namespace

Array TorchFile::read(const pickle::Tensor& t) const {
  const std::string what = path().string();
  check_view(t, what);
  Array out;
  out.dtype = t.storage->dtype;
  out.shape = t.shape;
  const std::size_t es = dtype_size(out.dtype);
  const std::int64_t n = checked_numel(t.shape, what);  // stride-0 views may still overflow
  out.data.resize(static_cast<std::size_t>(checked_nbytes(out.dtype, t.shape, what)));
  if (n == 0) return out;
  const ZipEntry& e = storage_entry(*t.storage);

  // Contiguous in C order? Then one read.
  bool contiguous = true;
  std::int64_t expect = 1;
  for (std::size_t d = t.shape.size(); d-- > 0;) {
    if (t.shape[d] != 1 && t.stride[d] != expect) contiguous = false;
    expect *= t.shape[d];
  }
  if (contiguous) {
    zip_.read_at(e, static_cast<std::uint64_t>(t.offset) * es, out.data.data(), out.data.size());
    return out;
  }
  // General strided view: read the storage span it covers once, then gather.
  std::int64_t lo = t.offset, hi = t.offset;
  for (std::size_t d = 0; d < t.shape.size(); ++d) {
    const std::int64_t span = (t.shape[d] - 1) * t.stride[d];
    if (span < 0)
      lo += span;
    else
      hi += span;
  }
  std::vector<std::byte> span(static_cast<std::size_t>(hi - lo + 1) * es);
  zip_.read_at(e, static_cast<std::uint64_t>(lo) * es, span.data(), span.size());
  std::vector<std::int64_t> idx(t.shape.size(), 0);
  for (std::int64_t lin = 0; lin < n; ++lin) {
    std::int64_t off = t.offset - lo;
    for (std::size_t d = 0; d < idx.size(); ++d) off += idx[d] * t.stride[d];
    std::memcpy(out.data.data() + lin * static_cast<std::int64_t>(es),
                span.data() + off * static_cast<std::int64_t>(es), es);
    for (std::size_t d = idx.size(); d-- > 0;) {
      if (++idx[d] < t.shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

void TorchFile::read_slice_float(const pickle::Tensor& t, std::int64_t index, float* dst) const {
  if (t.shape.empty()) throw Error(path().string() + ": cannot slice a 0-d tensor");
  if (index < 0 || index >= t.shape[0])
    throw Error(path().string() + ": index " + std::to_string(index) + " out of range [0, " +
                std::to_string(t.shape[0] - 1) + "]");
  const std::string what = path().string();
  check_view(t, what);  // the whole view fits (no overflow), so every slice of it does
  pickle::Tensor row = t;
  row.offset = t.offset + index * t.stride[0];
  row.shape.erase(row.shape.begin());
  row.stride.erase(row.stride.begin());
  const std::int64_t n = checked_numel(row.shape, what);
  const std::size_t es = dtype_size(t.storage->dtype);
  const bool contiguous_1d = row.shape.size() == 1 && (row.stride[0] == 1 || n <= 1);
  if (contiguous_1d && t.storage->dtype == DType::F32) {
    zip_.read_at(storage_entry(*t.storage), static_cast<std::uint64_t>(row.offset) * es, dst,
                 static_cast<std::size_t>(n) * es);
    return;
  }
  if (contiguous_1d) {
    thread_local std::vector<std::byte> buf;
    buf.resize(static_cast<std::size_t>(n) * es);
    zip_.read_at(storage_entry(*t.storage), static_cast<std::uint64_t>(row.offset) * es, buf.data(),
                 buf.size());
    convert_to_float(t.storage->dtype, buf.data(), dst, static_cast<std::size_t>(n));
    return;
  }
  Array a = read(row);
  convert_to_float(a.dtype, a.data.data(), dst, static_cast<std::size_t>(n));
}

bool is_numeric(const pickle::ValuePtr& v) {
  return v && (v->is<pickle::Tensor>() || v->is<pickle::NdArray>());
}

Array to_array(const TorchFile& file, const pickle::ValuePtr& v, const std::string& what) {
  if (!v) throw Error(what + ": missing");
  if (v->is<pickle::Tensor>()) return file.read(v->as<pickle::Tensor>());
  if (v->is<pickle::NdArray>()) return v->as<pickle::NdArray>().array;
  throw Error(what + ": expected a tensor or numpy array, found a " + v->type_name());
}

}  // namespace actlens::io
