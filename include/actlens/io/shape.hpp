#pragma once
// An array shape as messages show it: "[2, 64]", "[]" for a scalar. Shared by every layer that
// names shapes in errors (io readers, model loaders, the CLI).
#include <cstdint>
#include <string>
#include <vector>

namespace actlens::io {

inline std::string shape_str(const std::vector<std::int64_t>& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

}  // namespace actlens::io
