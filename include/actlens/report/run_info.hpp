#pragma once
// run.json: what ran, on what, with which options, how long each phase took and a summary of
// the results. `actlens compare` reads it; so do people.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace actlens::report {

class RunInfo {
 public:
  RunInfo(std::string command, std::vector<std::string> argv, std::string version);

  void add_input(const std::string& role, const std::filesystem::path& path,
                 const std::string& description, std::uint64_t bytes,
                 const std::string& content_hash = "");
  nlohmann::json& options() { return j_["options"]; }
  nlohmann::json& summary() { return j_["summary"]; }
  // Any other top-level entry (e.g. "figures").
  nlohmann::json& section(const std::string& key) { return j_[key]; }
  // Starts/ends a named phase; durations in seconds land in "timings".
  void start(const std::string& phase);
  void stop(const std::string& phase);
  double seconds(const std::string& phase) const;

  // Adds total time and writes dir/run.json.
  void write(const std::filesystem::path& dir);

 private:
  nlohmann::json j_;
  std::chrono::steady_clock::time_point t0_;
  std::map<std::string, std::chrono::steady_clock::time_point> open_;
};

}  // namespace actlens::report
