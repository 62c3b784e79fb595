#include "gelu_cpu.hpp"

#include <algorithm>
#include <cstdint>

#include "actlens/core/cpu_isa.hpp"

extern "C" void actlens_gelu_avx512(const float* x, float* y, std::int64_t n);
extern "C" void actlens_gelu_avx2(const float* x, float* y, std::int64_t n);

namespace actlens::model {
namespace {

using Kernel = void (*)(const float*, float*, std::int64_t);

Kernel pick_kernel() {
  switch (core::cpu_isa()) {  // the CPU's best, or lower with $ACTLENS_CPU_ISA
    case core::CpuIsa::Avx512:
      return actlens_gelu_avx512;
    case core::CpuIsa::Avx2:
      return actlens_gelu_avx2;
    case core::CpuIsa::Scalar:
      break;
  }
  return nullptr;  // LibTorch's own gelu (see the caller)
}

}  // namespace

torch::Tensor gelu_tanh_cpu(const torch::Tensor& x) {
  static const Kernel kernel = pick_kernel();
  if (kernel == nullptr) return {};
  const torch::Tensor xc = x.contiguous();
  torch::Tensor y = torch::empty_like(xc);
  const float* src = xc.data_ptr<float>();
  float* dst = y.data_ptr<float>();
  const std::int64_t n = xc.numel(), block = 1 << 15;
#pragma omp parallel for schedule(static)
  for (std::int64_t start = 0; start < n; start += block)
    kernel(src + start, dst + start, std::min(block, n - start));
  return y;
}

}  // namespace actlens::model
