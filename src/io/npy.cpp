// .npy and .npz. The .npy header is a Python dict literal; only the small subset numpy writes is
// parsed (strings, True/False, ints and tuples), and only what numpy writes is accepted: ASCII
// text (UTF-8 in format 3.0), the keys descr, fortran_order and shape, each once. Reading converts
// big-endian and Fortran-order arrays to the little-endian, C-order layout every caller expects.
// Every size a header declares is checked against the bytes really present before allocating;
// an .npz member's recorded size must be exactly what its header needs, checked before the
// member is inflated.
#include "actlens/io/npy.hpp"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <ostream>
#include <string_view>

#include "actlens/error.hpp"
#include "actlens/io/atomic_file.hpp"
#include "actlens/io/zip_archive.hpp"
#include "input_file.hpp"

namespace actlens::io {
namespace {

namespace fs = std::filesystem;

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicLen = 6;
constexpr std::size_t kPreambleV1 = 10;  // magic, 2 version bytes, u16 header length
constexpr std::size_t kPreambleV2 = 12;  // ... u32 header length
constexpr std::size_t kAlign = 64;       // numpy aligns the data start to 64 bytes
// Real headers are a few hundred bytes; this only stops a hostile length from allocating GiBs.
constexpr std::size_t kMaxHeaderLen = std::size_t{1} << 24;

[[noreturn]] void fail(const std::string& what, const std::string& msg) {
  throw Error(what + ": " + msg);
}

std::string corrupt_message(const std::string& detail) {
  return "truncated or corrupt .npy data (" + detail + "); re-create the file";
}

// A header numpy would not have written: one line naming what is wrong.
[[noreturn]] void bad_header(const std::string& what, const std::string& detail) {
  fail(what, "corrupt .npy header: " + detail + "; re-save the array with numpy");
}

// Header text as numpy writes it: printable ASCII and whitespace (format 3.0 allows UTF-8, for
// structured dtypes' field names). Anything else means a damaged or crafted file.
void check_header_bytes(std::string_view text, bool utf8, const std::string& what) {
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if ((c < 0x20 && c != '\n' && c != '\r' && c != '\t') || c == 0x7f) {
        bad_header(what, "control byte " + std::to_string(c) + " at offset " + std::to_string(i));
      }
      ++i;
      continue;
    }
    // A UTF-8 sequence: lead byte, then 1 to 3 continuation bytes, no overlong forms.
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1Fu;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0Fu;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07u;
    }
    bool ok = utf8 && len > 0 && i + len <= text.size();
    for (std::size_t k = 1; ok && k < len; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      ok = (cc & 0xC0) == 0x80;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    static constexpr std::uint32_t kMinForLen[] = {0, 0, 0x80, 0x800, 0x10000};
    ok = ok && cp >= kMinForLen[len] && cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF);
    if (!ok) {
      bad_header(what, std::string(utf8 ? "invalid UTF-8" : "non-ASCII byte") + " at offset " +
                           std::to_string(i));
    }
    i += len;
  }
}

[[noreturn]] void fail_corrupt(const std::string& what, const std::string& detail) {
  fail(what, corrupt_message(detail));
}

// ---- header dict literal -------------------------------------------------------------------

// One parsed Python literal. Lists of tuples (structured dtypes) parse as kSeq with nested
// kSeq items and are refused by the caller.
struct PyValue {
  enum Kind { kStr, kBool, kInt, kNone, kSeq };
  Kind kind = kNone;
  std::string str;
  bool boolean = false;
  std::int64_t integer = 0;
  std::vector<PyValue> items;
};

class LiteralParser {
 public:
  LiteralParser(std::string_view text, const std::string& what) : text_(text), what_(what) {}

  std::vector<std::pair<std::string, PyValue>> parse_dict() {
    std::vector<std::pair<std::string, PyValue>> out;
    expect('{');
    while (!peek_is('}')) {
      PyValue key = parse_value(0);
      if (key.kind != PyValue::kStr) error("dict key is not a string");
      expect(':');
      out.emplace_back(key.str, parse_value(0));
      if (!peek_is(',')) break;
      ++pos_;
    }
    expect('}');
    skip_space();
    if (pos_ != text_.size()) bad_header(what_, "text after the closing '}'");
    return out;
  }

 private:
  static constexpr int kMaxDepth = 8;

  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool peek_is(char c) {
    skip_space();
    return pos_ < text_.size() && text_[pos_] == c;
  }
  void expect(char c) {
    if (!peek_is(c)) error(std::string("expected '") + c + "'");
    ++pos_;
  }
  [[noreturn]] void error(const std::string& detail) const {
    fail_corrupt(what_, "bad header: " + detail + " at offset " + std::to_string(pos_));
  }

  PyValue parse_value(int depth) {
    if (depth > kMaxDepth) error("nesting too deep");
    skip_space();
    if (pos_ >= text_.size()) error("unexpected end");
    const char c = text_[pos_];
    if (c == '\'' || c == '"') return parse_string(c);
    if (c == '(' || c == '[') return parse_seq(c == '(' ? ')' : ']', depth);
    if (c == '-' || (c >= '0' && c <= '9')) return parse_int();
    return parse_word();
  }

  PyValue parse_string(char quote) {
    PyValue v;
    v.kind = PyValue::kStr;
    ++pos_;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) ++pos_;
      v.str += text_[pos_++];
    }
    if (pos_ >= text_.size()) error("unterminated string");
    ++pos_;
    return v;
  }

  PyValue parse_seq(char close, int depth) {
    PyValue v;
    v.kind = PyValue::kSeq;
    ++pos_;
    while (!peek_is(close)) {
      v.items.push_back(parse_value(depth + 1));
      if (!peek_is(',')) break;
      ++pos_;
    }
    expect(close);
    return v;
  }

  PyValue parse_int() {
    PyValue v;
    v.kind = PyValue::kInt;
    const bool negative = text_[pos_] == '-';
    if (negative) ++pos_;
    const std::size_t start = pos_;
    std::int64_t n = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      const int digit = text_[pos_++] - '0';
      if (n > (std::numeric_limits<std::int64_t>::max() - digit) / 10) error("integer too large");
      n = n * 10 + digit;
    }
    if (pos_ == start) error("bad integer");
    if (pos_ < text_.size() && text_[pos_] == 'L') ++pos_;  // Python 2 long, old numpy files
    v.integer = negative ? -n : n;
    return v;
  }

  PyValue parse_word() {
    const std::size_t start = pos_;
    while (pos_ < text_.size() && std::isalpha(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    const std::string_view word = text_.substr(start, pos_ - start);
    PyValue v;
    if (word == "True" || word == "False") {
      v.kind = PyValue::kBool;
      v.boolean = word == "True";
    } else if (word == "None") {
      v.kind = PyValue::kNone;
    } else {
      pos_ = start;
      error("unexpected token");
    }
    return v;
  }

  std::string_view text_;
  const std::string& what_;
  std::size_t pos_ = 0;
};

// ---- dtype descriptors ---------------------------------------------------------------------

struct Descr {
  DType dtype;
  bool big_endian = false;
};

[[noreturn]] void unsupported_descr(const std::string& what, const std::string& descr,
                                    const std::string& why) {
  fail(what, "dtype '" + descr + "' " + why);
}

Descr parse_descr(const std::string& descr, const std::string& what) {
  if (descr.size() < 2 || std::string_view("<>|=").find(descr[0]) == std::string_view::npos) {
    unsupported_descr(what, descr, "is not supported; save a numeric array (float/int/bool)");
  }
  const char kind = descr[1];
  const std::string size = descr.substr(2);
  const bool big_endian = descr[0] == '>';
  static constexpr struct {
    char kind;
    std::string_view size;
    DType dtype;
  } kTable[] = {{'f', "8", DType::F64}, {'f', "4", DType::F32}, {'f', "2", DType::F16},
                {'i', "8", DType::I64}, {'i', "4", DType::I32}, {'i', "2", DType::I16},
                {'i', "1", DType::I8},  {'u', "1", DType::U8},  {'b', "1", DType::Bool}};
  for (const auto& row : kTable) {
    if (row.kind == kind && row.size == size) return Descr{row.dtype, big_endian};
  }
  if (kind == 'u') {
    unsupported_descr(what, descr,
                      "(unsigned " + std::to_string(std::atoi(size.c_str()) * 8) +
                          "-bit) is not supported; save it as int64 (arr.astype(np.int64))");
  }
  if (kind == 'O') {
    unsupported_descr(what, descr,
                      "(Python objects) is refused: object arrays need pickle; "
                      "save a numeric array");
  }
  if (kind == 'V') {
    unsupported_descr(what, descr,
                      "(raw/void, e.g. ml_dtypes bfloat16) is not supported; "
                      "convert to float32 before saving");
  }
  unsupported_descr(what, descr, "is not supported; save a float, int or bool array");
}

// ---- header --------------------------------------------------------------------------------

struct NpyHeader {
  Descr descr;
  bool fortran_order = false;
  std::vector<std::int64_t> shape;
  std::size_t data_offset = 0;  // preamble + header
};

bool starts_with_magic(const unsigned char* p, std::size_t n) {
  return n >= kMagicLen && std::memcmp(p, kMagic, kMagicLen) == 0;
}

// Preamble + header length, from the first kPreambleV2 bytes (fewer if the data is shorter).
std::size_t header_total(const unsigned char* p, std::size_t avail, const std::string& what) {
  if (!starts_with_magic(p, avail)) {
    // (avail may be 0 with p null: an empty .npz member; memcmp must not see a null pointer.)
    const bool truncated_magic =
        avail < kMagicLen && (avail == 0 || std::memcmp(p, kMagic, avail) == 0);
    if (truncated_magic) fail_corrupt(what, "file ends inside the magic string");
    fail(what, "not a .npy file (bad magic string); check the path and the file format");
  }
  if (avail < kPreambleV1) fail_corrupt(what, "file ends inside the preamble");
  const int major = p[6];
  const int minor = p[7];
  if (major == 1) return kPreambleV1 + (p[8] | (p[9] << 8));
  if (major == 2 || major == 3) {
    if (avail < kPreambleV2) fail_corrupt(what, "file ends inside the preamble");
    const std::uint32_t len = static_cast<std::uint32_t>(p[8]) | (p[9] << 8) | (p[10] << 16) |
                              (static_cast<std::uint32_t>(p[11]) << 24);
    if (len > kMaxHeaderLen) fail_corrupt(what, "absurd header length " + std::to_string(len));
    return kPreambleV2 + len;
  }
  fail(what, "unsupported .npy format version " + std::to_string(major) + "." +
                 std::to_string(minor) + "; re-save it with numpy");
}

const PyValue& dict_get(const std::vector<std::pair<std::string, PyValue>>& dict,
                        const std::string& key, const std::string& what) {
  for (const auto& [k, v] : dict) {
    if (k == key) return v;
  }
  fail_corrupt(what, "header has no '" + key + "'");
}

// `p` holds the whole preamble and header (`total` bytes, from header_total).
NpyHeader parse_header(const unsigned char* p, std::size_t total, const std::string& what) {
  const std::size_t preamble = p[6] == 1 ? kPreambleV1 : kPreambleV2;
  const std::string_view text(reinterpret_cast<const char*>(p) + preamble, total - preamble);
  check_header_bytes(text, /*utf8=*/p[6] == 3, what);
  const auto dict = LiteralParser(text, what).parse_dict();
  static constexpr std::string_view kKeys[] = {"descr", "fortran_order", "shape"};
  for (std::size_t i = 0; i < dict.size(); ++i) {
    const std::string& key = dict[i].first;
    if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys)) {
      bad_header(what, "unknown key '" + key.substr(0, 40) +
                           "' (numpy writes only descr, fortran_order and shape)");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (dict[j].first == key) bad_header(what, "duplicate key '" + key + "'");
    }
  }

  NpyHeader h;
  h.data_offset = total;
  const PyValue& descr = dict_get(dict, "descr", what);
  if (descr.kind != PyValue::kStr) {
    fail(what,
         "structured (record) dtypes are not supported; save one plain numeric array "
         "per key");
  }
  h.descr = parse_descr(descr.str, what);
  const PyValue& fortran = dict_get(dict, "fortran_order", what);
  if (fortran.kind != PyValue::kBool) fail_corrupt(what, "'fortran_order' is not True/False");
  h.fortran_order = fortran.boolean;
  const PyValue& shape = dict_get(dict, "shape", what);
  if (shape.kind != PyValue::kSeq) fail_corrupt(what, "'shape' is not a tuple");
  for (const PyValue& d : shape.items) {
    if (d.kind != PyValue::kInt) fail_corrupt(what, "'shape' holds a non-integer");
    h.shape.push_back(d.integer);
  }
  return h;
}

// ---- layout fix-ups ------------------------------------------------------------------------

void byte_swap(std::vector<std::byte>& data, std::size_t item) {
  if (item <= 1) return;
  for (std::size_t i = 0; i + item <= data.size(); i += item) {
    std::reverse(data.begin() + static_cast<std::ptrdiff_t>(i),
                 data.begin() + static_cast<std::ptrdiff_t>(i + item));
  }
}

// Reorders Fortran-order data (first index fastest) into C order (last index fastest).
std::vector<std::byte> fortran_to_c(const std::vector<std::byte>& src,
                                    const std::vector<std::int64_t>& shape, std::size_t item) {
  const std::size_t rank = shape.size();
  const std::size_t numel = src.size() / item;
  std::vector<std::byte> dst(src.size());
  if (rank <= 1 || numel == 0) return src;
  std::vector<std::size_t> fstride(rank);  // in elements
  fstride[0] = 1;
  for (std::size_t k = 1; k < rank; ++k) {
    fstride[k] = fstride[k - 1] * static_cast<std::size_t>(shape[k - 1]);
  }
  std::vector<std::int64_t> idx(rank, 0);
  std::size_t src_elem = 0;
  for (std::size_t out = 0; out < numel; ++out) {
    std::memcpy(dst.data() + out * item, src.data() + src_elem * item, item);
    // Odometer over C order, keeping the Fortran offset in step.
    for (std::size_t k = rank; k-- > 0;) {
      if (++idx[k] < shape[k]) {
        src_elem += fstride[k];
        break;
      }
      src_elem -= fstride[k] * static_cast<std::size_t>(shape[k] - 1);
      idx[k] = 0;
    }
  }
  return dst;
}

void finish_array(Array& a, const NpyHeader& h) {
  const std::size_t item = dtype_size(a.dtype);
  if (h.descr.big_endian) byte_swap(a.data, item);
  if (h.fortran_order) a.data = fortran_to_c(a.data, a.shape, item);
  if (a.dtype == DType::Bool) {
    for (std::byte& b : a.data) b = b != std::byte{0} ? std::byte{1} : std::byte{0};
  }
}

// ---- writing -------------------------------------------------------------------------------

std::string descr_for(DType t) {
  switch (t) {
    case DType::F64:
      return "<f8";
    case DType::F32:
      return "<f4";
    case DType::F16:
      return "<f2";
    case DType::I64:
      return "<i8";
    case DType::I32:
      return "<i4";
    case DType::I16:
      return "<i2";
    case DType::I8:
      return "|i1";
    case DType::U8:
      return "|u1";
    case DType::Bool:
      return "|b1";
    case DType::BF16:
      break;
  }
  throw Error(
      "bfloat16 arrays cannot be stored in .npy (numpy has no bfloat16 dtype); "
      "convert to float32 first");
}

std::string shape_tuple(const std::vector<std::int64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

// Checks that `a` can be written to .npy; `what` names the file (and key) in the message.
void check_writable(const Array& a, const std::string& what) {
  if (a.dtype == DType::BF16) {
    fail(what,
         "bfloat16 cannot be stored in .npy (numpy has no bfloat16 dtype); convert the "
         "array to float32 first");
  }
  if (a.data.size() != checked_nbytes(a.dtype, a.shape, what)) {
    fail(what, "internal error: array data size does not match its shape");
  }
}

// Preamble + header, padded so that the data starts at a multiple of 64 bytes.
std::string npy_header(const Array& a) {
  std::string dict = "{'descr': '" + descr_for(a.dtype) +
                     "', 'fortran_order': False, 'shape': " + shape_tuple(a.shape) + ", }";
  const bool v2 = kPreambleV1 + dict.size() + 1 > 0xFFFF;
  const std::size_t preamble = v2 ? kPreambleV2 : kPreambleV1;
  const std::size_t unpadded = preamble + dict.size() + 1;  // + '\n'
  dict.append((kAlign - unpadded % kAlign) % kAlign, ' ');
  dict += '\n';
  const std::size_t len = dict.size();
  std::string out(kMagic, kMagicLen);
  out += static_cast<char>(v2 ? 2 : 1);
  out += '\0';
  for (std::size_t i = 0; i < (v2 ? 4u : 2u); ++i)
    out += static_cast<char>((len >> (8 * i)) & 0xFF);
  return out + dict;
}

// ---- file access ---------------------------------------------------------------------------

InputFile open_npy(const fs::path& path) {
  return InputFile(path, "a .npy file", corrupt_message("file is shorter than its header says"));
}

// Reads and checks the preamble and header of an open .npy file.
NpyLayout layout_of(const InputFile& file) {
  const std::string what = file.path().string();
  unsigned char pre[kPreambleV2] = {};
  const auto pre_len = static_cast<std::size_t>(std::min<std::uint64_t>(file.size(), sizeof pre));
  file.read(0, pre, pre_len);
  const std::size_t total = header_total(pre, pre_len, what);
  if (total > file.size()) fail_corrupt(what, "file ends inside the header");
  std::vector<unsigned char> header(total);
  file.read(0, header.data(), total);
  const NpyHeader h = parse_header(header.data(), total, what);
  const std::uint64_t nbytes = checked_nbytes(h.descr.dtype, h.shape, what);
  if (nbytes > file.size() - total) {
    fail_corrupt(what, "array needs " + std::to_string(nbytes) + " bytes of data, only " +
                           std::to_string(file.size() - total) + " present");
  }
  return NpyLayout{h.descr.dtype, h.shape, h.fortran_order, h.descr.big_endian, total};
}

std::uint32_t crc_of(std::uint32_t crc, const void* p, std::size_t n) {
  if (n == 0) return crc;  // zlib returns 0, not `crc`, for a null buffer
  return static_cast<std::uint32_t>(crc32_z(crc, static_cast<const Bytef*>(p), n));
}

void put16(std::string& s, std::uint64_t v) {
  for (int i = 0; i < 2; ++i) s += static_cast<char>((v >> (8 * i)) & 0xFF);
}
void put32(std::string& s, std::uint64_t v) {
  for (int i = 0; i < 4; ++i) s += static_cast<char>((v >> (8 * i)) & 0xFF);
}
void put64(std::string& s, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) s += static_cast<char>((v >> (8 * i)) & 0xFF);
}

constexpr std::uint64_t kMax32 = 0xFFFFFFFFu;
constexpr std::uint16_t kDosDate = (0 << 9) | (1 << 5) | 1;  // 1980-01-01: reproducible output

struct NpzMember {
  std::string name;  // key + ".npy"
  std::uint64_t size = 0;
  std::uint32_t crc = 0;
  std::uint64_t offset = 0;  // of the local header
  bool zip64 = false;
};

std::uint16_t name_flags(const std::string& name) {
  const bool ascii = std::all_of(name.begin(), name.end(),
                                 [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  return ascii ? 0 : 0x0800;  // bit 11: the name is UTF-8
}

std::string local_header(const NpzMember& m) {
  std::string h;
  put32(h, 0x04034b50);
  put16(h, m.zip64 ? 45 : 20);
  put16(h, name_flags(m.name));
  put16(h, 0);  // stored
  put16(h, 0);  // time
  put16(h, kDosDate);
  put32(h, m.crc);
  put32(h, m.zip64 ? kMax32 : m.size);
  put32(h, m.zip64 ? kMax32 : m.size);
  put16(h, m.name.size());
  put16(h, m.zip64 ? 20 : 0);
  h += m.name;
  if (m.zip64) {
    put16(h, 0x0001);
    put16(h, 16);
    put64(h, m.size);
    put64(h, m.size);
  }
  return h;
}

std::string central_header(const NpzMember& m) {
  std::string h;
  put32(h, 0x02014b50);
  put16(h, (3 << 8) | (m.zip64 ? 45 : 20));  // made by: Unix
  put16(h, m.zip64 ? 45 : 20);
  put16(h, name_flags(m.name));
  put16(h, 0);
  put16(h, 0);
  put16(h, kDosDate);
  put32(h, m.crc);
  put32(h, m.zip64 ? kMax32 : m.size);
  put32(h, m.zip64 ? kMax32 : m.size);
  put16(h, m.name.size());
  put16(h, m.zip64 ? 28 : 0);
  put16(h, 0);               // comment
  put16(h, 0);               // disk
  put16(h, 0);               // internal attributes
  put32(h, 0100644u << 16);  // external attributes: a regular rw-r--r-- file
  put32(h, m.zip64 ? kMax32 : m.offset);
  h += m.name;
  if (m.zip64) {
    put16(h, 0x0001);
    put16(h, 24);
    put64(h, m.size);
    put64(h, m.size);
    put64(h, m.offset);
  }
  return h;
}

std::string end_records(std::uint64_t entries, std::uint64_t cd_offset, std::uint64_t cd_size,
                        bool zip64) {
  std::string e;
  if (zip64) {
    const std::uint64_t record_offset = cd_offset + cd_size;
    put32(e, 0x06064b50);
    put64(e, 44);  // size of the rest of the record
    put16(e, (3 << 8) | 45);
    put16(e, 45);
    put32(e, 0);
    put32(e, 0);
    put64(e, entries);
    put64(e, entries);
    put64(e, cd_size);
    put64(e, cd_offset);
    put32(e, 0x07064b50);
    put32(e, 0);
    put64(e, record_offset);
    put32(e, 1);
  }
  put32(e, 0x06054b50);
  put16(e, 0);
  put16(e, 0);
  put16(e, zip64 ? 0xFFFF : entries);
  put16(e, zip64 ? 0xFFFF : entries);
  put32(e, zip64 ? kMax32 : cd_size);
  put32(e, zip64 ? kMax32 : cd_offset);
  put16(e, 0);
  return e;
}

// An .npz member's recorded (uncompressed) size must be what its own .npy header needs: the
// header is inflated and parsed first, so a member claiming gigabytes it does not hold (a
// decompression bomb, or a damaged archive) is refused before the rest is inflated.
void check_member_size(const ZipArchive& zip, const ZipEntry& e, const std::string& what) {
  const std::vector<std::byte> pre = zip.read_prefix(e, kPreambleV2);
  const auto* p = reinterpret_cast<const unsigned char*>(pre.data());
  const std::size_t total = header_total(p, pre.size(), what);
  if (total > e.size) fail_corrupt(what, "member ends inside the header");
  const std::vector<std::byte> head = zip.read_prefix(e, total);
  const NpyHeader h =
      parse_header(reinterpret_cast<const unsigned char*>(head.data()), total, what);
  const std::uint64_t nbytes = checked_nbytes(h.descr.dtype, h.shape, what);
  if (nbytes > std::numeric_limits<std::uint64_t>::max() - total || e.size != total + nbytes) {
    fail_corrupt(what, "member declares " + std::to_string(e.size) +
                           " bytes but its header says the array needs " + std::to_string(nbytes) +
                           " bytes after a " + std::to_string(total) + "-byte header");
  }
}

}  // namespace

// ---- public API ----------------------------------------------------------------------------

Array parse_npy(const std::byte* data, std::size_t size, const std::string& what) {
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  const std::size_t total = header_total(p, size, what);
  if (total > size) fail_corrupt(what, "data ends inside the header");
  const NpyHeader h = parse_header(p, total, what);
  Array a;
  a.dtype = h.descr.dtype;
  a.shape = h.shape;
  const std::uint64_t nbytes = checked_nbytes(a.dtype, a.shape, what);
  if (nbytes > size - total) {
    fail_corrupt(what, "array needs " + std::to_string(nbytes) + " bytes of data, only " +
                           std::to_string(size - total) + " present");
  }
  if (nbytes > 0) a.data.assign(data + total, data + total + nbytes);  // data may be null if 0
  finish_array(a, h);
  return a;
}

NpyLayout read_npy_layout(const fs::path& path) {
  return layout_of(open_npy(path));
}

Array read_npy(const fs::path& path) {
  const InputFile file = open_npy(path);
  const NpyLayout lay = layout_of(file);
  Array a;
  a.dtype = lay.dtype;
  a.shape = lay.shape;
  a.data.resize(checked_nbytes(a.dtype, a.shape, path.string()));
  if (!a.data.empty()) file.read(lay.data_offset, a.data.data(), a.data.size());
  NpyHeader h;
  h.descr.dtype = lay.dtype;
  h.descr.big_endian = lay.big_endian;
  h.fortran_order = lay.fortran_order;
  h.shape = lay.shape;
  finish_array(a, h);
  return a;
}

std::string serialize_npy(const Array& a) {
  check_writable(a, "array");
  std::string out = npy_header(a);
  out.append(reinterpret_cast<const char*>(a.data.data()), a.data.size());
  return out;
}

void write_npy(const fs::path& path, const Array& a) {
  check_writable(a, path.string());
  write_file_atomic(path, [&a](std::ostream& out) {
    const std::string header = npy_header(a);
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    out.write(reinterpret_cast<const char*>(a.data.data()),
              static_cast<std::streamsize>(a.data.size()));
  });
}

std::map<std::string, Array> read_npz(const fs::path& path) {
  const ZipArchive zip = ZipArchive::open(path);
  std::map<std::string, Array> out;
  constexpr std::string_view kSuffix = ".npy";
  for (const ZipEntry& e : zip.entries()) {
    // np.savez names members "<key>.npy"; anything else is not an array np.load would list.
    if (e.name.size() <= kSuffix.size() || !e.name.ends_with(kSuffix)) continue;
    const std::string what = path.string() + "[" + e.name + "]";
    check_member_size(zip, e, what);
    const std::vector<std::byte> bytes = zip.read(e);
    const std::string key = e.name.substr(0, e.name.size() - kSuffix.size());
    out.insert_or_assign(key, parse_npy(bytes.data(), bytes.size(), what));
  }
  return out;
}

void write_npz_stream(std::ostream& out, const std::map<std::string, Array>& arrays,
                      const std::string& what, bool force_zip64) {
  std::vector<NpzMember> members;
  std::uint64_t offset = 0;
  for (const auto& [key, a] : arrays) {
    check_writable(a, what + "[" + key + "]");
    NpzMember m;
    m.name = key + ".npy";
    if (m.name.size() > 0xFFFF) fail(what, "array name '" + key.substr(0, 40) + "...' too long");
    const std::string header = npy_header(a);
    m.size = header.size() + a.data.size();
    m.crc = crc_of(crc_of(0, header.data(), header.size()), a.data.data(), a.data.size());
    m.offset = offset;
    m.zip64 = force_zip64 || m.size >= kMax32 || m.offset >= kMax32;
    const std::string local = local_header(m);
    out.write(local.data(), static_cast<std::streamsize>(local.size()));
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    out.write(reinterpret_cast<const char*>(a.data.data()),
              static_cast<std::streamsize>(a.data.size()));
    offset += local.size() + m.size;
    members.push_back(std::move(m));
  }
  std::string cd;
  for (const NpzMember& m : members) cd += central_header(m);
  const bool zip64 =
      force_zip64 || members.size() >= 0xFFFF || offset >= kMax32 || cd.size() >= kMax32 ||
      std::any_of(members.begin(), members.end(), [](const NpzMember& m) { return m.zip64; });
  const std::uint64_t cd_size = cd.size();
  cd += end_records(members.size(), offset, cd_size, zip64);
  out.write(cd.data(), static_cast<std::streamsize>(cd.size()));
}

void write_npz(const fs::path& path, const std::map<std::string, Array>& arrays) {
  for (const auto& [key, a] : arrays) check_writable(a, path.string() + "[" + key + "]");
  write_file_atomic(path, [&](std::ostream& out) {
    write_npz_stream(out, arrays, path.string(), /*force_zip64=*/false);
  });
}

}  // namespace actlens::io
