#include "cli_common.hpp"

#include <omp.h>

#include <algorithm>
#include <sstream>

#include <nlohmann/json.hpp>

#include "actlens/core/error.hpp"

extern "C" void openblas_set_num_threads(int) __attribute__((weak));

namespace actlens::cli {
namespace {

std::vector<std::string> g_argv;

// CLI11 reads TOML natively; JSON objects are flattened into the same items.
class ConfigAuto : public CLI::ConfigTOML {
 public:
  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
    std::stringstream ss;
    ss << input.rdbuf();
    const std::string text = ss.str();
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos || text[first] != '{') {
      std::istringstream again(text);
      return CLI::ConfigTOML::from_config(again);
    }
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      throw CLI::ConversionError("--config: invalid JSON (" + std::string(e.what()) + ")");
    }
    std::vector<CLI::ConfigItem> result;
    for (auto it = j.begin(); it != j.end(); ++it) {
      CLI::ConfigItem item;
      item.name = it.key();
      auto add = [&](const nlohmann::json& v) {
        item.inputs.push_back(v.is_string() ? v.get<std::string>() : v.dump());
      };
      if (it->is_array()) {
        for (const auto& v : *it) add(v);
      } else {
        add(*it);
      }
      result.push_back(std::move(item));
    }
    return result;
  }
};

}  // namespace

void add_config_option(CLI::App& sub) {
  sub.config_formatter(std::make_shared<ConfigAuto>());
  sub.set_config("--config", "", "Read options from a TOML or JSON file (keys = long flag names)");
}

const std::vector<std::string>& command_line() { return g_argv; }

void set_command_line(int argc, char** argv) { g_argv.assign(argv, argv + argc); }

std::vector<int> parse_int_list(const std::string& spec, const std::string& flag) {
  std::vector<int> out;
  std::stringstream ss(spec);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (item.empty()) continue;
    std::size_t used = 0;
    int v = 0;
    try {
      v = std::stoi(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size()) throw UsageError(flag + ": '" + item + "' is not an integer");
    out.push_back(v);
  }
  if (out.empty()) throw UsageError(flag + ": expected a comma-separated list of integers");
  return out;
}

std::vector<int> parse_layers(const std::string& spec, int n_layers, const std::string& flag) {
  std::vector<int> layers;
  const std::string range = "valid layers are 0.." + std::to_string(n_layers - 1);
  if (spec == "all") {
    for (int l = 0; l < n_layers; ++l) layers.push_back(l);
    return layers;
  }
  std::stringstream ss(spec);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const auto dash = item.find('-', 1);
    if (dash != std::string::npos) {
      auto lo = parse_int_list(item.substr(0, dash), flag);
      auto hi = parse_int_list(item.substr(dash + 1), flag);
      if (lo.size() != 1 || hi.size() != 1 || lo[0] > hi[0])
        throw UsageError(flag + ": bad range '" + item + "'");
      for (int l = lo[0]; l <= hi[0]; ++l) layers.push_back(l);
    } else {
      auto v = parse_int_list(item, flag);
      layers.insert(layers.end(), v.begin(), v.end());
    }
  }
  if (layers.empty()) throw UsageError(flag + ": no layers given");
  for (int l : layers)
    if (l < 0 || l >= n_layers)
      throw Error(flag + " " + std::to_string(l) + ": layer out of range; " + range);
  std::sort(layers.begin(), layers.end());
  layers.erase(std::unique(layers.begin(), layers.end()), layers.end());
  return layers;
}

void set_threads(int n) {
  if (n <= 0) return;
  omp_set_num_threads(n);
  if (openblas_set_num_threads) openblas_set_num_threads(n);
}

}  // namespace actlens::cli
