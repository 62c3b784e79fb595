// lda: per layer, the seed's plot_pc for the first (up to) 6 components, the eigenvalue and
// cumulative-ratio curve, and the cosine of each component with the pca file's PCs.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "actlens/error.hpp"
#include "actlens/report/figure_sets.hpp"
#include "actlens/report/schema.hpp"
#include "figure_inputs.hpp"
#include "label_boxes.hpp"

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

// The component pages have a fixed size and explicit margins (nothing outside the plot pushes
// them: the legend sits inside the bottom margin), so each row's labels are placed in
// figs::Frame pixels, as plotly will draw them.
using figs::Box;
using Panel = figs::Frame;

constexpr double kLabelFont = 9;  // px
constexpr double kMarkerSize = 8;

Box label_box(double px, double py, const std::string& position, std::size_t chars) {
  return figs::label_box(px, py, position, chars, kLabelFont, kMarkerSize);
}

// "Teacher (Somewhat RP)" on the Somewhat RP row reads "Teacher": the row already says it.
std::string short_name(const std::string& name, const std::string& group) {
  const std::string suffix = " (" + group + ")";
  if (name.size() > suffix.size() &&
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
    return name.substr(0, name.size() - suffix.size());
  return name;
}

const char* const kGroupNames[3] = {"Somewhat RP", "Fully RP", "other"};

double row_y(const Point& p, std::size_t i) {
  return (p.group == 0 ? 1.0 : p.group == 1 ? 0.0 : 0.5) + jitter(i);
}

// A greedy pass in pixel space over the seed's candidates (the 10 lowest and 10 highest
// values), most extreme first: each takes the first of four positions where its label stays
// inside the plot and clear of every label placed so far and of every other marker; a point
// with no room keeps its name on hover only. Returns the textposition per point ("" = none).
std::vector<std::string> place_labels(const std::vector<Point>& pts, const Panel& panel) {
  std::vector<std::size_t> order(pts.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return pts[a].value < pts[b].value; });
  std::vector<std::size_t> candidates;  // lowest, highest, 2nd lowest, 2nd highest, ...
  for (std::size_t t = 0; t < std::min(kLabelled, order.size()); ++t) {
    for (std::size_t i : {order[t], order[order.size() - 1 - t]})
      if (std::find(candidates.begin(), candidates.end(), i) == candidates.end())
        candidates.push_back(i);
  }
  std::vector<Box> markers(pts.size(), Box{0, 0, 0, 0}), labels;
  for (std::size_t i = 0; i < pts.size(); ++i) {
    const double x = panel.px(pts[i].value), y = panel.py(row_y(pts[i], i)), m = kMarkerSize / 2;
    if (std::isfinite(x)) markers[i] = {x - m, y - m, x + m, y + m};
  }
  const Box area = panel.area();
  std::vector<std::string> where(pts.size());
  for (std::size_t i : candidates) {
    if (!std::isfinite(pts[i].value)) continue;
    const double x = panel.px(pts[i].value), y = panel.py(row_y(pts[i], i));
    const std::size_t chars = short_name(pts[i].name, kGroupNames[pts[i].group]).size();
    for (const char* pos : {"top center", "bottom center", "middle right", "middle left"}) {
      const Box b = label_box(x, y, pos, chars);
      bool clear = b.inside(area);
      for (std::size_t j = 0; clear && j < markers.size(); ++j)
        clear = j == i || !b.overlaps(markers[j]);
      for (std::size_t j = 0; clear && j < labels.size(); ++j) clear = !b.overlaps(labels[j]);
      if (!clear) continue;
      where[i] = pos;
      labels.push_back(b);
      break;
    }
  }
  return where;
}

// Traces of one plot_pc row on axes (xa, ya): pos_2 cyan circles "Somewhat RP", pos_3 blue
// squares "Fully RP", labels placed by place_labels (full names on hover).
void add_row(json& data, const std::vector<Point>& pts, const Panel& panel, const std::string& xa,
             const std::string& ya, bool legend, const std::string& what) {
  const std::vector<std::string> where = place_labels(pts, panel);
  struct Style {
    const char* colour;
    const char* symbol;
  };
  const Style styles[3] = {{"cyan", "circle"}, {"blue", "square"}, {"gray", "diamond"}};
  for (int g = 0; g < 3; ++g) {
    json x = json::array(), y = json::array(), text = json::array(), hover = json::array(),
         pos = json::array();
    for (std::size_t i = 0; i < pts.size(); ++i) {
      if (pts[i].group != g) continue;
      x.push_back(pts[i].value);
      y.push_back(row_y(pts[i], i));
      text.push_back(where[i].empty() ? "" : short_name(pts[i].name, kGroupNames[g]));
      pos.push_back(where[i].empty() ? "top center" : where[i]);
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.4g", pts[i].value);
      hover.push_back(pts[i].name + "<br>" + what + " " + buf);
    }
    if (x.empty()) continue;
    data.push_back({{"type", "scatter"},
                    {"mode", "markers+text"},
                    {"name", kGroupNames[g]},
                    {"legendgroup", kGroupNames[g]},
                    {"showlegend", legend},
                    {"x", x},
                    {"y", y},
                    {"text", text},
                    {"textposition", pos},
                    {"textfont", {{"size", kLabelFont}}},
                    {"hovertext", hover},
                    {"hoverinfo", "text"},
                    {"xaxis", xa},
                    {"yaxis", ya},
                    {"marker",
                     {{"color", styles[g].colour},
                      {"symbol", styles[g].symbol},
                      {"size", kMarkerSize},
                      {"line", {{"color", "black"}, {"width", 0.5}}}}}});
  }
}

// Half-width of a row's symmetric x range: the largest |value| and 30% more, as the seed's.
double half_range(const std::vector<Point>& pts) {
  double m = 0;
  for (const auto& p : pts)
    if (std::isfinite(p.value)) m = std::max(m, std::abs(p.value));
  return (m > 0 ? m : 1.0) * 1.3;
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
  // Each y axis picks its own round ticks: plotly's default for an overlaying axis is
  // tickmode "sync" (the left axis's tick positions, at unround values such as 0.029, 0.202);
  // the right axis draws no grid of its own so the two sets of ticks do not cross the plot.
  f.layout = {{"title", figs::title(f.title)},
              {"xaxis", {{"title", {{"text", "Component"}}}, {"dtick", 1}}},
              {"yaxis", figs::axis("Eigenvalue (between / total scatter)")},
              {"yaxis2",
               {{"title", {{"text", "Cumulative ratio"}}},
                {"overlaying", "y"},
                {"side", "right"},
                {"tickmode", "auto"},
                {"showgrid", false},
                {"range", {0, 1.05}}}},
              {"legend",
               {{"orientation", "h"},
                {"x", 0.5},
                {"xanchor", "center"},
                {"y", 1.0},
                {"yanchor", "bottom"}}}};
  return f;
}

// Page geometry of the component pages: explicit margins, so the label pixel model holds.
constexpr double kMarginL = 110, kMarginR = 30, kMarginT = 110, kMarginB = 110;
constexpr double kTopDomain0 = 0.5, kBottomDomain1 = 0.36;  // rows' y domains (paper units)
constexpr double kRowY0 = -0.6, kRowY1 = 1.6;               // both rows' y range

Panel row_panel(const Figure& f, double d0, double d1, double half_x) {
  const double w = f.width - kMarginL - kMarginR, h = f.height - kMarginT - kMarginB;
  return {kMarginL, kMarginT + (1 - d1) * h, w, (d1 - d0) * h, -half_x, half_x, kRowY0, kRowY1};
}

Figure component_figure(int c, const std::vector<Point>& top, const std::vector<Point>& bottom,
                        const std::string& prefix, const std::string& where,
                        const std::string& what) {
  Figure f;
  f.name = prefix + "component_" + std::to_string(c + 1);
  f.title = "LDA Component " + std::to_string(c + 1) + " - Role-Playing Vectors" + where;
  f.height = bottom.empty() ? 520 : 760;
  const double r1 = half_range(top);  // x range symmetric about 0, as the seed's
  add_row(f.data, top, row_panel(f, bottom.empty() ? 0.0 : kTopDomain0, 1.0, r1), "x", "y", true,
          "projection");
  const json yticks = {
      {"tickvals", {0, 1}}, {"ticktext", {"Fully RP", "Somewhat RP"}}, {"range", {kRowY0, kRowY1}}};
  // the legend below the lowest axis title, inside the bottom margin
  const double plot_h = f.height - kMarginT - kMarginB;
  f.layout = {
      {"title",
       figs::title(f.title + "<br><sub>LDA Between-Class Scatter Analysis: " + what + "</sub>")},
      {"xaxis",
       {{"title", {{"text", "Projection on LD" + std::to_string(c + 1)}}},
        {"range", {-r1, r1}},
        {"zeroline", true},
        {"anchor", "y"}}},
      {"yaxis", yticks},
      {"legend", {{"orientation", "h"}, {"y", -62.0 / plot_h}, {"yanchor", "top"}, {"x", 0.0}}},
      {"margin", {{"l", kMarginL}, {"r", kMarginR}, {"t", kMarginT}, {"b", kMarginB}}}};
  if (!bottom.empty()) {
    const double r2 = half_range(bottom);
    add_row(f.data, bottom, row_panel(f, 0.0, kBottomDomain1, r2), "x2", "y2", false, "cosine");
    f.layout["yaxis"]["domain"] = {kTopDomain0, 1.0};
    f.layout["yaxis2"] = yticks;
    f.layout["yaxis2"]["domain"] = {0.0, kBottomDomain1};
    f.layout["yaxis2"]["anchor"] = "x2";
    f.layout["xaxis"]["anchor"] = "y";
    f.layout["xaxis2"] = {
        {"title", {{"text", "Cosine similarity with LD" + std::to_string(c + 1)}}},
        {"range", {-r2, r2}},
        {"zeroline", true},
        {"anchor", "y2"}};
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
