#include "command.hpp"

#include <algorithm>
#include <charconv>

#include <spdlog/spdlog.h>

#include "actlens/error.hpp"
#include "actlens/io/parse_number.hpp"

namespace actlens::cli {
namespace {

void (*g_thread_hook)(int) = nullptr;

// One option value as JSON, typed by the option's declared type (INT, FLOAT, ...).
nlohmann::json typed(const CLI::Option& opt, const std::string& s) {
  const std::string type = opt.get_type_name();
  if (type.rfind("INT", 0) == 0 || type.rfind("UINT", 0) == 0) {
    long long v = 0;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && p == s.data() + s.size()) return v;
  } else if (type.rfind("FLOAT", 0) == 0) {
    if (const std::optional<double> v = io::parse_double(s)) return *v;
  }
  return s;
}

bool is_flag(const CLI::Option& opt) {
  return opt.get_expected_max() == 0;
}

bool is_list(const CLI::Option& opt) {
  return opt.get_items_expected_max() > 1 || opt.get_expected_max() > 1;
}

bool flag_value(const std::string& s) {
  return !(s == "false" || s == "0" || s == "-1");
}

// "[1,2]" or "1,2" (CLI11's default string of a vector) -> items
std::vector<std::string> split_default(std::string s) {
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  std::vector<std::string> out;
  std::size_t at = 0;
  while (!s.empty() && at <= s.size()) {
    const auto comma = s.find(',', at);
    out.push_back(s.substr(at, comma == std::string::npos ? std::string::npos : comma - at));
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  return out;
}

std::string json_key(const CLI::Option& opt) {
  std::string name = opt.get_single_name();
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

}  // namespace

nlohmann::json parsed_options(const CLI::App& app) {
  nlohmann::json out = nlohmann::json::object();
  for (const CLI::Option* cref : app.get_options()) {
    auto* opt = const_cast<CLI::Option*>(cref);  // capture_default_str() only reads the variable
    const std::string key = json_key(*opt);
    if (key == "help" || key == "config") continue;
    if (is_flag(*opt)) {
      out[key] =
          opt->count() > 0 && flag_value(opt->results().empty() ? "" : opt->results().back());
      continue;
    }
    std::vector<std::string> values;
    if (opt->count() > 0) {
      values = opt->results();
    } else {
      // Not given: the bound variable still holds its default, whatever the help text shows.
      opt->capture_default_str();
      const std::string d = opt->get_default_str();
      if (is_list(*opt))
        values = split_default(d);
      else if (!d.empty() || opt->get_type_name().rfind("TEXT", 0) == 0)
        values = {d};
    }
    if (is_list(*opt)) {
      nlohmann::json arr = nlohmann::json::array();
      for (const auto& v : values) arr.push_back(typed(*opt, v));
      out[key] = arr;
    } else {
      out[key] = values.empty() ? nlohmann::json() : typed(*opt, values.back());
    }
  }
  return out;
}

void set_thread_hook(void (*hook)(int)) {
  g_thread_hook = hook;
}

std::shared_ptr<Command> Command::add(CLI::App& parent, CommandSpec spec) {
  CLI::App* sub = parent.add_subcommand(spec.name, spec.description);
  std::shared_ptr<Command> cmd(new Command(sub, std::move(spec)));
  const CommandSpec& s = cmd->spec_;
  if (s.threads)
    add_threads_option(*sub, cmd->threads_, "Threads for OpenMP, BLAS and LibTorch (0 = all cores)")
        ->capture_default_str();
  if (!s.out_default.empty()) {
    cmd->out_ = s.out_default;
    sub->add_option("-o,--out", cmd->out_, s.out_help)->capture_default_str();
  }
  if (s.figures) add_figure_options(*sub, cmd->figures_);
  add_config_option(*sub);
  return cmd;
}

std::string Command::label() const {
  std::string name = app_->get_name();
  for (const CLI::App* p = app_->get_parent(); p != nullptr && p->get_parent() != nullptr;
       p = p->get_parent())
    name = p->get_name() + " " + name;
  return name;
}

report::RunInfo& Command::start(const std::string& label) {
  if (spec_.threads) {
    set_threads(threads_);
    if (g_thread_hook) g_thread_hook(threads_);
  }
  info_.emplace(label.empty() ? this->label() : label, command_line(), ACTLENS_VERSION);
  return *info_;
}

report::RunInfo& Command::info() {
  if (!info_) start();
  return *info_;
}

report::OutputDir& Command::output() {
  // The marker names the top-level command ("process" for `process beliefs`).
  if (!output_) output_.emplace(out_, label().substr(0, label().find(' ')));
  return *output_;
}

void Command::record_options() {
  info().options() = parsed_options(*app_);
}

int Command::finish(bool keep_interrupted) {
  report::RunInfo& run = info();
  report::OutputDir& out = output();
  record_options();
  if (spec_.figures) draw_figures(label(), out.path(), out.target(), figures_, run);
  run.write(out.path());
  out.commit(keep_interrupted);
  spdlog::info("results in {}", out.target().string());
  return 0;
}

Runner Command::runner(std::function<int(Command&)> run) {
  return [self = shared_from_this(), run = std::move(run)] { return run(*self); };
}

}  // namespace actlens::cli
