#include "actlens/report/run_info.hpp"

#include <ctime>
#include <thread>

#include "actlens/report/interrupt.hpp"
#include "actlens/report/output_dir.hpp"
#include "actlens/report/writers.hpp"

namespace actlens::report {

RunInfo::RunInfo(std::string command, std::vector<std::string> argv, std::string version)
    : t0_(std::chrono::steady_clock::now()) {
  j_["tool"] = "actlens";
  j_["version"] = std::move(version);
  j_["command"] = std::move(command);
  j_["command_line"] = std::move(argv);
  const std::time_t now = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  j_["created"] = buf;
  j_["threads"] = std::thread::hardware_concurrency();
  j_["inputs"] = nlohmann::json::array();
  j_["options"] = nlohmann::json::object();
  j_["timings"] = nlohmann::json::object();
  j_["summary"] = nlohmann::json::object();
}

void RunInfo::add_input(const std::string& role, const std::filesystem::path& path,
                        const std::string& description, std::uint64_t bytes,
                        const std::string& content_hash) {
  protect_input(path);  // an --out over an input is refused (output_dir.hpp)
  j_["inputs"].push_back(
      {{"role", role}, {"path", path.string()}, {"description", description}, {"bytes", bytes}});
  if (!content_hash.empty()) j_["inputs"].back()["xxh3_64"] = content_hash;
}

void RunInfo::start(const std::string& phase) {
  signal_test_point(phase);
  open_[phase] = std::chrono::steady_clock::now();
}

void RunInfo::stop(const std::string& phase) {
  auto it = open_.find(phase);
  if (it == open_.end()) return;
  const double s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - it->second).count();
  j_["timings"][phase + "_s"] = j_["timings"].value(phase + "_s", 0.0) + s;
  open_.erase(it);
}

double RunInfo::seconds(const std::string& phase) const {
  return j_["timings"].value(phase + "_s", 0.0);
}

void RunInfo::write(const std::filesystem::path& dir) {
  signal_test_point("write");
  j_["timings"]["total_s"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  write_json(dir / "run.json", j_);
}

}  // namespace actlens::report
