// Hugging Face's gelu_new kernel, built twice by CMakeLists.txt: with AVX-512 and with AVX2+FMA
// flags (ACTLENS_GELU_NAME names each), plus -ffast-math so that GCC vectorizes tanhf into
// glibc's libmvec (_ZGVeN16v_tanhf / _ZGVdN8v_tanhf, <= 4 ulp). Only plain C functions are used
// here: no inline template could leak an AVX-512 instantiation into code that runs elsewhere.
// gelu_cpu.cpp calls the variant the CPU supports.
#include <math.h>

#include <cstdint>

extern "C" void ACTLENS_GELU_NAME(const float* x, float* y, std::int64_t n) {
  const float c = 0.7978845608028654f;  // sqrt(2 / pi)
#pragma omp simd
  for (std::int64_t i = 0; i < n; ++i) {
    const float a = x[i];
    y[i] = 0.5f * a * (1.0f + tanhf(c * (a + 0.044715f * a * a * a)));
  }
}
