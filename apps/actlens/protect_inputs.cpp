#include "protect_inputs.hpp"

#include <filesystem>

#include "actlens/report/output_dir.hpp"

namespace actlens::cli {

void protect_named_inputs(const std::vector<std::string>& args) {
  namespace fs = std::filesystem;
  bool command_seen = false;
  for (std::size_t i = 1; i < args.size(); ++i) {
    std::string value = args[i];
    if (value == "--out" || value == "-o") {
      ++i;  // the output itself
      continue;
    }
    if (value.rfind("--out=", 0) == 0) continue;
    if (value.rfind("--", 0) == 0) {
      const auto eq = value.find('=');
      if (eq == std::string::npos) continue;
      value = value.substr(eq + 1);
    } else if (!value.empty() && value[0] == '-') {
      continue;
    } else if (!command_seen) {
      command_seen = true;  // the subcommand's name, not a path
      continue;
    }
    std::error_code ec;
    if (!value.empty() && fs::exists(value, ec)) report::protect_input(value);
  }
}

}  // namespace actlens::cli
