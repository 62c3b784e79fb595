#pragma once
// The process a command works on: a built-in name (rrxor, mess3, ...) or a process JSON file,
// with core's parameter errors turned into errors that name the command-line flag.
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "actlens/core/process.hpp"

namespace actlens::cli {

// `spec` is a built-in name, or a path to a process JSON file (anything ending in .json or that
// exists as a file). Throws UsageError naming `flag` for an unknown name, Error naming the file
// for a bad file.
core::Process resolve_process(const std::string& spec, const core::BuiltinParams& params,
                              const std::string& flag = "--process");

// Rethrows a core std::invalid_argument "param: ..." as a UsageError naming the flag that sets
// `param` (pairs of {"param:", "--flag"}); other messages become actlens::Error.
[[noreturn]] void rethrow_as_flag(const std::invalid_argument& e,
                                  const std::vector<std::pair<std::string, std::string>>& flags);

}  // namespace actlens::cli
