#include "belief_data.hpp"

#include <filesystem>
#include <fstream>

#include "actlens/core/error.hpp"
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
    std::ifstream in(cfg_path);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
      throw Error(cfg_path.string() + ": not valid JSON (" + e.what() + ")");
    }
    if (!j.contains("actlens") || !j["actlens"].contains("process"))
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
  const auto& names = tree.unique_names;
  for (std::size_t k = 0; k < names.size(); ++k)
    if (names[k] == spec || names[k] == "State " + spec) return static_cast<int>(k);
  if (!spec.empty() && spec.find_first_not_of("0123456789") == std::string::npos) {
    const long k = std::stol(spec);
    if (k < static_cast<long>(names.size())) return static_cast<int>(k);
    throw UsageError(flag + " " + spec + ": belief index out of range; the MSP has " +
                     std::to_string(names.size()) + " unique beliefs (0.." +
                     std::to_string(names.size() - 1) + ")");
  }
  std::string pure;
  for (const auto& nm : names)
    if (nm.rfind("State ", 0) == 0) pure += (pure.empty() ? "" : ", ") + nm;
  throw UsageError(flag + " '" + spec + "': no such belief; give an index 0.." +
                   std::to_string(names.size() - 1) + " or a name (" + pure + ")");
}

}  // namespace actlens::cli
