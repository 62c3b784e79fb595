#include "process_input.hpp"

#include <filesystem>

#include "actlens/error.hpp"
#include "actlens/io/process_json.hpp"

namespace actlens::cli {

void rethrow_as_flag(const std::invalid_argument& e,
                     const std::vector<std::pair<std::string, std::string>>& flags) {
  const std::string m = e.what();
  for (const auto& [param, flag] : flags)
    if (m.rfind(param, 0) == 0) throw UsageError(flag + m.substr(param.size() - 1));
  throw Error(m);
}

core::Process resolve_process(const std::string& spec, const core::BuiltinParams& params,
                              const std::string& flag) {
  const bool is_file = (spec.size() > 5 && spec.compare(spec.size() - 5, 5, ".json") == 0) ||
                       std::filesystem::is_regular_file(spec);
  if (is_file) return io::read_process_json(spec);
  try {
    return core::builtin_process(spec, params);
  } catch (const std::invalid_argument& e) {
    rethrow_as_flag(e, {{"process:", flag}, {"x:", "--x"}, {"alpha:", "--alpha"}, {"p:", "--p"}});
  }
}

}  // namespace actlens::cli
