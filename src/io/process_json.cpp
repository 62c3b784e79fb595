// Process JSON files (format in include/actlens/io/process_json.hpp).
#include "actlens/io/process_json.hpp"

#include <stdexcept>
#include <string>

#include "actlens/error.hpp"
#include "actlens/io/json_file.hpp"

namespace actlens::io {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> read_names(const nlohmann::json& j, const char* key,
                                    const fs::path& path) {
  std::vector<std::string> names;
  if (!j.contains(key)) return names;
  const auto& a = j.at(key);
  if (!a.is_array()) throw Error(path.string() + ": \"" + key + "\" must be a list of names");
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].is_string())
      names.push_back(a[i].get<std::string>());
    else if (a[i].is_number_integer())
      names.push_back(std::to_string(a[i].get<long long>()));
    else
      throw Error(path.string() + ": \"" + key + "\"[" + std::to_string(i) + "] must be a string");
  }
  return names;
}

}  // namespace

core::Process read_process_json(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec))
    throw Error(path.string() + ": cannot open the process file (no such file?)");
  const nlohmann::json j = read_json_file(path, "a process file (JSON)");
  return process_from_json(j, path.string(), path.stem().string());
}

core::Process process_from_json(const nlohmann::json& j, const std::string& what,
                                const std::string& default_name) {
  const fs::path path = what;  // only used to name the source in errors
  if (!j.is_object()) throw Error(path.string() + ": expected a JSON object with \"transitions\"");
  core::ProcessDefinition def;
  def.name = default_name;
  if (j.contains("name")) {
    if (!j["name"].is_string()) throw Error(path.string() + ": \"name\" must be a string");
    def.name = j["name"].get<std::string>();
  }
  def.state_names = read_names(j, "states", path);
  def.symbol_names = read_names(j, "symbols", path);
  if (!j.contains("transitions"))
    throw Error(path.string() + ": missing \"transitions\" (T[x][i][j] = P(emit x, go to j | i))");
  const auto& t = j["transitions"];
  if (!t.is_array()) throw Error(path.string() + ": \"transitions\" must be a list of matrices");
  for (std::size_t x = 0; x < t.size(); ++x) {
    const std::string key = "transitions[" + std::to_string(x) + "]";
    if (!t[x].is_array()) throw Error(path.string() + ": " + key + " must be a list of rows");
    std::vector<std::vector<double>> rows;
    for (std::size_t i = 0; i < t[x].size(); ++i) {
      const auto& row = t[x][i];
      const std::string rkey = key + "[" + std::to_string(i) + "]";
      if (!row.is_array()) throw Error(path.string() + ": " + rkey + " must be a list of numbers");
      std::vector<double> r;
      for (std::size_t c = 0; c < row.size(); ++c) {
        if (!row[c].is_number())
          throw Error(path.string() + ": " + rkey + "[" + std::to_string(c) + "] must be a number");
        r.push_back(row[c].get<double>());
      }
      rows.push_back(std::move(r));
    }
    def.transitions.push_back(std::move(rows));
  }
  try {
    return core::make_process(def);
  } catch (const std::invalid_argument& e) {
    throw Error(path.string() + ": " + e.what());
  }
}

nlohmann::json process_to_json(const core::Process& p) {
  nlohmann::json j;
  j["name"] = p.name;
  j["states"] = p.state_names;
  j["symbols"] = p.symbol_names;
  nlohmann::json t = nlohmann::json::array();
  for (const auto& m : p.T) {
    nlohmann::json rows = nlohmann::json::array();
    for (Eigen::Index i = 0; i < m.rows(); ++i) {
      std::vector<double> r(static_cast<std::size_t>(m.cols()));
      for (Eigen::Index c = 0; c < m.cols(); ++c) r[static_cast<std::size_t>(c)] = m(i, c);
      rows.push_back(r);
    }
    t.push_back(rows);
  }
  j["transitions"] = t;
  return j;
}

}  // namespace actlens::io
