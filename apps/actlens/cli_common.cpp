#include "cli_common.hpp"

#include <omp.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>

#include <spdlog/spdlog.h>
#include <toml++/toml.h>
#include <nlohmann/json.hpp>

#include "actlens/error.hpp"
#include "actlens/io/json_file.hpp"
#include "actlens/io/parse_number.hpp"
#include "actlens/report/figure_sets.hpp"
#include "actlens/report/interrupt.hpp"
#include "actlens/report/run_info.hpp"

extern "C" void openblas_set_num_threads(int) __attribute__((weak));

namespace actlens::cli {
namespace {

std::vector<std::string> g_argv;
// What the last expand_config() read: the file and its keys with their flags.
std::string g_config_file;
std::vector<std::pair<std::string, std::string>> g_config_flags;

}  // namespace

void add_config_option(CLI::App& sub) {
  // Only declared here so that --help lists it; expand_config() has replaced it by then.
  sub.add_option("--config",
                 "Read options from a TOML or JSON file (keys = long flag names; "
                 "flags on the command line win)");
}

namespace {

// key -> values as command-line words; booleans become "true"/"false".
std::vector<std::pair<std::string, std::vector<std::string>>> read_config(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw UsageError("--config " + path + ": is a folder, give a TOML or JSON file");
  // A config is a few lines: anything over 16 MiB, a FIFO or a device is the wrong path.
  std::string text;
  try {
    text = io::read_text_file(path, "a TOML or JSON config file", std::uint64_t{16} << 20);
  } catch (const Error& e) {
    throw UsageError(std::string("--config ") + e.what());
  }
  std::vector<std::pair<std::string, std::vector<std::string>>> items;
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '{') {
    nlohmann::json j;
    try {
      j = io::parse_json_text(text, path);
    } catch (const Error& e) {
      throw UsageError(std::string("--config ") + e.what());
    }
    for (auto it = j.begin(); it != j.end(); ++it) {
      std::vector<std::string> vals;
      auto add = [&](const nlohmann::json& v) {
        if (v.is_object())
          throw UsageError("--config " + path + ": key '" + it.key() + "' holds an object");
        vals.push_back(v.is_string() ? v.get<std::string>() : v.dump());
      };
      if (it->is_array())
        for (const auto& v : *it) add(v);
      else
        add(*it);
      items.emplace_back(it.key(), vals);
    }
    return items;
  }
  toml::table tbl;
  try {
    io::check_nesting_depth(text, path, /*toml=*/true);
  } catch (const Error& e) {
    throw UsageError(std::string("--config ") + e.what());
  }
  try {
    tbl = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    throw UsageError("--config " + path + ": invalid TOML (" + std::string(e.description()) +
                     " at line " + std::to_string(e.source().begin.line) + ")");
  }
  for (auto&& [key, node] : tbl) {
    std::vector<std::string> vals;
    const std::string name(key.str());  // clang < 16 cannot capture structured bindings
    auto add = [&](const toml::node& v) {
      if (auto s = v.value<std::string>(); s && v.is_string())
        vals.push_back(*s);
      else if (v.is_boolean())
        vals.push_back(*v.value<bool>() ? "true" : "false");
      else if (v.is_integer())
        vals.push_back(std::to_string(*v.value<std::int64_t>()));
      else if (v.is_floating_point())
        vals.push_back(std::to_string(*v.value<double>()));
      else
        throw UsageError("--config " + path + ": key '" + name +
                         "' must be a string, number, boolean or array of them");
    };
    if (auto* arr = node.as_array())
      for (auto& v : *arr) add(v);
    else
      add(node);
    items.emplace_back(std::string(key.str()), vals);
  }
  return items;
}

}  // namespace

std::vector<std::string> expand_config(const std::vector<std::string>& args) {
  // args[0] is the program; --config applies to the options of the subcommand before it.
  std::vector<std::string> out;
  std::string config;
  std::size_t config_at = 0;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--config" && i + 1 < args.size()) {
      config = args[i + 1];
      config_at = out.size();
      ++i;
      continue;
    }
    if (args[i].rfind("--config=", 0) == 0) {
      config = args[i].substr(9);
      config_at = out.size();
      continue;
    }
    out.push_back(args[i]);
  }
  if (config.empty()) return out;
  g_config_file = config;
  g_config_flags.clear();
  std::vector<std::string> extra;
  for (const auto& [key, vals] : read_config(config)) {
    const std::string flag = (key.size() == 1 ? "-" : "--") + key;
    g_config_flags.emplace_back(key, flag);
    bool given = false;  // the command line wins
    for (const auto& a : out)
      if (a == flag || a.rfind(flag + "=", 0) == 0) given = true;
    if (given) continue;
    if (vals.size() == 1 && (vals[0] == "true" || vals[0] == "false")) {
      if (vals[0] == "true") extra.push_back(flag);
      continue;
    }
    for (const auto& v : vals) {
      extra.push_back(flag);
      extra.push_back(v);
    }
  }
  out.insert(out.begin() + static_cast<long>(config_at), extra.begin(), extra.end());
  return out;
}

void check_config_keys(const CLI::App& sub) {
  for (const auto& [key, flag] : g_config_flags)
    if (sub.get_option_no_throw(flag) == nullptr)
      throw UsageError("--config " + g_config_file + ": key '" + key +
                       "' is not an option of `actlens " + sub.get_name() +
                       "` (keys are its long flag names without dashes; see actlens " +
                       sub.get_name() + " --help)");
}

const std::vector<std::string>& command_line() {
  return g_argv;
}

void set_command_line(int argc, char** argv) {
  g_argv.assign(argv, argv + argc);
}

std::vector<int> parse_int_list(const std::string& spec, const std::string& flag) {
  std::vector<int> out;
  std::stringstream ss(spec);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (item.empty()) continue;
    const std::optional<long> v = io::parse_long(item);
    if (!v || *v < std::numeric_limits<int>::min() || *v > std::numeric_limits<int>::max())
      throw UsageError(flag + ": '" + item + "' is not an integer");
    out.push_back(static_cast<int>(*v));
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

void add_plotly_options(CLI::App& sub, FigureFlags& f) {
  sub.add_option("--plotly", f.plotly,
                 "Where the figure pages load plotly.js from: inline (embedded in each page, "
                 "~4.8 MB, works offline), file (one figures/plotly.min.js beside the pages, "
                 "offline; keep the folder together), cdn (small pages, needs the network) or "
                 "auto (inline up to 12 pages, else file). Default: $ACTLENS_PLOTLY, else auto")
      ->check(CLI::IsMember({"auto", "inline", "cdn", "file"}));
  sub.add_flag("--png", f.png,
               "Also render every figure to figures/NAME.png with headless Chromium (Debian "
               "package 'chromium', or ACTLENS_CHROMIUM=/path/to/chrome)");
}

void add_figure_options(CLI::App& sub, FigureFlags& f) {
  sub.add_flag("--no-figures", f.none,
               "Do not draw the figures (by default every analysis writes figures/*.html and "
               "index.html; `actlens report OUT` draws them later)");
  add_plotly_options(sub, f);
}

report::FigureOptions figure_options(const FigureFlags& f) {
  report::FigureOptions o;
  if (!f.plotly.empty()) {
    o.plotly = report::parse_plotly_source(f.plotly);
  } else if (const char* env = std::getenv("ACTLENS_PLOTLY"); env && *env) {
    try {
      o.plotly = report::parse_plotly_source(env, "ACTLENS_PLOTLY");
    } catch (const UsageError& e) {  // found only after the analysis ran: keep its results
      spdlog::warn("{}; using auto", e.what());
    }
  }
  o.png = f.png;
  return o;
}

void draw_figures(const std::string& command, const std::filesystem::path& dir,
                  const std::filesystem::path& target, const FigureFlags& f,
                  report::RunInfo& info) {
  if (f.none) {
    info.section("figures") = {{"drawn", false}};
    return;
  }
  const report::FigureOptions o = figure_options(f);
  info.start("figures");
  // A figure that cannot be drawn must not cost the results: warn and keep them.
  try {
    info.section("figures") = report::draw_run_figures(command, dir, target.filename().string(), o);
    spdlog::info("figures: {} pages, open {}", info.section("figures").value("count", 0),
                 (target / "index.html").string());
  } catch (const report::Interrupted&) {
    throw;
  } catch (const std::exception& e) {
    spdlog::warn("figures not drawn ({}); the results are kept, `actlens report {}` retries",
                 e.what(), target.string());
    info.section("figures") = {{"drawn", false}, {"error", e.what()}};
  }
  info.stop("figures");
}

CLI::Validator int_range(long long lo, long long hi, const std::string& why) {
  return CLI::Validator(
      [lo, hi, why](std::string& s) -> std::string {
        long long v = 0;
        const char* end = s.data() + s.size();
        const auto [p, ec] = std::from_chars(s.data(), end, v);
        if (ec == std::errc() && p == end && v >= lo && v <= hi) return {};
        std::string shown = s.size() > 40 ? s.substr(0, 40) + "..." : s;
        return "must be an integer " + std::to_string(lo) + ".." + std::to_string(hi) +
               (why.empty() ? "" : " (" + why + ")") + ", got '" + shown + "'";
      },
      "INT in " + std::to_string(lo) + ".." + std::to_string(hi));
}

CLI::Validator one_of(const std::vector<std::string>& words) {
  std::string list;
  for (std::size_t i = 0; i < words.size(); ++i)
    list += (i == 0 ? "'" : i + 1 == words.size() ? " or '" : ", '") + words[i] + "'";
  std::string names;
  for (const auto& w : words) names += (names.empty() ? "" : "|") + w;
  return CLI::Validator(
      [words, list](std::string& s) -> std::string {
        if (std::find(words.begin(), words.end(), s) != words.end()) return {};
        std::string shown = s.size() > 40 ? s.substr(0, 40) + "..." : s;
        return "use " + list + ", got '" + shown + "'";
      },
      names);
}

CLI::Validator number_range(double lo, double hi, const std::string& why) {
  return CLI::Validator(
      [lo, hi, why](std::string& s) -> std::string {
        const std::optional<double> v = io::parse_double(s);
        if (v && std::isfinite(*v) && *v >= lo && *v <= hi) return {};
        std::ostringstream msg;
        msg << "must be a number in " << lo << ".." << hi << (why.empty() ? "" : " (" + why + ")")
            << ", got '" << (s.size() > 40 ? s.substr(0, 40) + "..." : s) << "'";
        return msg.str();
      },
      "NUMBER");
}

CLI::Option* add_threads_option(CLI::App& sub, int& threads, const std::string& help) {
  return sub
      .add_option("--threads", threads,
                  help + "; at most " + std::to_string(kMaxThreads) + ", larger values are refused")
      ->check(int_range(0, kMaxThreads, "0 = all cores"));
}

void set_threads(int n) {
  if (n <= 0) return;
  omp_set_num_threads(n);
  if (openblas_set_num_threads) openblas_set_num_threads(n);
}

}  // namespace actlens::cli
