#include "actlens/report/progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace actlens::report {
namespace {
bool g_quiet = false;
}

void Progress::set_quiet(bool quiet) {
  g_quiet = quiet;
}

Progress::Progress(std::string label, std::uint64_t total, bool enabled)
    : label_(std::move(label)),
      total_(total),
      enabled_(enabled && !g_quiet && ::isatty(STDERR_FILENO)),
      t0_(std::chrono::steady_clock::now()),
      last_(t0_) {}

Progress::~Progress() {
  finish();
}

void Progress::advance(std::uint64_t n) {
  done_ += n;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_ > std::chrono::milliseconds(100) || done_ >= total_) {
    last_ = now;
    draw(false);
  }
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  draw(true);
}

void Progress::draw(bool final) {
  if (!enabled_) return;
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  const double frac = total_ ? static_cast<double>(done_) / static_cast<double>(total_) : 1.0;
  const int width = 30;
  const int filled = static_cast<int>(frac * width);
  const double eta = frac > 0 ? secs * (1 - frac) / frac : 0;
  const double rate = secs > 0 ? static_cast<double>(done_) / secs : 0;
  std::fprintf(stderr, "\r%s [%.*s%*s] %llu/%llu  %.1f/s  %.1fs  eta %.0fs ", label_.c_str(),
               filled, "##############################", width - filled, "",
               static_cast<unsigned long long>(done_), static_cast<unsigned long long>(total_),
               rate, secs, eta);
  if (final) std::fputc('\n', stderr);
  std::fflush(stderr);
}

}  // namespace actlens::report
