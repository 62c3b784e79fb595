// torch.save zip archives: locate data.pkl, unpickle it safely, and read storages lazily.
// Nothing in the archive is trusted: data.pkl's size is capped before it is read (or inflated),
// the byteorder record must say "little" or "big", every storage entry must be stored
// (uncompressed), lie apart from every other entry (the zip reader checks) and hold its whole
// storage, and every tensor view is checked against its storage, with overflow checks, before
// anything is allocated for it.
#include "actlens/io/torch_file.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <unordered_map>

#include "actlens/error.hpp"

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

// data.pkl is the object tree: torch.save writes a few hundred bytes per tensor into it, and
// the only bulk it can hold is the numpy arrays of pickled objects (a fitted sklearn PCA of a
// 4608-wide model is ~10 MB). It is read whole, so its size is capped before reading: at
// 256 MiB when stored (such a pickle is then bounded by the file itself, too), and when
// deflated (torch never compresses it; only a re-packed archive has one) at 16 MiB plus 64 KiB
// per tensor storage in the archive, so that a few KB of compressed opcodes cannot become
// hundreds of MB of pickle to run.
constexpr std::uint64_t kMaxPickleBytes = std::uint64_t{256} << 20;
constexpr std::uint64_t kMaxDeflatedPickleBase = std::uint64_t{16} << 20;
constexpr std::uint64_t kMaxDeflatedPicklePerStorage = std::uint64_t{64} << 10;
// What the pickle reader may build from data.pkl (see pickle::load): each tensor record costs
// about 6 KB of values, the numpy arrays inside pickled objects about three times their bytes.
// So: a base for the small objects, plus 16 KiB per storage and 4 bytes per pickle byte. A pickle
// of tens of MB of opcodes that each build a value stops at a small multiple of its size.
constexpr std::uint64_t kPickleMemoryBase = std::uint64_t{32} << 20;
constexpr std::uint64_t kPickleMemoryPerByte = 4;
constexpr std::uint64_t kPickleMemoryPerStorage = std::uint64_t{16} << 10;
// The byteorder record holds "little" or "big"; anything longer is not one.
constexpr std::uint64_t kMaxByteorderBytes = 16;

void swap_bytes(std::byte* data, std::size_t bytes, std::size_t elem) {
  if (elem <= 1) return;
  for (std::size_t i = 0; i + elem <= bytes; i += elem)
    for (std::size_t a = 0, b = elem - 1; a < b; ++a, --b) std::swap(data[i + a], data[i + b]);
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
  const std::string what = path.string();

  std::uint64_t storage_entries = 0;  // entries <prefix>/data/<key>: at most one per tensor storage
  const std::string data_dir = prefix + "/data/";
  for (const auto& e : zip.entries())
    if (e.name.compare(0, data_dir.size(), data_dir) == 0) ++storage_entries;
  std::uint64_t max_pickle = kMaxPickleBytes;
  if (pkl->method != 0)
    max_pickle = std::min(max_pickle,
                          kMaxDeflatedPickleBase + storage_entries * kMaxDeflatedPicklePerStorage);
  if (pkl->size > max_pickle)
    throw Error(what + ": " + pkl->name + " declares " + std::to_string(pkl->size) +
                " bytes, more than the " + std::to_string(max_pickle) +
                " bytes this reader accepts for it (torch.save writes far less); the file is "
                "corrupt or hostile, re-save it with torch.save");

  // torch >= 1.13 records the byte order of the storages.
  bool big_endian = false;
  if (const ZipEntry* order = zip.find(prefix + "/byteorder")) {
    if (order->size > kMaxByteorderBytes)
      throw Error(what + ": byteorder record is " + std::to_string(order->size) +
                  " bytes long, not \"little\" or \"big\"; the file is corrupt");
    const std::vector<std::byte> raw = zip.read(*order);
    const std::string text(reinterpret_cast<const char*>(raw.data()), raw.size());
    if (text == "big") {
      big_endian = true;
    } else if (text != "little") {
      std::string shown;
      for (char c : text) shown += (c >= 0x20 && c < 0x7f) ? c : '?';
      throw Error(what + ": byteorder record says \"" + shown +
                  "\", not \"little\" or \"big\"; the file is corrupt, re-save it with torch.save");
    }
  }
  std::vector<std::byte> bytes = zip.read(*pkl);

  TorchFile file(std::move(zip), std::move(prefix));
  file.big_endian_ = big_endian;
  // Storages named by several tensors (views) are one object.
  std::unordered_map<std::string, std::shared_ptr<pickle::Storage>> storages;
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
    if (g.module != "torch" || !pickle::torch_storage_dtype(g.name, s->dtype))
      throw Error(what + ": storage " + key + " has unsupported type " + g.module + "." + g.name +
                  " (supported: float64/32/16, bfloat16, int64/32/16/8, uint8, bool)");
    s->location = pid[3]->is<std::string>() ? pid[3]->as<std::string>() : "";
    if (!pid[4]->is<std::int64_t>()) throw Error(what + ": corrupt storage size for key " + key);
    s->numel = pid[4]->as<std::int64_t>();
    // The entry must exist and hold the whole storage: catch truncation at open time.
    const ZipEntry* e = file.zip_.find(file.prefix_ + "/data/" + key);
    if (!e) throw Error(what + ": storage entry data/" + key + " is missing; the file is corrupt");
    if (e->method != 0)
      throw Error(what + ": storage entry data/" + key +
                  " is compressed (torch.save stores tensors uncompressed); re-save the file "
                  "with torch.save instead of re-zipping it");
    // The entry's size was checked against the file when the archive was opened.
    const std::uint64_t need = checked_nbytes(s->dtype, {s->numel}, what + ": storage " + key);
    if (e->size < need)
      throw Error(what + ": storage data/" + key + " declares " + std::to_string(need) +
                  " bytes but the file holds " + std::to_string(e->size) +
                  " for it (shorter than its tensor); the file is truncated or corrupt");
    storages.emplace(key, s);
    v->v = s;
    return v;
  };
  const std::uint64_t budget = kPickleMemoryBase + kPickleMemoryPerByte * bytes.size() +
                               kPickleMemoryPerStorage * storage_entries;
  file.root_ =
      pickle::load(bytes.data(), bytes.size(), what + " (data.pkl)", persistent_load, budget);
  return file;
}

const ZipEntry& TorchFile::storage_entry(const pickle::Storage& s) const {
  const ZipEntry* e = zip_.find(prefix_ + "/data/" + s.key);
  if (!e) throw Error(path().string() + ": storage entry data/" + s.key + " is missing");
  return *e;
}

namespace {
// A tensor view may repeat its storage's elements (stride 0, as expand() makes); reading it
// densely then takes more memory than the file holds. That is allowed up to this size.
constexpr std::uint64_t kMaxExpandedBytes = std::uint64_t{1} << 30;
// More elements than this is no real tensor (4 TiB of bytes at the least).
constexpr std::int64_t kMaxElements = std::int64_t{1} << 40;

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

[[noreturn]] void outside_storage(const std::string& what, const pickle::Tensor& t) {
  throw Error(what + ": tensor view of shape " + shape_text(t.shape) +
              " reaches outside its storage of " + std::to_string(t.storage->numel) +
              " elements; the file is corrupt");
}

// Checks, before anything is allocated, that every element the view touches lies inside its
// storage (offset + sum((size - 1) * stride), with overflow checks) and that reading it densely
// is sane. Returns the number of elements.
std::int64_t check_view(const pickle::Tensor& t, const std::string& what) {
  // Sizes and strides come from the file: overflowing spans are errors, not wrapped offsets.
  for (auto s : t.shape)
    if (s < 0) throw Error(what + ": tensor with a negative size " + shape_text(t.shape));
  const std::int64_t n = checked_numel(t.shape, what + ": tensor");  // overflow: an error
  if (n > kMaxElements)
    throw Error(what + ": tensor of shape " + shape_text(t.shape) + " has " + std::to_string(n) +
                " elements, more than any real tensor; the file is corrupt");
  if (n == 0) return 0;  // empty: touches nothing
  std::int64_t lo = t.offset, hi = t.offset;
  for (std::size_t d = 0; d < t.shape.size(); ++d) {
    std::int64_t span = 0;
    if (__builtin_mul_overflow(t.shape[d] - 1, t.stride[d], &span)) outside_storage(what, t);
    if (span < 0 ? __builtin_add_overflow(lo, span, &lo) : __builtin_add_overflow(hi, span, &hi))
      outside_storage(what, t);
  }
  if (lo < 0 || hi >= t.storage->numel) outside_storage(what, t);
  const std::uint64_t es = dtype_size(t.storage->dtype);
  const std::uint64_t dense = static_cast<std::uint64_t>(n) * es;  // n <= 2^40: no overflow
  const std::uint64_t stored = static_cast<std::uint64_t>(t.storage->numel) * es;
  if (dense > stored && dense > kMaxExpandedBytes)
    throw Error(what + ": tensor view of shape " + shape_text(t.shape) + " repeats the " +
                std::to_string(t.storage->numel) + " elements of its storage as " +
                std::to_string(n) + " elements (" + std::to_string(dense) +
                " bytes), too many to expand in memory; save t.contiguous() instead");
  return n;
}
}  // namespace

Array TorchFile::read(const pickle::Tensor& t) const {
  const std::string what = path().string();
  const std::int64_t n = check_view(t, what);  // before any allocation
  Array out;
  out.dtype = t.storage->dtype;
  out.shape = t.shape;
  const std::size_t es = dtype_size(out.dtype);
  out.data.resize(static_cast<std::size_t>(n) * es);
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
    if (big_endian_) swap_bytes(out.data.data(), out.data.size(), es);
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
  if (big_endian_) swap_bytes(out.data.data(), out.data.size(), es);
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
  if (n == 0) return;
  if (contiguous_1d && t.storage->dtype == DType::F32 && !big_endian_) {
    zip_.read_at(storage_entry(*t.storage), static_cast<std::uint64_t>(row.offset) * es, dst,
                 static_cast<std::size_t>(n) * es);
    return;
  }
  if (contiguous_1d) {
    thread_local std::vector<std::byte> buf;
    buf.resize(static_cast<std::size_t>(n) * es);
    zip_.read_at(storage_entry(*t.storage), static_cast<std::uint64_t>(row.offset) * es, buf.data(),
                 buf.size());
    if (big_endian_) swap_bytes(buf.data(), buf.size(), es);
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
