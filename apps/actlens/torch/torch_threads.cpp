#include <ATen/Parallel.h>

#include <thread>

#include "torch_commands.hpp"

namespace actlens::cli {

void set_torch_threads(int n) {
  const int all = static_cast<int>(std::thread::hardware_concurrency());
  at::set_num_threads(n > 0 ? n : (all > 0 ? all : 1));
}

}  // namespace actlens::cli
