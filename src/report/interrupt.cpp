#include "actlens/report/interrupt.hpp"

#include <pthread.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <thread>

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
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  // The handler must not run on a compute thread: it would borrow that thread's stack below the
  // stack pointer, where JIT-compiled kernels (oneDNN's GEMMs) may keep data (seen as heap
  // corruption after Ctrl-C during a GPT-2 forward pass). So the signals are blocked in this
  // thread, hence in every thread it starts later (OpenMP/LibTorch workers inherit the mask), and
  // a small watcher thread, the only one with them unblocked, takes them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set] {
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
    for (;;) ::pause();
  }).detach();
}

bool interrupted() {
  return g_signal != 0;
}

void check_interrupted() {
  if (g_signal) throw Interrupted();
}

void signal_test_point(const char* point) {
  const char* want = std::getenv("ACTLENS_TEST_SIGNAL");
  if (!want || !*want || g_signal) return;
  const std::size_t n = std::strlen(point);
  if (std::strncmp(want, point, n) != 0 || (want[n] != '\0' && want[n] != ':')) return;
  const int sig = std::strcmp(want + n, ":TERM") == 0 ? SIGTERM : SIGINT;
  ::kill(::getpid(), sig);  // process-directed: the watcher thread takes it
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!g_signal && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void signal_test_point(const std::string& point) {
  signal_test_point(point.c_str());
}

}  // namespace actlens::report
