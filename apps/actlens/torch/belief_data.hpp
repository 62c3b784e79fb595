#pragma once
// What `actlens beliefs` and `actlens steer --process` share: a HookedTransformer checkpoint,
// the process it was trained on, the mixed-state presentation, every input of length n_ctx with
// its per-position beliefs, and the model's activations on those inputs.
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "actlens/core/msp.hpp"
#include "actlens/core/process.hpp"
#include "actlens/model/hooked_transformer.hpp"

namespace actlens::cli {

struct BeliefData {
  model::HookedTransformer model;
  core::Process process;
  std::string process_source;  // the --process value, or "<model>/config.json"
  int depth = 0;
  core::MspTree tree;
  core::MspInputs inputs;  // every path of length n_ctx, in tree order
};

// `process` empty: the process recorded in the checkpoint's config.json (actlens.process, which
// `actlens train` writes). `depth` 0: n_ctx + 1 (the seed's 11 for n_ctx 10). Throws
// UsageError/Error naming the flag or file: no process known, a process whose symbol count is
// not the model's d_vocab, a depth below n_ctx or a tree too big.
BeliefData load_belief_data(const std::string& model_dir, const std::string& process, int depth,
                            const std::string& device, std::int64_t max_nodes = 5'000'000);

// The process as config.json's "actlens" block records it (definition included, so a checkpoint
// is self-contained).
nlohmann::json process_record(const core::Process& p, const std::string& source);

// tokens [n, T] as an int64 tensor.
torch::Tensor token_tensor(const core::SymbolMatrix& tokens);

// Runs the model on `tokens` in batches and returns each hook's activation, [n, T, d] float32 on
// the CPU, in the order of `hooks`. `edit` (optional) is installed on every hook as an editor
// before the readers see the activation.
std::vector<torch::Tensor> run_with_cache(const model::HookedTransformer& m,
                                          const torch::Tensor& tokens,
                                          const std::vector<std::string>& hooks,
                                          std::int64_t batch_size = 1024);

// A unique belief by name ("State T", "T", case-sensitive) or index; throws UsageError naming
// `flag` with the valid names/range.
int resolve_belief(const core::MspTree& tree, const std::string& spec, const std::string& flag);

}  // namespace actlens::cli
