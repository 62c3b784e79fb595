// lda: per layer, the seed's plot_pc for the first (up to) 6 components, the eigenvalue and
// cumulative-ratio curve, and the cosine of each component with the pca file's PCs.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "actlens/error.hpp"
#include "actlens/report/figure_sets.hpp"
#include "actlens/report/schema.hpp"
#include "figure_inputs.hpp"

namespace actlens::report {
namespace fs = std::filesystem;
using figs::json;
namespace sc = schema::lda;

namespace {

constexpr int kMaxComponentFigures = 6;  // the seed plots min(6, k) components
constexpr std::size_t kLabelled = 10;    // lowest and highest labelled on each plot

// Layer folders (layer{L}/) of an lda run, or the run folder itself for [N, d] inputs.
std::vector<fs::path> layer_dirs(const fs::path& run) {
  std::vector<fs::path> dirs;
  if (fs::exists(run / sc::kJson)) dirs.push_back(run);
  for (const auto& e : fs::directory_iterator(run))
    if (e.is_directory() && fs::exists(e.path() / sc::kJson)) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end(), [](const fs::path& a, const fs::path& b) {
    const auto num = [](const fs::path& p) {
      const std::string s = p.filename().string();
      const std::string prefix = sc::kLayerDirPrefix;
      return s.rfind(prefix, 0) == 0 ? std::atoi(s.c_str() + prefix.size()) : -1;
    };
    return num(a) != num(b) ? num(a) < num(b) : a < b;
  });
  if (dirs.empty())
    throw Error(run.string() + ": no " + sc::kJson + " (is this an actlens lda run?)");
  return dirs;
}

// One point of a plot_pc row: a role (or class) with its group and value.
struct Point {
  std::string name;
  int group;  // 0: Somewhat RP (score 2), 1: Fully RP (score 3), 2: other
  double value;
};

// A deterministic vertical spread in [-0.28, 0.28] so points of one group do not sit on a line.
double jitter(std::size_t i) {
  const double g = std::fmod(static_cast<double>(i) * 0.6180339887498949, 1.0);
  return (g - 0.5) * 0.56;
}

// Traces of one plot_pc row on axes (xa, ya): pos_2 cyan circles "Somewhat RP", pos_3 blue
// squares "Fully RP", the 10 lowest and 10 highest labelled. Returns the largest |value|.
double add_row(json& data, const std::vector<Point>& pts, const std::string& xa,
               const std::string& ya, bool legend, const std::string& what) {
  std::vector<std::size_t> order(pts.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return pts[a].value < pts[b].value; });
  std::vector<bool> labelled(pts.size(), false);
  for (std::size_t t = 0; t < std::min(kLabelled, order.size()); ++t) {
    labelled[order[t]] = true;
    labelled[order[order.size() - 1 - t]] = true;
  }
  struct Style {
    const char* name;
    const char* colour;
    const char* symbol;
  };
  const Style styles[3] = {{"Somewhat RP", "cyan", "circle"},
                           {"Fully RP", "blue", "square"},
                           {"other", "gray", "diamond"}};
  double max_abs = 0;
  for (int g = 0; g < 3; ++g) {
    json x = json::array(), y = json::array(), text = json::array(), hover = json::array(),
         pos = json::array();
    std::size_t n = 0;
    for (std::size_t i = 0; i < pts.size(); ++i) {
      if (pts[i].group != g) continue;
      x.push_back(pts[i].value);
      y.push_back((g == 0 ? 1.0 : g == 1 ? 0.0 : 0.5) + jitter(i));
      text.push_back(labelled[i] ? pts[i].name : "");
      pos.push_back(n++ % 2 ? "bottom center" : "top center");
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.4g", pts[i].value);
      hover.push_back(pts[i].name + "<br>" + what + " " + buf);
      if (std::isfinite(pts[i].value)) max_abs = std::max(max_abs, std::abs(pts[i].value));
    }
    if (n == 0) continue;
    data.push_back({{"type", "scatter"},
                    {"mode", "markers+text"},
                    {"name", styles[g].name},
                    {"legendgroup", styles[g].name},
                    {"showlegend", legend},
                    {"x", x},
                    {"y", y},
                    {"text", text},
                    {"textposition", pos},
                    {"textfont", {{"size", 9}}},
                    {"hovertext", hover},
                    {"hoverinfo", "text"},
                    {"xaxis", xa},
                    {"yaxis", ya},
                    {"marker",
                     {{"color", styles[g].colour},
                      {"symbol", styles[g].symbol},
                      {"size", 8},
                      {"line", {{"color", "black"}, {"width", 0.5}}}}}});
  }
  return max_abs;
}

int group_of(const std::string& score) {
  return score == "2" ? 0 : score == "3" ? 1 : 2;
}

Figure eigenvalue_figure(const json& lda, const std::string& prefix, const std::string& where) {
  Figure f;
  f.name = prefix + "eigenvalues";
  f.title = "LDA eigenvalues and cumulative ratio" + where;
  const auto& ev = lda.at(sc::kJsonEigenvalues);
  json x = json::array();
  for (std::size_t i = 0; i < ev.size(); ++i) x.push_back(i + 1);
  f.data.push_back({{"type", "scatter"},
                    {"mode", "lines+markers"},
                    {"name", "eigenvalue"},
                    {"x", x},
                    {"y", ev},
                    {"marker", {{"color", "#1f77b4"}}}});
  f.data.push_back({{"type", "scatter"},
                    {"mode", "lines+markers"},
                    {"name", "cumulative ratio (of the top k)"},
                    {"x", x},
                    {"y", lda.at(sc::kJsonCumulativeRatio)},
                    {"yaxis", "y2"},
                    {"marker", {{"color", "#ff7f0e"}, {"symbol", "square"}}}});
  f.layout = {{"title", figs::title(f.title)},
              {"xaxis", {{"title", {{"text", "Component"}}}, {"dtick", 1}}},
              {"yaxis", figs::axis("Eigenvalue (between / total scatter)")},
              {"yaxis2",
               {{"title", {{"text", "Cumulative ratio"}}},
                {"overlaying", "y"},
                {"side", "right"},
                {"range", {0, 1.05}}}},
              {"legend", {{"x", 0.6}, {"y", 0.5}}}};
  return f;
}

Figure component_figure(int c, const std::vector<Point>& top, const std::vector<Point>& bottom,
                        const std::string& prefix, const std::string& where,
                        const std::string& what) {
  Figure f;
  f.name = prefix + "component_" + std::to_string(c + 1);
  f.title = "LDA Component " + std::to_string(c + 1) + " - Role-Playing Vectors" + where;
  f.height = bottom.empty() ? 520 : 760;
  const double m1 = add_row(f.data, top, "x", "y", true, "projection");
  const json yticks = {
      {"tickvals", {0, 1}}, {"ticktext", {"Fully RP", "Somewhat RP"}}, {"range", {-0.6, 1.6}}};
  const double r1 = (m1 > 0 ? m1 : 1.0) * 1.3;  // x range symmetric about 0, as the seed's
  f.layout = {
      {"title",
       figs::title(f.title + "<br><sub>LDA Between-Class Scatter Analysis: " + what + "</sub>")},
      {"xaxis",
       {{"title", {{"text", "Projection on LD" + std::to_string(c + 1)}}},
        {"range", {-r1, r1}},
        {"zeroline", true},
        {"anchor", "y"}}},
      {"yaxis", yticks},
      {"legend", {{"orientation", "h"}, {"y", -0.08}}},
      {"margin", {{"l", 110}}}};
  if (!bottom.empty()) {
    const double m2 = add_row(f.data, bottom, "x2", "y2", false, "cosine");
    const double r2 = (m2 > 0 ? m2 : 1.0) * 1.3;
    f.layout["yaxis"]["domain"] = {0.5, 1.0};
    f.layout["yaxis2"] = yticks;
    f.layout["yaxis2"]["domain"] = {0.0, 0.36};
    f.layout["yaxis2"]["anchor"] = "x2";
    f.layout["xaxis"]["anchor"] = "y";
    f.layout["xaxis2"] = {
        {"title", {{"text", "Cosine similarity with LD" + std::to_string(c + 1)}}},
        {"range", {-r2, r2}},
        {"zeroline", true},
        {"anchor", "y2"}};
    f.layout["legend"]["y"] = -0.06;
  }
  return f;
}

Figure pca_cosine_figure(const fs::path& csv, const std::string& prefix, const std::string& where) {
  const figs::Table t(csv);
  Figure f;
  f.name = prefix + "pca_cosine";
  f.title = "Cosine of each LDA component with each PC of the pca file" + where;
  json z = json::array();
  std::vector<std::string> pcs(t.header().begin() + 1, t.header().end());
  for (const auto& pc : pcs) z.push_back(t.numbers(pc));
  // rows = components (LD), columns = PCs: transpose the per-PC columns
  json zt = json::array();
  for (std::size_t r = 0; r < t.rows(); ++r) {
    json row = json::array();
    for (std::size_t p = 0; p < pcs.size(); ++p) row.push_back(z[p][r]);
    zt.push_back(row);
  }
  f.data.push_back({{"type", "heatmap"},
                    {"z", zt},
                    {"x", pcs},
                    {"y", t.text(sc::kComponent)},
                    {"colorscale", "RdBu"},
                    {"reversescale", true},
                    {"zmin", -1},
                    {"zmax", 1},
                    {"colorbar", {{"title", {{"text", "cosine"}}}}}});
  f.layout = {{"title", figs::title(f.title)},
              {"yaxis", {{"autorange", "reversed"}}},
              {"xaxis", {{"tickangle", -45}}}};
  return f;
}

}  // namespace

std::vector<Figure> lda_figures(const fs::path& run) {
  std::vector<Figure> out;
  for (const auto& dir : layer_dirs(run)) {
    const json lda = figs::read_json(dir / sc::kJson);
    const std::string prefix = figs::name_prefix(run, dir);
    const std::string where = lda.contains(sc::kJsonLayer) && lda[sc::kJsonLayer].is_number()
                                  ? ", layer " + lda[sc::kJsonLayer].dump()
                                  : "";
    out.push_back(eigenvalue_figure(lda, prefix, where));
    const int k = static_cast<int>(lda.at(sc::kJsonEigenvalues).size());
    const bool roles = fs::exists(dir / sc::kRoleProjections);
    const figs::Table t(dir / (roles ? sc::kRoleProjections : sc::kClassMeans));
    const auto names = t.text(roles ? sc::kName : sc::kClass);
    const auto scores = t.text(sc::kScore);
    std::vector<double> norms;
    if (roles && t.has(sc::kNorm)) norms = t.numbers(sc::kNorm);
    for (int c = 0; c < std::min(k, kMaxComponentFigures); ++c) {
      const auto v = t.numbers(schema::numbered(sc::kLdPrefix, static_cast<std::size_t>(c)));
      std::vector<Point> top, bottom;
      for (std::size_t i = 0; i < v.size(); ++i) {
        top.push_back({names[i], group_of(scores[i]), v[i]});
        if (!norms.empty()) bottom.push_back({names[i], group_of(scores[i]), v[i] / norms[i]});
      }
      out.push_back(component_figure(
          c, top, bottom, prefix, where,
          roles ? "role vectors of the pca file (top: projection, bottom: cosine similarity)"
                : "class means (no pca file with role vectors)"));
    }
    if (fs::exists(dir / sc::kPcaCosine))
      out.push_back(pca_cosine_figure(dir / sc::kPcaCosine, prefix, where));
  }
  return out;
}

}  // namespace actlens::report
