#include "actlens/model/hooks.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <set>

#include "actlens/error.hpp"

namespace actlens::model {

void Hooks::add_reader(const std::string& name, Reader reader) {
  points_[name].readers.push_back(std::move(reader));
}

void Hooks::add_editor(const std::string& name, Editor editor) {
  points_[name].editors.push_back(std::move(editor));
}

bool Hooks::edits(const std::string& name) const {
  const auto it = points_.find(name);
  return it != points_.end() && !it->second.editors.empty();
}

std::vector<std::string> Hooks::names() const {
  std::vector<std::string> out;
  for (const auto& [name, point] : points_) out.push_back(name);
  std::sort(out.begin(), out.end());
  return out;
}

torch::Tensor Hooks::operator()(const std::string& name, torch::Tensor x) const {
  const auto it = points_.find(name);
  if (it == points_.end()) return x;
  for (const auto& edit : it->second.editors) {
    torch::Tensor y = edit(x);
    if (!y.sizes().equals(x.sizes()))
      throw Error("hook " + name + ": an editor changed the activation's shape");
    x = std::move(y);
  }
  for (const auto& read : it->second.readers) read(x);
  return x;
}

const std::vector<std::string>& block_hook_suffixes() {
  static const std::vector<std::string> s = {"hook_resid_pre", "attn.hook_pattern", "hook_attn_out",
                                             "hook_resid_mid", "mlp.hook_pre",      "mlp.hook_post",
                                             "hook_mlp_out",   "hook_resid_post"};
  return s;
}

std::vector<std::string> all_hook_names(int n_layers) {
  std::vector<std::string> names = {"hook_embed", "hook_pos_embed"};
  for (int l = 0; l < n_layers; ++l)
    for (const auto& s : block_hook_suffixes())
      names.push_back("blocks." + std::to_string(l) + "." + s);
  names.push_back("ln_final.hook_normalized");
  names.push_back("hook_final");
  return names;
}

int hook_layer(const std::string& name, int n_layers) {
  if (name.rfind("blocks.", 0) == 0) {
    const auto dot = name.find('.', 7);
    return std::stoi(name.substr(7, dot - 7));
  }
  if (name.rfind("ln_final.", 0) == 0 || name == "hook_final") return n_layers;
  return -1;
}

std::vector<std::string> resolve_hooks(const std::vector<std::string>& patterns, int n_layers,
                                       const std::vector<int>& layers) {
  const auto all = all_hook_names(n_layers);
  const std::set<int> keep_layers(layers.begin(), layers.end());
  std::set<std::string> chosen;
  for (const auto& raw : patterns) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (start <= raw.size()) {
      const auto comma = raw.find(',', start);
      const auto end = comma == std::string::npos ? raw.size() : comma;
      std::string p = raw.substr(start, end - start);
      p.erase(0, p.find_first_not_of(" \t"));
      p.erase(p.find_last_not_of(" \t") + 1);
      if (!p.empty()) parts.push_back(p);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    for (const auto& p : parts) {
      bool any = false;
      for (const auto& name : all) {
        if (::fnmatch(p.c_str(), name.c_str(), 0) != 0) continue;
        const int l = hook_layer(name, n_layers);
        if (!keep_layers.empty() && l >= 0 && l < n_layers && keep_layers.count(l) == 0) continue;
        chosen.insert(name);
        any = true;
      }
      if (!any) {
        std::string valid =
            "hook_embed, hook_pos_embed, blocks.{0.." + std::to_string(n_layers - 1) + "}.{";
        for (std::size_t i = 0; i < block_hook_suffixes().size(); ++i)
          valid += (i ? "," : "") + block_hook_suffixes()[i];
        valid += "}, ln_final.hook_normalized, hook_final";
        throw UsageError("--hooks: '" + p + "' matches no hook point" +
                         (keep_layers.empty() ? "" : " in the layers chosen by --layers") +
                         "; valid names: " + valid);
      }
    }
  }
  std::vector<std::string> out;
  for (const auto& name : all)
    if (chosen.count(name)) out.push_back(name);
  return out;
}

}  // namespace actlens::model
