#pragma once
// What the figure builders share: reading a run's CSV/JSON outputs with errors that name the
// file and column, and the seeds' colour palettes.
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actlens/io/csv.hpp"

namespace actlens::report::figs {

using nlohmann::json;

json read_json(const std::filesystem::path& path);

// A run's CSV output, read by column name.
class Table {
 public:
  explicit Table(const std::filesystem::path& path);
  bool has(const std::string& column) const { return t_.column(column) >= 0; }
  std::size_t rows() const { return t_.rows.size(); }
  const std::vector<std::string>& header() const { return t_.header; }
  std::vector<std::string> text(const std::string& column) const;
  // Empty fields become NaN (null in the figure: a gap); anything else must parse.
  std::vector<double> numbers(const std::string& column) const;

 private:
  int index(const std::string& column) const;
  std::filesystem::path path_;
  io::CsvTable t_;
};

// matplotlib's tab10 (the PCA seed's label colours).
const std::vector<std::string>& tab10();
// plotly's Light24 + Dark24 + Plotly (the belief seed's colours, indexed by belief).
const std::vector<std::string>& belief_colours();

// "layer22_" for dir = run/layer22, "" for the run folder itself: figure names stay unique when
// a run has one folder per layer or per space.
std::string name_prefix(const std::filesystem::path& run_dir, const std::filesystem::path& dir);

// Side-by-side panels: panel i of n gets axes x{i+1}/y{i+1} (plain x/y for the first) anchored
// to each other, x over its share of the width with `gap` between panels, and `title` centred
// above it. `x` and `y` carry the rest of each axis. Returns the suffix ("", "2", ...) that a
// trace's "xaxis"/"yaxis" take after "x"/"y".
std::string add_panel(json& layout, std::size_t i, std::size_t n, double gap,
                      const std::string& title, json x = json::object(), json y = json::object());

// Axis/title helpers for the layout.
json title(const std::string& text);
json axis(const std::string& title);

}  // namespace actlens::report::figs
