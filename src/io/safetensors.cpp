// safetensors: an 8-byte little-endian header length N, N bytes of JSON, then the raw tensor
// bytes. Opening validates the whole header against the file size, so later reads can trust
// the offsets; the file stays open and each read preads only the bytes it needs. As the
// reference (Rust) implementation: the header is at most 100 MB and is a JSON object; every
// tensor's data_offsets lie inside the data section and match its shape and dtype (shape
// products may not overflow), and tensors do not overlap. Keys may not repeat (a JSON parser
// would keep one of them silently), and the JSON may not nest deeper than the format needs.
#include "actlens/io/safetensors.hpp"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <ostream>
#include <set>

#include "actlens/error.hpp"
#include "actlens/io/atomic_file.hpp"
#include "input_file.hpp"

namespace actlens::io {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The Python package refuses headers above 100 MB; so do we, before allocating.
constexpr std::uint64_t kMaxHeaderLen = 100'000'000;
constexpr std::size_t kHeaderAlign = 8;
// A tensor entry is {"dtype", "shape": [...], "data_offsets": [...]}: depth 3 from the root.
constexpr int kMaxJsonDepth = 8;
constexpr char kMetadataKey[] = "__metadata__";

struct DTypeName {
  const char* name;
  DType dtype;
};
constexpr DTypeName kDTypes[] = {
    {"F64", DType::F64}, {"F32", DType::F32},   {"F16", DType::F16}, {"BF16", DType::BF16},
    {"I64", DType::I64}, {"I32", DType::I32},   {"I16", DType::I16}, {"I8", DType::I8},
    {"U8", DType::U8},   {"BOOL", DType::Bool},
};

const char* safetensors_dtype_name(DType t) {
  for (const auto& d : kDTypes) {
    if (d.dtype == t) return d.name;
  }
  throw Error("internal error: unknown dtype");
}

std::string corrupt_message(const std::string& detail) {
  return "truncated or corrupt safetensors file (" + detail + "); re-create the file";
}

[[noreturn]] void corrupt(const fs::path& path, const std::string& detail) {
  throw Error(path.string() + ": " + corrupt_message(detail));
}

InputFile open_safetensors(const fs::path& path) {
  return InputFile(path, "a .safetensors file",
                   corrupt_message("file is shorter than its header says"));
}

DType parse_dtype(const fs::path& path, const std::string& key, const json& v) {
  if (!v.is_string()) corrupt(path, "tensor '" + key + "' has no dtype string");
  const auto& name = v.get_ref<const std::string&>();
  for (const auto& d : kDTypes) {
    if (name == d.name) return d.dtype;
  }
  throw Error(path.string() + ": tensor '" + key + "' has dtype " + name +
              ", which is not supported (F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL); "
              "convert it before saving");
}

std::uint64_t parse_u64(const fs::path& path, const std::string& key, const json& v,
                        const char* field) {
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<std::int64_t>() >= 0)) {
    corrupt(path, "tensor '" + key + "' has a bad " + field);
  }
  return v.get<std::uint64_t>();
}

SafetensorsInfo parse_info(const fs::path& path, const std::string& key, const json& v) {
  if (!v.is_object()) corrupt(path, "entry '" + key + "' is not an object");
  const auto dtype = v.find("dtype");
  const auto shape = v.find("shape");
  const auto offsets = v.find("data_offsets");
  if (dtype == v.end() || shape == v.end() || offsets == v.end() || !shape->is_array() ||
      !offsets->is_array() || offsets->size() != 2) {
    corrupt(path, "tensor '" + key + "' lacks dtype, shape or data_offsets");
  }
  SafetensorsInfo info;
  info.dtype = parse_dtype(path, key, *dtype);
  for (const json& d : *shape) {
    const std::uint64_t dim = parse_u64(path, key, d, "shape");
    if (dim > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      corrupt(path, "tensor '" + key + "' has a bad shape");
    }
    info.shape.push_back(static_cast<std::int64_t>(dim));
  }
  info.begin = parse_u64(path, key, (*offsets)[0], "data_offsets");
  info.end = parse_u64(path, key, (*offsets)[1], "data_offsets");
  const std::uint64_t nbytes =
      checked_nbytes(info.dtype, info.shape, path.string() + ": tensor '" + key + "'");
  if (info.end < info.begin || info.end - info.begin != nbytes) {
    corrupt(path, "tensor '" + key + "' data_offsets do not match its shape and dtype");
  }
  return info;
}

std::map<std::string, std::string> parse_metadata(const fs::path& path, const json& v) {
  if (!v.is_object()) corrupt(path, "__metadata__ is not an object");
  std::map<std::string, std::string> out;
  for (const auto& [k, val] : v.items()) {
    if (!val.is_string()) corrupt(path, "__metadata__ value '" + k + "' is not a string");
    out[k] = val.get<std::string>();
  }
  return out;
}

// Tensors may not share bytes; gaps are tolerated (readers of the format do not need them).
void check_no_overlap(const fs::path& path, const std::map<std::string, SafetensorsInfo>& t) {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
  for (const auto& [k, info] : t) {
    if (info.end > info.begin) ranges.emplace_back(info.begin, info.end);
  }
  std::sort(ranges.begin(), ranges.end());
  for (std::size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].first < ranges[i - 1].second) corrupt(path, "tensors overlap");
  }
}

std::uint64_t read_header_len(const InputFile& file, const fs::path& path) {
  if (file.size() < 8) corrupt(path, "shorter than the 8-byte header length");
  unsigned char b[8];
  file.read(0, b, sizeof b);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | b[i];
  if (n > kMaxHeaderLen) {
    corrupt(path, "header length " + std::to_string(n) + " is over the format's limit of " +
                      std::to_string(kMaxHeaderLen) + " bytes");
  }
  if (n > file.size() - 8) {
    corrupt(path, "header length " + std::to_string(n) + " exceeds the file size " +
                      std::to_string(file.size()));
  }
  return n;
}

json parse_header_json(const InputFile& file, const fs::path& path, std::uint64_t len) {
  std::string text(len, '\0');
  if (len > 0) file.read(8, text.data(), text.size());
  if (text.empty() || text[0] != '{') corrupt(path, "header is not a JSON object");
  // Per open object, the keys seen so far: a repeated key is refused, not silently dropped.
  std::vector<std::set<std::string>> keys;
  std::string problem;
  const json::parser_callback_t check = [&](int depth, json::parse_event_t event,
                                            json& parsed) -> bool {
    if (!problem.empty()) return false;
    if (depth > kMaxJsonDepth) {
      problem = "header nests deeper than " + std::to_string(kMaxJsonDepth) + " levels";
      return false;
    }
    if (event == json::parse_event_t::object_start) {
      keys.emplace_back();
    } else if (event == json::parse_event_t::object_end && !keys.empty()) {
      keys.pop_back();
    } else if (event == json::parse_event_t::key && !keys.empty()) {
      const auto& k = parsed.get_ref<const std::string&>();
      if (!keys.back().insert(k).second) {
        problem = "header repeats the key '" + k.substr(0, 80) + "'";
        return false;
      }
    }
    return true;
  };
  json header;
  try {
    header = json::parse(text, check);
  } catch (const json::exception& e) {
    corrupt(path, std::string("header is not valid JSON: ") + e.what());
  }
  if (!problem.empty()) corrupt(path, problem);
  if (!header.is_object()) corrupt(path, "header is not a JSON object");
  return header;
}

}  // namespace

SafetensorsFile SafetensorsFile::open(const fs::path& path) {
  auto file = std::make_shared<const InputFile>(open_safetensors(path));
  const std::uint64_t header_len = read_header_len(*file, path);
  const json header = parse_header_json(*file, path, header_len);

  SafetensorsFile f;
  f.path_ = path;
  f.data_start_ = 8 + header_len;
  const std::uint64_t data_len = file->size() - f.data_start_;
  for (const auto& [key, v] : header.items()) {
    if (key == kMetadataKey) {
      f.metadata_ = parse_metadata(path, v);
      continue;
    }
    SafetensorsInfo info = parse_info(path, key, v);
    if (info.end > data_len) {
      corrupt(path, "tensor '" + key + "' ends at byte " + std::to_string(info.end) + " of a " +
                        std::to_string(data_len) + "-byte data section");
    }
    f.tensors_.emplace(key, std::move(info));
  }
  check_no_overlap(path, f.tensors_);
  f.file_ = std::move(file);
  return f;
}

std::vector<std::string> SafetensorsFile::keys() const {
  std::vector<std::string> out;
  out.reserve(tensors_.size());
  for (const auto& [k, v] : tensors_) out.push_back(k);
  return out;
}

bool SafetensorsFile::contains(const std::string& key) const {
  return tensors_.count(key) > 0;
}

const SafetensorsInfo& SafetensorsFile::info(const std::string& key) const {
  const auto it = tensors_.find(key);
  if (it != tensors_.end()) return it->second;
  std::string available;
  std::size_t listed = 0;
  for (const auto& [k, v] : tensors_) {
    if (listed++ == 10) {
      available += ", ...";
      break;
    }
    available += (available.empty() ? "" : ", ") + k;
  }
  throw Error(path_.string() + ": no tensor named '" + key + "' (it has: " + available +
              "); check the key");
}

Array SafetensorsFile::read(const std::string& key) const {
  const SafetensorsInfo& i = info(key);
  Array a;
  a.dtype = i.dtype;
  a.shape = i.shape;
  a.data.resize(i.end - i.begin);  // checked against the file size at open
  if (!a.data.empty()) file_->read(data_start_ + i.begin, a.data.data(), a.data.size());
  return a;
}

void SafetensorsFile::read_row_float(const std::string& key, std::int64_t row, float* dst) const {
  const SafetensorsInfo& i = info(key);
  if (i.shape.empty()) {
    throw Error(path_.string() + ": tensor '" + key + "' is a scalar and has no rows");
  }
  if (row < 0 || row >= i.shape[0]) {
    throw Error(path_.string() + ": row " + std::to_string(row) + " is out of range for tensor '" +
                key + "' with " + std::to_string(i.shape[0]) + " rows");
  }
  const std::size_t item = dtype_size(i.dtype);
  const std::uint64_t row_bytes = (i.end - i.begin) / static_cast<std::uint64_t>(i.shape[0]);
  if (row_bytes == 0) return;
  std::vector<std::byte> buf(row_bytes);
  file_->read(data_start_ + i.begin + static_cast<std::uint64_t>(row) * row_bytes, buf.data(),
              buf.size());
  convert_to_float(i.dtype, buf.data(), dst, row_bytes / item);
}

void write_safetensors(const fs::path& path, const std::map<std::string, Array>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  // Data layout as the Python package: larger elements first, then by name, so every tensor
  // starts at a multiple of its element size.
  std::vector<const std::pair<const std::string, Array>*> order;
  for (const auto& kv : tensors) {
    if (kv.first == kMetadataKey) {
      throw Error(path.string() + ": '__metadata__' cannot be a tensor name; rename it");
    }
    const std::string what = path.string() + ": tensor '" + kv.first + "'";
    if (kv.second.data.size() != checked_nbytes(kv.second.dtype, kv.second.shape, what)) {
      throw Error(what + ": internal error: data size does not match its shape");
    }
    order.push_back(&kv);
  }
  std::stable_sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
    return dtype_size(a->second.dtype) > dtype_size(b->second.dtype);
  });

  json header = json::object();
  if (!metadata.empty()) header[kMetadataKey] = metadata;
  std::uint64_t offset = 0;
  for (const auto* kv : order) {
    const Array& a = kv->second;
    header[kv->first] = {{"dtype", safetensors_dtype_name(a.dtype)},
                         {"shape", a.shape},
                         {"data_offsets", {offset, offset + a.data.size()}}};
    offset += a.data.size();
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const json::exception& e) {
    throw Error(path.string() + ": cannot encode the header (" + e.what() +
                "); use UTF-8 tensor names and metadata");
  }
  text.append((kHeaderAlign - text.size() % kHeaderAlign) % kHeaderAlign, ' ');

  write_file_atomic(path, [&](std::ostream& out) {
    char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<char>((text.size() >> (8 * i)) & 0xFF);
    out.write(len, sizeof len);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto* kv : order) {
      out.write(reinterpret_cast<const char*>(kv->second.data.data()),
                static_cast<std::streamsize>(kv->second.data.size()));
    }
  });
}

}  // namespace actlens::io
