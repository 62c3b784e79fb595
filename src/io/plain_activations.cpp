#include "actlens/io/plain_activations.hpp"

#include <cstring>
#include <map>

#include "actlens/error.hpp"
#include "actlens/io/csv.hpp"
#include "actlens/io/json_file.hpp"
#include "actlens/io/npy.hpp"
#include "actlens/io/safetensors.hpp"
#include "actlens/io/torch_file.hpp"
#include "input_file.hpp"

namespace actlens::io {
namespace fs = std::filesystem;

namespace {
template <class Map>
std::string key_list(const Map& m) {
  std::string s;
  for (const auto& kv : m) s += (s.empty() ? "" : ", ") + kv.first;
  return s;
}
}  // namespace

Array read_array_file(const fs::path& path, const std::string& key) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(path.string() + ": no such file; check the path");
  const std::string ext = path.extension().string();
  if (ext == ".npy") return read_npy(path);
  if (ext == ".npz") {
    auto arrays = read_npz(path);
    if (arrays.size() == 1) return arrays.begin()->second;
    auto it = arrays.find(key);
    if (it == arrays.end())
      throw Error(path.string() + ": no array '" + key + "' (has: " + key_list(arrays) +
                  "); pass --key");
    return it->second;
  }
  if (ext == ".safetensors") {
    auto f = SafetensorsFile::open(path);
    auto keys = f.keys();
    if (keys.size() == 1) return f.read(keys.front());
    if (!f.contains(key)) {
      std::string s;
      for (const auto& k : keys) s += (s.empty() ? "" : ", ") + k;
      throw Error(path.string() + ": no tensor '" + key + "' (has: " + s + "); pass --key");
    }
    return f.read(key);
  }
  if (ext == ".pt" || ext == ".pth" || ext == ".bin") {
    auto f = TorchFile::open(path);
    const auto& root = f.root();
    if (is_numeric(root)) return to_array(f, root, path.string());
    if (auto v = root->get(key); is_numeric(v)) return to_array(f, v, path.string() + ": " + key);
    throw Error(path.string() + ": expected a tensor or a dict with tensor '" + key +
                "'; pass --key");
  }
  throw Error(path.string() + ": unknown array format '" + ext +
              "' (use .npy, .npz, .safetensors or .pt)");
}

std::vector<std::string> read_labels(const fs::path& path, const std::string& column) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(path.string() + ": no such file; check the path");
  const std::string ext = path.extension().string();
  std::vector<std::string> out;
  if (ext == ".npy") {
    Array a = read_npy(path);
    if (a.shape.size() != 1) throw Error(path.string() + ": labels must be a 1-D array");
    if (a.dtype == DType::F32 || a.dtype == DType::F64 || a.dtype == DType::F16 ||
        a.dtype == DType::BF16)
      throw Error(path.string() + ": labels must be integers, not " + dtype_name(a.dtype));
    for (double v : to_double_vector(a)) out.push_back(std::to_string(static_cast<long long>(v)));
    return out;
  }
  if (ext == ".csv") {
    CsvTable t = read_csv(path);
    int col = t.column(column);
    if (col < 0 && t.header.size() == 1) col = 0;
    if (col < 0) throw Error(path.string() + ": no column '" + column + "'; pass --label-column");
    for (const auto& r : t.rows) out.push_back(r[static_cast<std::size_t>(col)]);
    return out;
  }
  if (ext == ".txt") {
    return read_text_lines(path, "a label file (one label per line)");
  }
  throw Error(path.string() + ": unknown label format '" + ext + "' (use .csv, .npy or .txt)");
}

std::unique_ptr<PlainActivations> PlainActivations::open(const fs::path& activations,
                                                         const fs::path& labels,
                                                         const PlainActivationsOptions& options) {
  auto p = std::unique_ptr<PlainActivations>(new PlainActivations());
  p->path_ = activations;
  p->chunk_rows_ = std::max<std::int64_t>(1, options.chunk_rows);
  std::error_code ec;
  std::vector<std::int64_t> shape;
  if (activations.extension() == ".npy" && fs::exists(activations, ec)) {
    // Stream .npy rows from disk: memory stays O(chunk), not O(N d).
    const NpyLayout lay = read_npy_layout(activations);
    if (!lay.fortran_order && !lay.big_endian) {
      p->streamed_ = true;
      // A short read means the file changed or was truncated since the header was read.
      p->file_ = std::make_shared<const InputFile>(
          activations, "a .npy file", "file is shorter than its header says (truncated?)");
      p->dtype_ = lay.dtype;
      p->data_offset_ = lay.data_offset;
      shape = lay.shape;
    }
  }
  if (!p->streamed_) {
    p->x_ = read_array_file(activations, options.key);
    p->dtype_ = p->x_.dtype;
    shape = p->x_.shape;
  }
  p->bytes_ = fs::file_size(activations, ec);
  if (shape.size() == 2) {
    p->flat_ = true;
    p->n_layers_ = 1;
    p->dim_ = shape[1];
  } else if (shape.size() == 3) {
    p->flat_ = false;
    p->n_layers_ = static_cast<int>(shape[1]);
    p->dim_ = shape[2];
  } else {
    throw Error(activations.string() +
                ": activations must be [N, d] or [N, n_layers, d], got rank " +
                std::to_string(shape.size()));
  }
  if (p->dim_ == 0 || shape[0] == 0)
    throw Error(activations.string() + ": no activations (empty array)");
  // No labels file: every row is in one unnamed class (analyses that need no classes).
  const auto names = labels.empty() ? std::vector<std::string>(static_cast<std::size_t>(shape[0]))
                                    : read_labels(labels, options.label_column);
  if (static_cast<std::int64_t>(names.size()) != shape[0])
    throw Error(labels.string() + ": " + std::to_string(names.size()) + " labels for " +
                std::to_string(shape[0]) + " rows of " + activations.filename().string() +
                "; they must match one to one");
  std::map<std::string, int> index;
  std::vector<std::string> order;
  std::vector<std::int64_t> counts;
  std::vector<int> raw_ids(names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    auto [it, inserted] = index.emplace(names[i], static_cast<int>(order.size()));
    if (inserted) {
      order.push_back(names[i]);
      counts.push_back(0);
    }
    raw_ids[i] = it->second;
    ++counts[static_cast<std::size_t>(it->second)];
  }
  std::vector<int> remap(order.size(), -1);
  for (std::size_t c = 0; c < order.size(); ++c) {
    if (counts[c] < options.min_samples) continue;
    remap[c] = static_cast<int>(p->classes_.size());
    p->classes_.push_back(ClassInfo{order[c], "", -1, counts[c]});
  }
  if (p->classes_.empty())
    throw Error(labels.string() + ": no class has at least " + std::to_string(options.min_samples) +
                " samples; lower --min-samples");
  for (std::size_t i = 0; i < names.size(); ++i) {
    const int c = remap[static_cast<std::size_t>(raw_ids[i])];
    if (c < 0) continue;
    p->rows_.push_back(static_cast<std::int64_t>(i));
    p->class_ids_.push_back(c);
  }
  return p;
}

std::size_t PlainActivations::n_chunks() const {
  return static_cast<std::size_t>((static_cast<std::int64_t>(rows_.size()) + chunk_rows_ - 1) /
                                  chunk_rows_);
}

const std::byte* PlainActivations::span_of(std::int64_t begin, std::int64_t end,
                                           std::vector<std::byte>& span) const {
  const std::byte* base = x_.data.data();
  if (!streamed_ || end <= begin) return base;
  // Selected rows of this chunk lie within [first, last] of X: one read of that span.
  const std::size_t es = dtype_size(dtype_);
  const std::int64_t row_elems = flat_ ? dim_ : n_layers_ * dim_;
  const std::int64_t first = rows_[static_cast<std::size_t>(begin)];
  const std::int64_t last = rows_[static_cast<std::size_t>(end - 1)];
  span.resize(static_cast<std::size_t>((last - first + 1) * row_elems) * es);
  file_->read(data_offset_ + static_cast<std::uint64_t>(first * row_elems) * es, span.data(),
              span.size());
  return span.data() -
         static_cast<std::ptrdiff_t>(static_cast<std::size_t>(first * row_elems) * es);
}

Chunk PlainActivations::read_chunk(std::size_t i, const std::vector<int>& layers) const {
  const std::int64_t begin = static_cast<std::int64_t>(i) * chunk_rows_;
  const std::int64_t end =
      std::min<std::int64_t>(begin + chunk_rows_, static_cast<std::int64_t>(rows_.size()));
  const std::int64_t n = end - begin;
  Chunk c;
  c.source = path_.string();
  c.rows.assign(layers.size(), RowMatrixF(n, dim_));
  const std::size_t es = dtype_size(dtype_);
  const std::int64_t row_elems = flat_ ? dim_ : n_layers_ * dim_;
  std::vector<std::byte> span;
  const std::byte* base = span_of(begin, end, span);
  for (std::int64_t r = 0; r < n; ++r) {
    const std::int64_t src = rows_[static_cast<std::size_t>(begin + r)];
    for (std::size_t l = 0; l < layers.size(); ++l) {
      const std::int64_t off = src * row_elems + (flat_ ? 0 : layers[l] * dim_);
      convert_to_float(dtype_, base + static_cast<std::size_t>(off) * es, c.rows[l].row(r).data(),
                       static_cast<std::size_t>(dim_));
    }
    c.class_ids.push_back(class_ids_[static_cast<std::size_t>(begin + r)]);
    c.keys.push_back("row " + std::to_string(src));
  }
  return c;
}

RowMatrixD PlainActivations::read_chunk_double(std::size_t i, int layer) const {
  const std::int64_t begin = static_cast<std::int64_t>(i) * chunk_rows_;
  const std::int64_t end =
      std::min<std::int64_t>(begin + chunk_rows_, static_cast<std::int64_t>(rows_.size()));
  RowMatrixD out(end - begin, dim_);
  const std::size_t es = dtype_size(dtype_);
  const std::int64_t row_elems = flat_ ? dim_ : n_layers_ * dim_;
  std::vector<std::byte> span;
  const std::byte* base = span_of(begin, end, span);
  for (std::int64_t r = 0; r < end - begin; ++r) {
    const std::int64_t src = rows_[static_cast<std::size_t>(begin + r)];
    const std::int64_t off = src * row_elems + (flat_ ? 0 : layer * dim_);
    convert_to_double(dtype_, base + static_cast<std::size_t>(off) * es, out.row(r).data(),
                      static_cast<std::size_t>(dim_));
  }
  return out;
}

std::string PlainActivations::describe() const {
  return path_.string() + " (" + std::to_string(rows_.size()) + " samples, " +
         std::to_string(classes_.size()) + " classes)";
}

}  // namespace actlens::io
