#pragma once
// Ctrl-C / SIGTERM during a long pass: the handler only sets a flag; long loops call
// check_interrupted() between chunks, which throws Interrupted, so the stack unwinds normally and
// staging folders are removed (no half-written results). main() maps it to exit code 130.
#include <stdexcept>
#include <string>

namespace actlens::report {

class Interrupted : public std::runtime_error {
 public:
  Interrupted() : std::runtime_error("interrupted; nothing was written") {}
  // For a command that keeps what it did before the signal (train): says so instead.
  explicit Interrupted(const std::string& what) : std::runtime_error(what) {}
};

void install_interrupt_handlers();
bool interrupted();
void check_interrupted();  // throws Interrupted once a signal has arrived

// Test hook: when $ACTLENS_TEST_SIGNAL is `POINT` (SIGINT) or `POINT:TERM` (SIGTERM), sends that
// signal to this process on reaching `point` (a run.json phase name, "write" or "commit") and
// waits until the handler has seen it, so that tests can interrupt each phase deterministically.
void signal_test_point(const char* point);
void signal_test_point(const std::string& point);

}  // namespace actlens::report
