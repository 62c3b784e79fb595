#include "actlens/core/cpu_isa.hpp"

#include <cstdlib>
#include <cstring>

namespace actlens::core {
namespace {

CpuIsa detect() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq"))
    return CpuIsa::Avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return CpuIsa::Avx2;
#endif
  return CpuIsa::Scalar;
}

CpuIsa decide() {
  const CpuIsa best = detect();
  const char* env = std::getenv("ACTLENS_CPU_ISA");
  if (!env || !*env) return best;
  CpuIsa want = best;
  if (std::strcmp(env, "scalar") == 0) want = CpuIsa::Scalar;
  if (std::strcmp(env, "avx2") == 0) want = CpuIsa::Avx2;
  if (std::strcmp(env, "avx512") == 0) want = CpuIsa::Avx512;
  return static_cast<int>(want) < static_cast<int>(best) ? want : best;
}

}  // namespace

CpuIsa cpu_isa() {
  static const CpuIsa isa = decide();
  return isa;
}

const char* to_string(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::Avx512:
      return "avx512";
    case CpuIsa::Avx2:
      return "avx2";
    case CpuIsa::Scalar:
      break;
  }
  return "scalar";
}

}  // namespace actlens::core
