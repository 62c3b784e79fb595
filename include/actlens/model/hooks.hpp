#pragma once
// Hook points: named places in a forward pass where callers read an activation (capture,
// regression) or replace it (steering adds a vector). Names follow TransformerLens
// ("blocks.3.hook_resid_post"), so a hook list written for a Python notebook works here.
// One mechanism for every model actlens runs (GPT-2 now, the belief-geometry transformer later).
//
// A model calls `x = hooks(name, x)` at each hook point it offers, but only after checking
// active(name), so an unused hook costs one hash lookup and no copy.
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include <torch/torch.h>

namespace actlens::model {

class Hooks {
 public:
  // Sees the activation (on the model's device and dtype); must not modify it in place.
  using Reader = std::function<void(const torch::Tensor& activation)>;
  // Returns the activation to continue with (same shape), e.g. x + alpha * v.
  using Editor = std::function<torch::Tensor(const torch::Tensor& activation)>;

  void add_reader(const std::string& name, Reader reader);
  void add_editor(const std::string& name, Editor editor);
  bool active(const std::string& name) const { return points_.count(name) != 0; }
  // True when `name` has an editor (a model may then need its slower, general path there).
  bool edits(const std::string& name) const;
  bool empty() const { return points_.empty(); }
  // Names with at least one reader or editor.
  std::vector<std::string> names() const;

  // Applies the editors of `name` in the order they were added, then shows the result to the
  // readers, and returns it.
  torch::Tensor operator()(const std::string& name, torch::Tensor x) const;

 private:
  struct Point {
    std::vector<Editor> editors;
    std::vector<Reader> readers;
  };
  std::unordered_map<std::string, Point> points_;
};

// ---- hook names of a stack of transformer blocks (TransformerLens naming) ----

// Per-block hook names, in forward order: hook_resid_pre, attn.hook_pattern, hook_attn_out,
// hook_resid_mid, mlp.hook_pre, mlp.hook_post, hook_mlp_out, hook_resid_post.
const std::vector<std::string>& block_hook_suffixes();

// Every hook name of a model with `n_layers` blocks, in forward order: hook_embed,
// hook_pos_embed, blocks.{L}.<suffix> for each block, ln_final.hook_normalized, hook_final.
std::vector<std::string> all_hook_names(int n_layers);

// The block index of "blocks.L.*", -1 for hooks before the first block, n_layers for
// ln_final.* / hook_final.
int hook_layer(const std::string& name, int n_layers);

// Expands patterns ("blocks.*.hook_resid_post", "hook_final", a comma-separated list of either)
// against all_hook_names(n_layers); `*` and `?` are globs ('*' also crosses dots). When `layers`
// is non-empty, block hooks outside it are dropped (explicitly named ones included). The result is
// in forward order without duplicates. Throws actlens::UsageError naming the pattern that matches
// nothing (after the layer filter), listing the valid names.
std::vector<std::string> resolve_hooks(const std::vector<std::string>& patterns, int n_layers,
                                       const std::vector<int>& layers);

}  // namespace actlens::model
