#pragma once
// Fast NaN/Inf scans over activation buffers (every input row is checked before it is used).
#include <cstddef>

namespace actlens::core {

// True when none of the n floats is NaN or +-Inf. Parallel, branch-free over the exponent bits.
bool all_finite(const float* data, std::size_t n);
// The same for doubles (Eigen's allFinite() is a serial x - x == x - x loop, ~10x slower).
bool all_finite(const double* data, std::size_t n);

}  // namespace actlens::core
