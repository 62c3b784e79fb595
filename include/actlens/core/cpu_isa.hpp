#pragma once
// The widest SIMD family actlens' own kernels (DBSCAN's distance tiles, GPT-2's GELU) may use:
// what this CPU supports, lowered by $ACTLENS_CPU_ISA = avx512 | avx2 | scalar. The switch lets
// the test suite run the code paths of other CPUs on the developer's machine (scripts/test runs
// the reference tests a second time with ACTLENS_CPU_ISA=avx2 and BLAS/oneDNN/ATen forced down
// too), so that a tolerance tuned to one machine's rounding fails here, not on a user's machine.
namespace actlens::core {

enum class CpuIsa { Scalar = 0, Avx2 = 1, Avx512 = 2 };

// Decided once per process. An unknown $ACTLENS_CPU_ISA value is ignored (the CPU's best).
CpuIsa cpu_isa();
const char* to_string(CpuIsa isa);

}  // namespace actlens::core
