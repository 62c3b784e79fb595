// pca: the seed's 3-D scatter (tab10 colour per label, hover with label and text) and the
// explained-variance curve with its elbow and the 70/80/90/95% marks.
#include <algorithm>
#include <map>

#include "actlens/error.hpp"
#include "actlens/report/figure_sets.hpp"
#include "actlens/report/schema.hpp"
#include "figure_inputs.hpp"
#include "label_boxes.hpp"

namespace actlens::report {
namespace fs = std::filesystem;
using figs::json;
namespace sc = schema::pca;

namespace {

std::string pc(std::size_t i) {
  return schema::numbered(sc::kPcPrefix, i);
}

// The seed's scatter: one trace, colour = index of the label in order of first appearance on
// a tab10 colour scale, a colour bar naming the labels.
json scatter_trace(const figs::Table& t, int n_pcs, const std::string& name, bool open_markers) {
  const bool labelled = t.has(sc::kLabel);
  const auto labels = labelled ? t.text(sc::kLabel) : std::vector<std::string>(t.rows());
  const auto texts = t.has(sc::kText) ? t.text(sc::kText) : std::vector<std::string>(t.rows());
  std::vector<std::string> unique;
  std::map<std::string, int> index;
  for (const auto& l : labels)
    if (index.emplace(l, static_cast<int>(unique.size())).second) unique.push_back(l);
  json colour = json::array(), custom = json::array();
  for (std::size_t i = 0; i < labels.size(); ++i) {
    colour.push_back(index[labels[i]]);
    custom.push_back({labels[i], json({{"label", labels[i]}, {"text", texts[i]}}).dump()});
  }
  const auto n = unique.size();
  json scale = json::array();
  for (std::size_t i = 0; i < n; ++i)
    scale.push_back({n > 1 ? static_cast<double>(i) / static_cast<double>(n - 1) : 0.0,
                     figs::tab10()[i % figs::tab10().size()]});
  if (n == 1) scale.push_back({1.0, figs::tab10()[0]});
  json marker = {{"size", n_pcs >= 3 ? 6 : 8},
                 {"color", colour},
                 {"colorscale", scale},
                 {"cmin", 0},
                 {"cmax", std::max<std::size_t>(n, 2) - 1},
                 {"opacity", 0.8},
                 {"showscale", labelled && !open_markers}};
  if (labelled && !open_markers) {
    json vals = json::array();
    for (std::size_t i = 0; i < n; ++i) vals.push_back(i);
    marker["colorbar"] = {{"title", {{"text", "Label"}}},
                          {"tickmode", "array"},
                          {"tickvals", vals},
                          {"ticktext", unique}};
  }
  if (open_markers) marker["symbol"] = "diamond-open";
  json tr = {
      {"type", n_pcs >= 3 ? "scatter3d" : "scatter"},
      {"mode", "markers"},
      {"name", name},
      {"customdata", custom},
      {"hovertemplate", "Label: %{customdata[0]}<br>Metadata: %{customdata[1]}<extra></extra>"},
      {"marker", marker},
      {"x", t.numbers(pc(0))}};
  tr["y"] = n_pcs >= 2 ? json(t.numbers(pc(1))) : json(std::vector<double>(t.rows(), 0.0));
  if (n_pcs >= 3) tr["z"] = t.numbers(pc(2));
  return tr;
}

Figure scatter_figure(const fs::path& dir) {
  const fs::path csv = dir / (std::string(sc::kProjections) + ".csv");
  const figs::Table t(csv);
  int n_pcs = 0;
  while (n_pcs < 3 && t.has(pc(static_cast<std::size_t>(n_pcs)))) ++n_pcs;
  if (n_pcs == 0) throw Error(csv.string() + ": no " + pc(0) + " column");
  Figure f;
  f.name = n_pcs >= 3 ? "scatter_3d" : "scatter";
  f.title = n_pcs >= 3 ? "PCA 3D Scatter of Activations" : "PCA Scatter of Activations";
  f.width = 900;
  f.height = 700;
  f.data.push_back(scatter_trace(t, n_pcs, "activations", false));
  const fs::path applied = dir / (std::string(sc::kProjectionsApplied) + ".csv");
  if (fs::exists(applied))
    f.data.push_back(scatter_trace(figs::Table(applied), n_pcs, "projected (--apply-to)", true));
  if (n_pcs >= 3) {
    // The whole cube in view: the scene keeps clear of the colour bar on the right, the camera
    // stands back far enough that no corner (nor the "PC 3" title at the left) leaves the
    // page, equal axis lengths whatever the PCs' variances, and ticks every ~1/6 of an axis.
    json ax[3];
    for (int a = 0; a < 3; ++a) {
      ax[a] = figs::axis("PC " + std::to_string(a + 1));
      ax[a]["nticks"] = 7;
    }
    f.layout = {{"scene",
                 {{"xaxis", ax[0]},
                  {"yaxis", ax[1]},
                  {"zaxis", ax[2]},
                  {"domain", {{"x", {0.0, 0.84}}, {"y", {0.0, 1.0}}}},
                  {"aspectmode", "cube"},
                  {"camera", {{"eye", {{"x", 1.6}, {"y", 1.6}, {"z", 1.05}}}}}}},
                {"margin", {{"l", 10}, {"r", 10}, {"b", 10}, {"t", 50}}},
                {"title", figs::title(f.title)}};
  } else {
    f.layout = {{"xaxis", figs::axis("PC 1")},
                {"yaxis", figs::axis(n_pcs >= 2 ? "PC 2" : "")},
                {"title", figs::title(f.title)}};
  }
  f.layout["showlegend"] = f.data.size() > 1;
  return f;
}

constexpr double kMarkFont = 12, kMarkSize = 9;
constexpr int kMargin[4] = {80, 80, 100, 80};  // l, r, t, b of the variance page

// Text positions of the threshold marks on the cumulative curve (y2, range 0..102): marks of
// neighbouring components sit a few pixels apart (88% at 2, 90% at 3), so each label takes the
// first position, in component order, where it stays in the plot and clear of the labels and
// marks before it (figs::label_box pixels).
json mark_positions(const Figure& f, const json& mx, const json& my, const json& text,
                    std::size_t n) {
  const figs::Frame frame = {kMargin[0],
                             kMargin[2],
                             f.width - kMargin[0] - kMargin[1] + 0.0,
                             f.height - kMargin[2] - kMargin[3] + 0.0,
                             0.0,
                             static_cast<double>(n + 1),
                             0.0,
                             102.0};
  std::vector<figs::Box> taken;
  for (std::size_t i = 0; i < mx.size(); ++i) {
    const double x = frame.px(mx[i].get<double>()), y = frame.py(my[i].get<double>());
    const double m = kMarkSize / 2;
    taken.push_back({x - m, y - m, x + m, y + m});
  }
  json pos = json::array();
  for (std::size_t i = 0; i < mx.size(); ++i) {
    const double x = frame.px(mx[i].get<double>()), y = frame.py(my[i].get<double>());
    const std::size_t chars = text[i].get<std::string>().size();
    std::string chosen = "bottom right";  // the old place, when nothing fits
    for (const char* p :
         {"bottom right", "top left", "middle right", "bottom left", "top right", "middle left"}) {
      const figs::Box b = figs::label_box(x, y, p, chars, kMarkFont, kMarkSize);
      bool clear = b.inside(frame.area());
      for (std::size_t j = 0; clear && j < taken.size(); ++j)
        clear = j == i || !b.overlaps(taken[j]);
      if (!clear) continue;
      chosen = p;
      taken.push_back(b);
      break;
    }
    pos.push_back(chosen);
  }
  return pos;
}

Figure variance_figure(const json& pca) {
  // the full spectrum when the solver computed it, else the k components kept
  const json& ratio = pca.contains(sc::kJsonSpectrum) &&
                              pca[sc::kJsonSpectrum].contains(sc::kJsonExplainedVarianceRatio)
                          ? pca[sc::kJsonSpectrum][sc::kJsonExplainedVarianceRatio]
                          : pca.at(sc::kJsonExplainedVarianceRatio);
  json x = json::array(), pct = json::array(), cum = json::array();
  double c = 0;
  for (std::size_t i = 0; i < ratio.size(); ++i) {
    x.push_back(i + 1);
    pct.push_back(100.0 * ratio[i].get<double>());
    c += ratio[i].get<double>();
    cum.push_back(100.0 * c);
  }
  Figure f;
  f.name = "explained_variance";
  f.title = "PCA explained variance";
  f.data.push_back({{"type", "scatter"},
                    {"mode", "lines+markers"},
                    {"name", "explained variance (%)"},
                    {"x", x},
                    {"y", pct},
                    {"marker", {{"size", 5}, {"color", "#1f77b4"}}}});
  f.data.push_back({{"type", "scatter"},
                    {"mode", "lines"},
                    {"name", "cumulative (%)"},
                    {"x", x},
                    {"y", cum},
                    {"yaxis", "y2"},
                    {"line", {{"color", "#ff7f0e"}}}});
  json shapes = json::array(), annotations = json::array();
  json mx = json::array(), my = json::array(), mtext = json::array();
  if (pca.contains(sc::kJsonComponentsFor)) {
    // One mark per component: thresholds reached by the same component share one label
    // ("70%, 80%: 2"), which two labels at one point would print on top of each other.
    const json& counts = pca[sc::kJsonComponentsFor];
    std::map<int, std::string> marks;  // component -> "70%, 80%"
    for (const char* p : {"70", "80", "90", "95"}) {
      if (!counts.contains(p) || !counts[p].is_number()) continue;
      const int n = counts[p].get<int>();
      if (n < 1 || static_cast<std::size_t>(n) > ratio.size()) continue;
      auto& m = marks[n];
      m += (m.empty() ? "" : ", ") + std::string(p) + "%";
      shapes.push_back({{"type", "line"},
                        {"xref", "paper"},
                        {"yref", "y2"},
                        {"x0", 0},
                        {"x1", 1},
                        {"y0", std::stod(p)},
                        {"y1", std::stod(p)},
                        {"line", {{"color", "#bbbbbb"}, {"dash", "dot"}, {"width", 1}}}});
    }
    for (const auto& [n, what] : marks) {
      mx.push_back(n);
      my.push_back(cum[static_cast<std::size_t>(n - 1)]);
      mtext.push_back(what + ": " + std::to_string(n));
    }
  }
  if (!mx.empty())
    f.data.push_back(
        {{"type", "scatter"},
         {"mode", "markers+text"},
         {"name", "components for 70/80/90/95%"},
         {"x", mx},
         {"y", my},
         {"yaxis", "y2"},
         {"text", mtext},
         {"textposition", mark_positions(f, mx, my, mtext, ratio.size())},
         {"textfont", {{"size", kMarkFont}}},
         {"marker", {{"size", kMarkSize}, {"color", "#2ca02c"}, {"symbol", "diamond"}}}});
  if (pca.contains(sc::kJsonElbow) && pca[sc::kJsonElbow].is_number()) {
    const int e = pca[sc::kJsonElbow].get<int>();
    if (e >= 1 && static_cast<std::size_t>(e) <= ratio.size())
      f.data.push_back({{"type", "scatter"},
                        {"mode", "markers+text"},
                        {"name", "elbow"},
                        {"x", {e}},
                        {"y", {pct[static_cast<std::size_t>(e - 1)]}},
                        {"text", {"elbow: " + std::to_string(e)}},
                        {"textposition", "top right"},
                        {"marker", {{"size", 12}, {"color", "#d62728"}, {"symbol", "x"}}}});
  }
  json xaxis = figs::axis("Component");
  xaxis["range"] = {0, ratio.size() + 1};  // fixed: the marks' labels are placed in pixels
  f.layout = {
      {"title", figs::title(f.title)},
      {"xaxis", xaxis},
      {"margin", {{"l", kMargin[0]}, {"r", kMargin[1]}, {"t", kMargin[2]}, {"b", kMargin[3]}}},
      {"yaxis", figs::axis("Explained variance (%)")},
      {"yaxis2",
       {{"title", {{"text", "Cumulative (%)"}}},
        {"overlaying", "y"},
        {"side", "right"},
        // its own round ticks (0, 20, ... 100), not plotly's default "sync" to the left
        // axis's positions; no second grid
        {"tickmode", "auto"},
        {"showgrid", false},
        {"range", {0, 102}}}},
      {"shapes", shapes},
      {"legend", {{"x", 0.55}, {"y", 0.45}}}};
  return f;
}

}  // namespace

std::vector<Figure> pca_figures(const fs::path& dir) {
  return {scatter_figure(dir), variance_figure(figs::read_json(dir / sc::kJson))};
}

}  // namespace actlens::report
