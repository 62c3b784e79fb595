// Dtype bookkeeping, exact widening of the half-precision formats, and conversion of file arrays
// to the Eigen matrices the analyses work on.
#include "actlens/io/array.hpp"

#include <cmath>
#include <cstring>
#include <limits>

#include "actlens/error.hpp"

namespace actlens::io {

std::size_t dtype_size(DType t) {
  switch (t) {
    case DType::F64:
    case DType::I64:
      return 8;
    case DType::F32:
    case DType::I32:
      return 4;
    case DType::F16:
    case DType::BF16:
    case DType::I16:
      return 2;
    case DType::I8:
    case DType::U8:
    case DType::Bool:
      return 1;
  }
  throw Error("internal error: unknown dtype");
}

std::string dtype_name(DType t) {
  switch (t) {
    case DType::F64:
      return "float64";
    case DType::F32:
      return "float32";
    case DType::F16:
      return "float16";
    case DType::BF16:
      return "bfloat16";
    case DType::I64:
      return "int64";
    case DType::I32:
      return "int32";
    case DType::I16:
      return "int16";
    case DType::I8:
      return "int8";
    case DType::U8:
      return "uint8";
    case DType::Bool:
      return "bool";
  }
  throw Error("internal error: unknown dtype");
}

std::int64_t Array::numel() const {
  std::int64_t n = 1;
  for (std::int64_t d : shape) n *= d;
  return n;
}

std::int64_t checked_numel(const std::vector<std::int64_t>& shape, const std::string& what) {
  // Headers come from files; a hostile shape must not overflow into a small, "valid" size.
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  std::int64_t n = 1;
  for (std::int64_t d : shape) {
    if (d < 0) {
      throw Error(what + ": negative dimension in shape; the file is corrupt, re-create it");
    }
    if (d != 0 && n > kMax / d) {
      throw Error(what + ": shape has too many elements; the file is corrupt, re-create it");
    }
    n *= d;
  }
  return n;
}

std::uint64_t checked_nbytes(DType t, const std::vector<std::int64_t>& shape,
                             const std::string& what) {
  const auto n = static_cast<std::uint64_t>(checked_numel(shape, what));
  const std::uint64_t size = dtype_size(t);
  if (n > std::numeric_limits<std::uint64_t>::max() / size) {
    throw Error(what + ": shape has too many elements; the file is corrupt, re-create it");
  }
  return n * size;
}

float bf16_to_float(std::uint16_t bits) {
  // bfloat16 is the upper half of an IEEE float32, so widening is a shift.
  const std::uint32_t wide = static_cast<std::uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &wide, sizeof f);
  return f;
}

float f16_to_float(std::uint16_t bits) {
  const std::uint32_t sign = static_cast<std::uint32_t>(bits & 0x8000u) << 16;
  const std::uint32_t exponent = (bits >> 10) & 0x1Fu;
  const std::uint32_t mantissa = bits & 0x3FFu;
  std::uint32_t wide;
  if (exponent == 0) {
    // Zero or subnormal: mantissa * 2^-24 is exact in float32 (which has 8 more exponent bits).
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    std::memcpy(&wide, &magnitude, sizeof wide);
    wide |= sign;
  } else if (exponent == 0x1F) {
    // Inf stays inf; a NaN keeps its payload (shifted into float32's wider mantissa).
    wide = sign | 0x7F800000u | (mantissa << 13);
  } else {
    // Rebias the exponent from 15 to 127.
    wide = sign | ((exponent + 112u) << 23) | (mantissa << 13);
  }
  float f;
  std::memcpy(&f, &wide, sizeof f);
  return f;
}

namespace {

template <typename Src, typename Dst>
void convert_plain(const void* src, Dst* dst, std::size_t n) {
  // memcpy per element: file buffers carry no alignment guarantee.
  const auto* bytes = static_cast<const unsigned char*>(src);
  for (std::size_t i = 0; i < n; ++i) {
    Src v;
    std::memcpy(&v, bytes + i * sizeof(Src), sizeof(Src));
    dst[i] = static_cast<Dst>(v);
  }
}

template <typename Dst, float (*Widen)(std::uint16_t)>
void convert_half(const void* src, Dst* dst, std::size_t n) {
  const auto* bytes = static_cast<const unsigned char*>(src);
  for (std::size_t i = 0; i < n; ++i) {
    std::uint16_t v;
    std::memcpy(&v, bytes + i * 2, 2);
    dst[i] = static_cast<Dst>(Widen(v));
  }
}

template <typename Dst>
void convert_bool(const void* src, Dst* dst, std::size_t n) {
  const auto* bytes = static_cast<const unsigned char*>(src);
  for (std::size_t i = 0; i < n; ++i) dst[i] = bytes[i] != 0 ? Dst(1) : Dst(0);
}

template <typename Dst>
void convert_any(DType t, const void* src, Dst* dst, std::size_t n) {
  switch (t) {
    case DType::F64:
      return convert_plain<double>(src, dst, n);
    case DType::F32:
      return convert_plain<float>(src, dst, n);
    case DType::F16:
      return convert_half<Dst, f16_to_float>(src, dst, n);
    case DType::BF16:
      return convert_half<Dst, bf16_to_float>(src, dst, n);
    case DType::I64:
      return convert_plain<std::int64_t>(src, dst, n);
    case DType::I32:
      return convert_plain<std::int32_t>(src, dst, n);
    case DType::I16:
      return convert_plain<std::int16_t>(src, dst, n);
    case DType::I8:
      return convert_plain<std::int8_t>(src, dst, n);
    case DType::U8:
      return convert_plain<std::uint8_t>(src, dst, n);
    case DType::Bool:
      return convert_bool(src, dst, n);
  }
  throw Error("internal error: unknown dtype");
}

// Rows and columns of `a` seen as a matrix; throws for ranks other than 1 and 2.
std::pair<Eigen::Index, Eigen::Index> matrix_dims(const Array& a, const std::string& what) {
  if (a.shape.size() == 2) return {a.shape[0], a.shape[1]};
  if (a.shape.size() == 1) return {a.shape[0], 1};
  throw Error(what + ": expected a 1-D or 2-D array, got " + std::to_string(a.shape.size()) +
              "-D; reshape it to [rows, features] before saving");
}

void check_data_size(const Array& a, const std::string& what) {
  const std::uint64_t want = checked_nbytes(a.dtype, a.shape, what);
  if (a.data.size() != want) {
    throw Error(what + ": internal error: array holds " + std::to_string(a.data.size()) +
                " bytes, its shape needs " + std::to_string(want));
  }
}

template <typename Matrix>
Matrix to_matrix(const Array& a, const std::string& what) {
  check_data_size(a, what);
  const auto [rows, cols] = matrix_dims(a, what);
  Matrix m(rows, cols);
  const auto n = static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols);
  if (n > 0) convert_any(a.dtype, a.data.data(), m.data(), n);
  return m;
}

template <typename T>
Array array_from(DType t, std::vector<std::int64_t> shape, const T* src, std::size_t n) {
  Array a;
  a.dtype = t;
  a.shape = std::move(shape);
  a.data.resize(n * sizeof(T));
  if (n > 0) std::memcpy(a.data.data(), src, n * sizeof(T));
  return a;
}

}  // namespace

void convert_to_float(DType t, const void* src, float* dst, std::size_t n) {
  convert_any(t, src, dst, n);
}

void convert_to_double(DType t, const void* src, double* dst, std::size_t n) {
  convert_any(t, src, dst, n);
}

RowMatrixF to_float_matrix(const Array& a, const std::string& what) {
  return to_matrix<RowMatrixF>(a, what);
}

RowMatrixD to_double_matrix(const Array& a, const std::string& what) {
  return to_matrix<RowMatrixD>(a, what);
}

std::vector<double> to_double_vector(const Array& a) {
  check_data_size(a, "array");
  std::vector<double> out(a.data.size() / dtype_size(a.dtype));
  if (!out.empty()) convert_any(a.dtype, a.data.data(), out.data(), out.size());
  return out;
}

Array make_array(const RowMatrixD& m) {
  return array_from(DType::F64, {m.rows(), m.cols()}, m.data(), static_cast<std::size_t>(m.size()));
}

Array make_array(const RowMatrixF& m) {
  return array_from(DType::F32, {m.rows(), m.cols()}, m.data(), static_cast<std::size_t>(m.size()));
}

Array make_array(const std::vector<double>& v) {
  return array_from(DType::F64, {static_cast<std::int64_t>(v.size())}, v.data(), v.size());
}

Array make_array(const std::vector<std::int64_t>& v) {
  return array_from(DType::I64, {static_cast<std::int64_t>(v.size())}, v.data(), v.size());
}

}  // namespace actlens::io
