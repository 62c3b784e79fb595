#include "blas_setup.hpp"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

extern "C" char* openblas_get_corename(void) __attribute__((weak));

namespace actlens::cli {
namespace {

// The best OpenBLAS kernel family this CPU can run, from its feature flags.
const char* best_core_for_cpu() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512cd"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  if (__builtin_cpu_supports("avx")) return "Sandybridge";
  return nullptr;
}

int rank(const std::string& core) {
  static const char* order[] = {"Sandybridge", "Haswell",    "Zen",
                                "SkylakeX",    "Cooperlake", "SapphireRapids"};
  for (int i = 0; i < 6; ++i)
    if (strcasecmp(core.c_str(), order[i]) == 0) return i + 1;
  return 0;  // generic or older kernels
}

}  // namespace

const char* blas_core_name() {
  return openblas_get_corename ? openblas_get_corename() : "";
}

void ensure_blas_kernels(char** argv) {
  if (!openblas_get_corename || std::getenv("OPENBLAS_CORETYPE") ||
      std::getenv("ACTLENS_BLAS_REEXEC"))
    return;
  const char* best = best_core_for_cpu();
  if (!best) return;
  const std::string current = openblas_get_corename();
  if (rank(current) >= rank(best)) return;
  setenv("OPENBLAS_CORETYPE", best, 1);
  setenv("ACTLENS_BLAS_REEXEC", "1", 1);
  execv("/proc/self/exe", argv);
  // execv failed (no /proc?): carry on with the kernels we have.
  unsetenv("OPENBLAS_CORETYPE");
}

}  // namespace actlens::cli
