#pragma once
// One exception type that crosses every layer up to the CLI. Its message is the single line the
// user sees: it names the file, key or flag at fault and says what to do about it.
#include <stdexcept>
#include <string>

namespace actlens {

// A data or runtime problem (bad file, NaN, layer out of range...): exit code 1.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A problem with how the command was called (conflicting or missing flags): exit code 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace actlens
