// rsa: the seed's cosine-similarity heatmaps (plasma, 0.1..0.6, word ticks), the within- vs
// between-category strip plot with means, and the RSA scatter of the upper triangles with r in
// the title.
#include <algorithm>
#include <cctype>
#include <cmath>

#include "actlens/io/array.hpp"
#include "actlens/io/npy.hpp"
#include "actlens/report/figure_sets.hpp"
#include "actlens/report/schema.hpp"
#include "figure_inputs.hpp"

namespace actlens::report {
namespace fs = std::filesystem;
using figs::json;
namespace sc = schema::rsa;

namespace {

double jitter(std::size_t i) {  // deterministic stand-in for the seed's normal(0, .02) spread
  return (std::fmod(static_cast<double>(i) * 0.6180339887498949, 1.0) - 0.5) * 0.12;
}

std::string safe(const std::string& s) {
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    out += std::isalnum(u) ? static_cast<char>(std::tolower(u)) : '_';
  }
  return out;
}

// matplotlib's plasma (plotly.js has no such named scale): its 10 stops as plotly.py lists them.
json plasma() {
  static const char* stops[] = {"#0d0887", "#46039f", "#7201a8", "#9c179e", "#bd3786",
                                "#d8576b", "#ed7953", "#fb9f3a", "#fdca26", "#f0f921"};
  json s = json::array();
  for (int i = 0; i < 10; ++i) s.push_back({i / 9.0, stops[i]});
  return s;
}

Figure heatmaps(const fs::path& dir, const std::vector<std::string>& spaces,
                const std::vector<std::string>& items) {
  Figure f;
  f.name = "cosine_matrices";
  f.title = "Cosine similarity matrices";
  const std::size_t n = items.size(), s_count = spaces.size();
  f.width = static_cast<int>(std::min<std::size_t>(4, s_count)) * 560 + 80;
  f.height = 620;
  // the seed's ticks: even items on x, odd items on y (every item fits when there are few)
  const std::size_t step = n <= 60 ? 2 : (n + 29) / 30;
  json xv = json::array(), xt = json::array(), yv = json::array(), yt = json::array();
  for (std::size_t i = 0; i < n; i += step) {
    xv.push_back(i);
    xt.push_back(items[i]);
  }
  for (std::size_t i = step > 2 ? 0 : 1; i < n; i += step) {
    yv.push_back(i);
    yt.push_back(items[i]);
  }
  for (std::size_t s = 0; s < s_count; ++s) {
    // the file name as the command wrote it (characters a file name should not hold become '_')
    const std::string file = sc::cosine_stem(spaces[s]) + ".npy";
    const auto m = io::to_double_matrix(io::read_npy(dir / file), file);
    json z = json::array();
    for (Eigen::Index r = 0; r < m.rows(); ++r) {
      json row = json::array();
      for (Eigen::Index c = 0; c < m.cols(); ++c) row.push_back(m(r, c));
      z.push_back(row);
    }
    const std::string sfx = figs::add_panel(
        f.layout, s, s_count, 0.08, "Cossim matrix for " + spaces[s],
        {{"tickvals", xv}, {"ticktext", xt}, {"tickangle", -90}, {"constrain", "domain"}},
        {{"tickvals", yv},
         {"ticktext", yt},
         {"autorange", "reversed"},
         {"scaleanchor", "x" + std::string(s == 0 ? "" : std::to_string(s + 1))},
         {"constrain", "domain"}});
    json tr = {{"type", "heatmap"},
               {"z", z},
               {"colorscale", plasma()},
               {"zmin", 0.1},
               {"zmax", 0.6},
               {"xaxis", "x" + sfx},
               {"yaxis", "y" + sfx},
               {"showscale", s + 1 == s_count},
               {"customdata", items},
               {"hovertemplate", "%{x}, %{y}: %{z:.3f}<extra></extra>"}};
    if (s + 1 == s_count) tr["colorbar"] = {{"title", {{"text", "cosine"}}}, {"x", 1.02}};
    f.data.push_back(tr);
  }
  f.layout["margin"] = {{"b", 110}};
  f.layout["title"] = figs::title(f.title);
  return f;
}

Figure strip(const figs::Table& pairs, const std::vector<std::string>& spaces) {
  Figure f;
  f.name = "within_between";
  f.title = "Cosine similarities within vs. across categories";
  const auto kind = pairs.text(sc::kKind);
  const char* faces[] = {"rgb(77,153,102)", "rgb(77,102,153)", "rgb(153,102,77)",
                         "rgb(128,77,153)"};
  json tickv = json::array(), tickt = json::array();
  for (std::size_t s = 0; s < spaces.size(); ++s) {
    const auto cos = pairs.numbers(sc::cosine_column(spaces[s]));
    for (int k = 0; k < 2; ++k) {
      const std::string which = k == 0 ? sc::kWithin : sc::kBetween;
      const double x0 = 3.0 * static_cast<double>(s) + k;
      json x = json::array(), y = json::array();
      double sum = 0;
      std::size_t count = 0;
      for (std::size_t i = 0; i < cos.size(); ++i) {
        if (kind[i] != which) continue;
        x.push_back(x0 + jitter(i));
        y.push_back(cos[i]);
        sum += cos[i];
        ++count;
      }
      tickv.push_back(x0);
      tickt.push_back(spaces[s] + "<br>" + which);
      if (count == 0) continue;
      f.data.push_back({{"type", "scatter"},
                        {"mode", "markers"},
                        {"name", spaces[s] + " " + which},
                        {"x", x},
                        {"y", y},
                        {"marker",
                         {{"symbol", k == 0 ? "circle" : "square"},
                          {"size", 10},
                          {"color", faces[s % 4]},
                          {"opacity", 0.5},
                          {"line", {{"color", s == 0 ? "black" : "red"}, {"width", 1}}}}}});
      const double mean = sum / static_cast<double>(count);
      f.data.push_back({{"type", "scatter"},
                        {"mode", "lines"},
                        {"name", spaces[s] + " " + which + " mean"},
                        {"showlegend", false},
                        {"x", {x0 - 0.2, x0 + 0.2}},
                        {"y", {mean, mean}},
                        {"line", {{"color", "black"}, {"width", 5}}}});
    }
  }
  f.layout = {{"title", figs::title(f.title)},
              {"xaxis",
               {{"tickvals", tickv},
                {"ticktext", tickt},
                {"range", {-1.0, 3.0 * static_cast<double>(spaces.size()) - 1.0}}}},
              {"yaxis", figs::axis("Cosine similarity")},
              {"showlegend", false}};
  return f;
}

Figure scatter(const figs::Table& pairs, const json& rsa, const std::string& a,
               const std::string& b, bool named) {
  Figure f;
  f.name = named ? "rsa_scatter_" + safe(a) + "_" + safe(b) : "rsa_scatter";
  std::string rtext;
  for (const char* method : {"pearson", "spearman", "kendall"})
    for (const auto& p : rsa.value(sc::kJsonPairs, json::array()))
      if (rtext.empty() && p.value(sc::kPairA, "") == a && p.value(sc::kPairB, "") == b &&
          p.value(sc::kPairMethod, "") == method && p.contains(sc::kPairR) &&
          p[sc::kPairR].is_number()) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.3f", p[sc::kPairR].get<double>());
        rtext = std::string(method == std::string("pearson") ? "r" : method) + " = " + buf;
      }
  f.title = "Correlation (RSA score): " + (rtext.empty() ? "r not computed" : rtext);
  const auto ia = pairs.text(sc::kItemI), ib = pairs.text(sc::kItemJ);
  json hover = json::array();
  for (std::size_t i = 0; i < ia.size(); ++i) hover.push_back(ia[i] + " - " + ib[i]);
  f.width = 640;
  f.height = 600;
  f.data.push_back({{"type", "scatter"},
                    {"mode", "markers"},
                    {"name", "item pairs"},
                    {"x", pairs.numbers(sc::cosine_column(a))},
                    {"y", pairs.numbers(sc::cosine_column(b))},
                    {"hovertext", hover},
                    {"marker",
                     {{"symbol", "square"},
                      {"size", 8},
                      {"color", "rgba(179,102,102,0.7)"},
                      {"line", {{"color", "black"}, {"width", 1}}}}}});
  const json grid = {{"showgrid", true}, {"gridcolor", "rgb(204,204,204)"}, {"griddash", "dash"}};
  f.layout = {{"title", figs::title(f.title)}, {"xaxis", grid}, {"yaxis", grid}};
  f.layout["xaxis"]["title"] = {{"text", a + " cosine similarities"}};
  f.layout["yaxis"]["title"] = {{"text", b + " cosine similarities"}};
  f.layout["xaxis"]["range"] = {-0.6, 1};
  f.layout["yaxis"]["range"] = {-0.6, 1};
  return f;
}

}  // namespace

std::vector<Figure> rsa_figures(const fs::path& dir) {
  const json rsa = figs::read_json(dir / sc::kJson);
  std::vector<std::string> spaces;
  for (const auto& s : rsa.at(sc::kJsonSpaces))
    spaces.push_back(s.at(sc::kJsonName).get<std::string>());
  const auto items = rsa.at(sc::kJsonItems).get<std::vector<std::string>>();
  std::vector<Figure> out;
  out.push_back(heatmaps(dir, spaces, items));
  const figs::Table pairs(dir / sc::kPairs);
  // the within/between strip plot needs --groups
  const auto kind = pairs.has(sc::kKind) ? pairs.text(sc::kKind) : std::vector<std::string>{};
  if (std::find(kind.begin(), kind.end(), sc::kWithin) != kind.end())
    out.push_back(strip(pairs, spaces));
  for (std::size_t i = 0; i < spaces.size(); ++i)
    for (std::size_t j = i + 1; j < spaces.size(); ++j)
      out.push_back(scatter(pairs, rsa, spaces[i], spaces[j], spaces.size() > 2));
  return out;
}

}  // namespace actlens::report
