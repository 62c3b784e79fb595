// actlens-torch: the model commands for real, and LibTorch's errors in one line.
#include "model_commands.hpp"

#include <c10/util/Exception.h>

#include "command.hpp"
#include "torch_commands.hpp"

namespace actlens::cli {

void dispatch_model_command(int, char**) {}

std::vector<Runner (*)(CLI::App&)> model_commands() {
  set_thread_hook(set_torch_threads);  // --threads also sets LibTorch's intra-op threads
  return {register_capture, register_train, register_beliefs, register_steer};
}

std::string model_error_message(const std::exception& e) {
  if (const auto* c10 = dynamic_cast<const c10::Error*>(&e))
    return std::string("LibTorch: ") + c10->what_without_backtrace();
  return {};
}

}  // namespace actlens::cli
