#include "actlens/core/finite.hpp"

#include <cstdint>
#include <cstring>

namespace actlens::core {

bool all_finite(const float* data, std::size_t n) {
  // A float is NaN or Inf exactly when its exponent bits are all ones.
  constexpr std::uint32_t kExp = 0x7f800000u;
  unsigned bad = 0;
#pragma omp parallel for reduction(| : bad) schedule(static) if (n > (1u << 16))
  for (std::size_t i = 0; i < n; ++i) {
    std::uint32_t bits;
    std::memcpy(&bits, data + i, sizeof bits);
    bad |= static_cast<unsigned>((bits & kExp) == kExp);
  }
  return bad == 0;
}

bool all_finite(const double* data, std::size_t n) {
  constexpr std::uint64_t kExp = 0x7ff0000000000000ull;
  unsigned bad = 0;
  for (std::size_t i = 0; i < n; ++i) {
    std::uint64_t bits;
    std::memcpy(&bits, data + i, sizeof bits);
    bad |= static_cast<unsigned>((bits & kExp) == kExp);
  }
  return bad == 0;
}

}  // namespace actlens::core
