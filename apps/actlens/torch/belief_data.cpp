#include "belief_data.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "actlens/error.hpp"
#include "actlens/io/json_file.hpp"
#include "actlens/io/process_json.hpp"
#include "actlens/model/gpt2.hpp"
#include "process_input.hpp"

namespace actlens::cli {
namespace fs = std::filesystem;

nlohmann::json process_record(const core::Process& p, const std::string& source) {
  return {{"source", source}, {"definition", io::process_to_json(p)}};
}

BeliefData load_belief_data(const std::string& model_dir, const std::string& process, int depth,
                            const std::string& device, std::int64_t max_nodes) {
  BeliefData d{
      model::HookedTransformer::load(model_dir, model::parse_device(device)), {}, {}, 0, {}, {}};
  const auto& cfg = d.model.config();
  if (!process.empty()) {
    d.process = resolve_process(process, {});
    d.process_source = process;
  } else {
    // The process `actlens train` recorded next to the weights.
    const fs::path cfg_path = fs::path(model_dir) / "config.json";
    const nlohmann::json j = io::read_json_file(cfg_path, "a config.json file");
    if (!j.is_object() || !j.contains("actlens") || !j["actlens"].is_object() ||
        !j["actlens"].contains("process") || !j["actlens"]["process"].is_object() ||
        !j["actlens"]["process"].contains("definition"))
      throw UsageError("--process: " + cfg_path.string() +
                       " records no process (not written by `actlens train`); name it with "
                       "--process rrxor or --process FILE.json");
    d.process = io::process_from_json(j["actlens"]["process"]["definition"],
                                      cfg_path.string() + " (actlens.process.definition)");
    d.process_source = cfg_path.string();
  }
  if (d.process.n_symbols() != cfg.d_vocab)
    throw Error("--process " + d.process_source + ": " + std::to_string(d.process.n_symbols()) +
                " symbols, but the model's d_vocab is " + std::to_string(cfg.d_vocab) +
                "; use the process the model was trained on");
  const int n_ctx = static_cast<int>(cfg.n_ctx);
  d.depth = depth > 0 ? depth : n_ctx + 1;
  if (d.depth < n_ctx)
    throw UsageError("--depth " + std::to_string(d.depth) + ": must be >= the model's n_ctx (" +
                     std::to_string(n_ctx) + ")");
  try {
    d.tree = core::build_msp(d.process, {d.depth, max_nodes});
  } catch (const std::invalid_argument& e) {
    rethrow_as_flag(e, {{"depth:", "--depth"}});
  }
  d.inputs = core::msp_inputs(d.tree, n_ctx);
  return d;
}

torch::Tensor token_tensor(const core::SymbolMatrix& tokens) {
  return torch::from_blob(const_cast<std::int64_t*>(tokens.data()), {tokens.rows(), tokens.cols()},
                          torch::kInt64)
      .clone();
}

std::vector<torch::Tensor> run_with_cache(const model::HookedTransformer& m,
                                          const torch::Tensor& tokens,
                                          const std::vector<std::string>& hooks,
                                          std::int64_t batch_size) {
  const std::int64_t n = tokens.size(0);
  std::vector<std::vector<torch::Tensor>> parts(hooks.size());
  torch::InferenceMode guard;
  for (std::int64_t s = 0; s < n; s += batch_size) {
    model::Hooks h;
    for (std::size_t k = 0; k < hooks.size(); ++k)
      h.add_reader(hooks[k], [&parts, k](const torch::Tensor& x) {
        parts[k].push_back(x.to(torch::kCPU, torch::kFloat32));
      });
    m.forward(tokens.slice(0, s, std::min(n, s + batch_size)).to(m.device()), h);
  }
  std::vector<torch::Tensor> out;
  for (auto& p : parts) out.push_back(torch::cat(p, 0));
  return out;
}

int resolve_belief(const core::MspTree& tree, const std::string& spec, const std::string& flag) {
  // Two spellings that never collide: a name ("State T", or just "T" for "State T") and an index
  // written "#N". A bare number is accepted when it reads only one way (RRXOR has states named
  // 0 and 1 AND beliefs numbered 0 and 1: then the user must say which).
  const auto& names = tree.unique_names;
  const std::string range = "0.." + std::to_string(names.size() - 1);
  auto by_index = [&](const std::string& digits) -> int {
    if (digits.empty() || digits.size() > 9 ||
        digits.find_first_not_of("0123456789") != std::string::npos)
      throw UsageError(flag + " '" + spec + "': write a belief index as #N with N in " + range);
    const long k = std::stol(digits);
    if (k >= static_cast<long>(names.size()))
      throw UsageError(flag + " " + spec + ": belief index out of range; the MSP has " +
                       std::to_string(names.size()) + " unique beliefs (" + range + ")");
    return static_cast<int>(k);
  };
  if (!spec.empty() && spec[0] == '#') return by_index(spec.substr(1));
  int named = -1;
  for (std::size_t k = 0; k < names.size() && named < 0; ++k)
    if (names[k] == spec || names[k] == "State " + spec) named = static_cast<int>(k);
  const bool numeric = !spec.empty() && spec.size() <= 9 &&
                       spec.find_first_not_of("0123456789") == std::string::npos;
  if (named >= 0 && numeric && std::stol(spec) < static_cast<long>(names.size()) &&
      std::stol(spec) != named)
    throw UsageError(flag + " " + spec + ": ambiguous: the belief named '" +
                     names[static_cast<std::size_t>(named)] + "' or belief index " + spec + " ('" +
                     names[static_cast<std::size_t>(std::stol(spec))] + "'); write " + flag + " '" +
                     names[static_cast<std::size_t>(named)] + "' or " + flag + " '#" + spec + "'");
  if (named >= 0) {
    spdlog::info("{} {}: the belief named '{}' (index {})", flag, spec,
                 names[static_cast<std::size_t>(named)], named);
    return named;
  }
  if (numeric) {
    const int k = by_index(spec);
    spdlog::info("{} {}: belief index {} ('{}')", flag, spec, k,
                 names[static_cast<std::size_t>(k)]);
    return k;
  }
  std::string pure;
  for (const auto& nm : names)
    if (nm.rfind("State ", 0) == 0) pure += (pure.empty() ? "" : ", ") + nm;
  throw UsageError(flag + " '" + spec + "': no such belief; give a name (" + pure +
                   ") or an index #N with N in " + range);
}

}  // namespace actlens::cli
