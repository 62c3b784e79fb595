#pragma once
// OpenBLAS picks its kernels once, when the library loads, from the CPU model. Debian's 0.3.21
// does not know recent Xeons (e.g. family 6 model 207) and falls back to generic "Prescott"
// kernels, several times slower. ensure_blas_kernels() checks the choice at start-up and, if a
// better kernel set fits the CPU's features, re-executes the program once with
// OPENBLAS_CORETYPE set. A user's own OPENBLAS_CORETYPE is always respected. The same re-exec
// sets OMP_WAIT_POLICY=passive unless the user chose a policy (see blas_setup.cpp).
namespace actlens::cli {

void ensure_blas_kernels(char** argv);
// The kernel set OpenBLAS uses ("SkylakeX", "Haswell"...), or "" if unknown; for run.json.
const char* blas_core_name();

}  // namespace actlens::cli
