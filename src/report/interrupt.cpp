#include "actlens/report/interrupt.hpp"

#include <csignal>

namespace actlens::report {
namespace {
volatile std::sig_atomic_t g_signal = 0;

extern "C" void on_signal(int sig) {
  if (g_signal) {  // a second Ctrl-C: stop at once, default action
    std::signal(sig, SIG_DFL);
    std::raise(sig);
  }
  g_signal = sig;
}
}  // namespace

void install_interrupt_handlers() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

bool interrupted() {
  return g_signal != 0;
}

void check_interrupted() {
  if (g_signal) throw Interrupted();
}

}  // namespace actlens::report
