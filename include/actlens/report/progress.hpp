#pragma once
// A one-line progress bar on stderr, drawn only when stderr is a terminal (and not --quiet), so
// logs and CI output stay clean.
#include <chrono>
#include <cstdint>
#include <string>

namespace actlens::report {

class Progress {
 public:
  Progress(std::string label, std::uint64_t total, bool enabled);
  ~Progress();
  void advance(std::uint64_t n = 1);
  void finish();

  // Global switch set by -q.
  static void set_quiet(bool quiet);

 private:
  void draw(bool final);
  std::string label_;
  std::uint64_t total_, done_ = 0;
  bool enabled_, finished_ = false;
  std::chrono::steady_clock::time_point t0_, last_;
};

}  // namespace actlens::report
