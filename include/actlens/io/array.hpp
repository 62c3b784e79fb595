#pragma once
// A dense n-dimensional array as files store it (C order, any of the dtypes the ecosystem writes).
// Readers of every format (.npy/.npz, safetensors, torch.save) return this, and analyses convert
// it to float32/float64 Eigen matrices with the helpers below.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "actlens/core/types.hpp"

namespace actlens::io {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, Bool };

// Bytes per element of `t`.
std::size_t dtype_size(DType t);
// Short, numpy-like name: "float32", "bfloat16", "int64", "bool"...
std::string dtype_name(DType t);

// core's row-major matrices under io's names.
using RowMatrixF = core::RowMatrixXf;
using RowMatrixD = core::RowMatrixXd;

// An Eigen vector's values as a std::vector: what make_array and the JSON writers take.
inline std::vector<double> to_std_vector(const Eigen::VectorXd& v) {
  return std::vector<double>(v.data(), v.data() + v.size());
}

struct Array {
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;  // empty = scalar
  std::vector<std::byte> data;      // numel * dtype_size bytes, little-endian, C order

  std::int64_t numel() const;
};

// Converts `n` elements of type `t` at `src` (little-endian) to float / double. bf16 and f16 are
// widened exactly; integers and bools are converted by value.
void convert_to_float(DType t, const void* src, float* dst, std::size_t n);
void convert_to_double(DType t, const void* src, double* dst, std::size_t n);

// The array as a [rows, cols] matrix: 2-D as is, 1-D as [n, 1]. `what` names the array in errors
// (e.g. "X.npy"); other ranks throw actlens::Error.
RowMatrixF to_float_matrix(const Array& a, const std::string& what);
RowMatrixD to_double_matrix(const Array& a, const std::string& what);
// All elements as a flat vector, any rank.
std::vector<double> to_double_vector(const Array& a);

// Widens one bfloat16 (the upper 16 bits of a float32) / IEEE half (subnormals, inf and NaN
// included) to float32; both are exact.
float bf16_to_float(std::uint16_t bits);
float f16_to_float(std::uint16_t bits);

// Elements / bytes that `shape` of dtype `t` needs (1 element for a scalar). Shapes come from
// files, so a negative dimension or an overflowing product throws actlens::Error naming `what`.
std::int64_t checked_numel(const std::vector<std::int64_t>& shape, const std::string& what);
std::uint64_t checked_nbytes(DType t, const std::vector<std::int64_t>& shape,
                             const std::string& what);

// Arrays from Eigen data (copied), for writers.
Array make_array(const RowMatrixD& m);
Array make_array(const RowMatrixF& m);
Array make_array(const std::vector<double>& v);
Array make_array(const std::vector<std::int64_t>& v);

}  // namespace actlens::io
