#include "figure_inputs.hpp"

#include <cctype>
#include <cmath>
#include <limits>

#include "actlens/error.hpp"
#include "actlens/io/json_file.hpp"
#include "actlens/io/parse_number.hpp"

namespace actlens::report::figs {
namespace fs = std::filesystem;

json read_json(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec))
    throw Error(path.string() + ": missing (is this folder a finished actlens run?)");
  return io::read_json_file(path, "a JSON file of an actlens run");
}

Table::Table(const fs::path& path) : path_(path), t_(io::read_csv(path)) {}

int Table::index(const std::string& column) const {
  const int i = t_.column(column);
  if (i < 0) throw Error(path_.string() + ": no column '" + column + "'");
  return i;
}

std::vector<std::string> Table::text(const std::string& column) const {
  const auto i = static_cast<std::size_t>(index(column));
  std::vector<std::string> out;
  out.reserve(t_.rows.size());
  for (const auto& r : t_.rows) out.push_back(r[i]);
  return out;
}

std::vector<double> Table::numbers(const std::string& column) const {
  const auto i = static_cast<std::size_t>(index(column));
  std::vector<double> out;
  out.reserve(t_.rows.size());
  for (std::size_t r = 0; r < t_.rows.size(); ++r) {
    const std::string& s = t_.rows[r][i];
    if (s.empty()) {
      out.push_back(std::numeric_limits<double>::quiet_NaN());
      continue;
    }
    const std::optional<double> v = io::parse_double(s);
    if (!v && !(s == "nan" || s == "NaN"))
      throw Error(path_.string() + ": row " + std::to_string(r + 2) + ", column '" + column +
                  "': '" + s + "' is not a number");
    out.push_back(v ? *v : std::numeric_limits<double>::quiet_NaN());
  }
  return out;
}

const std::vector<std::string>& tab10() {
  static const std::vector<std::string> c = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                             "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  return c;
}

const std::vector<std::string>& belief_colours() {
  static const std::vector<std::string> c = {
      // Light24
      "#FD3216", "#00FE35", "#6A76FC", "#FED4C4", "#FE00CE", "#0DF9FF", "#F6F926", "#FF9616",
      "#479B55", "#EEA6FB", "#DC587D", "#D626FF", "#6E899C", "#00B5F7", "#B68E00", "#C9FBE5",
      "#FF0092", "#22FFA7", "#E3EE9E", "#86CE00", "#BC7196", "#7E7DCD", "#FC6955", "#E48F72",
      // Dark24
      "#2E91E5", "#E15F99", "#1CA71C", "#FB0D0D", "#DA16E3", "#222A2A", "#B68100", "#750D86",
      "#EB663B", "#511CFB", "#00A08B", "#FB00D1", "#FC0080", "#B2828D", "#6C7C32", "#778AAE",
      "#862A16", "#A777F1", "#620042", "#1616A7", "#DA60CA", "#6C4516", "#0D2A63", "#AF0038",
      // Plotly
      "#636EFA", "#EF553B", "#00CC96", "#AB63FA", "#FFA15A", "#19D3F3", "#FF6692", "#B6E880",
      "#FF97FF", "#FECB52"};
  return c;
}

std::string name_prefix(const fs::path& run_dir, const fs::path& dir) {
  if (fs::equivalent(run_dir, dir)) return "";
  std::string s;
  for (char c : dir.filename().string()) {
    const auto u = static_cast<unsigned char>(c);
    s += std::isalnum(u) ? static_cast<char>(std::tolower(u)) : '_';
  }
  return s + "_";
}

std::string add_panel(json& layout, std::size_t i, std::size_t n, double gap,
                      const std::string& title, json x, json y) {
  const double w = (1.0 - gap * static_cast<double>(n - 1)) / static_cast<double>(n);
  const double x0 = static_cast<double>(i) * (w + gap);
  const std::string sfx = i == 0 ? "" : std::to_string(i + 1);
  x["domain"] = {x0, x0 + w};
  x["anchor"] = "y" + sfx;
  y["anchor"] = "x" + sfx;
  layout["xaxis" + sfx] = std::move(x);
  layout["yaxis" + sfx] = std::move(y);
  if (!title.empty())
    layout["annotations"].push_back({{"text", title},
                                     {"x", x0 + w / 2},
                                     {"y", 1.06},
                                     {"xref", "paper"},
                                     {"yref", "paper"},
                                     {"showarrow", false},
                                     {"xanchor", "center"}});
  return sfx;
}

json title(const std::string& text) {
  return {{"text", text}, {"x", 0.5}};
}
json axis(const std::string& t) {
  return {{"title", {{"text", t}}}};
}

}  // namespace actlens::report::figs
