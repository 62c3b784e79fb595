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
  if (std::getenv("ACTLENS_BLAS_REEXEC")) return;  // this is the re-executed process
  bool reexec = false;
  // OpenMP threads that wait for work spin (libgomp's default): on a machine whose cores are
  // busy with other work, two spinning threads took `train` from 25 s to 3.6 min. Passive
  // waiting costs microseconds per parallel region when the cores are idle. libgomp reads the
  // policy when it loads, hence the re-exec; a user's OMP_WAIT_POLICY/GOMP_SPINCOUNT wins.
  if (!std::getenv("OMP_WAIT_POLICY") && !std::getenv("GOMP_SPINCOUNT")) {
    setenv("OMP_WAIT_POLICY", "passive", 1);
    reexec = true;
  }
  const char* best = best_core_for_cpu();
  if (openblas_get_corename && !std::getenv("OPENBLAS_CORETYPE") && best &&
      rank(openblas_get_corename()) < rank(best)) {
    setenv("OPENBLAS_CORETYPE", best, 1);
    reexec = true;
  }
  if (!reexec) return;
  setenv("ACTLENS_BLAS_REEXEC", "1", 1);
  execv("/proc/self/exe", argv);
  // execv failed (no /proc?): carry on with what we have.
}

}  // namespace actlens::cli
