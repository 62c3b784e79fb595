// pca: the seed's 3-D scatter (tab10 colour per label, hover with label and text) and the
// explained-variance curve with its elbow and the 70/80/90/95% marks.
#include <algorithm>
#include <map>

#include "actlens/error.hpp"
#include "actlens/report/figure_sets.hpp"
#include "actlens/report/schema.hpp"
#include "figure_inputs.hpp"

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
    f.layout = {{"scene",
                 {{"xaxis", figs::axis("PC 1")},
                  {"yaxis", figs::axis("PC 2")},
                  {"zaxis", figs::axis("PC 3")}}},
                {"margin", {{"l", 0}, {"r", 0}, {"b", 0}, {"t", 30}}},
                {"title", figs::title(f.title)}};
  } else {
    f.layout = {{"xaxis", figs::axis("PC 1")},
                {"yaxis", figs::axis(n_pcs >= 2 ? "PC 2" : "")},
                {"title", figs::title(f.title)}};
  }
  f.layout["showlegend"] = f.data.size() > 1;
  return f;
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
    const json& counts = pca[sc::kJsonComponentsFor];
    for (const char* p : {"70", "80", "90", "95"}) {
      if (!counts.contains(p) || !counts[p].is_number()) continue;
      const int n = counts[p].get<int>();
      if (n < 1 || static_cast<std::size_t>(n) > ratio.size()) continue;
      mx.push_back(n);
      my.push_back(cum[static_cast<std::size_t>(n - 1)]);
      mtext.push_back(std::string(p) + "%: " + std::to_string(n));
      shapes.push_back({{"type", "line"},
                        {"xref", "paper"},
                        {"yref", "y2"},
                        {"x0", 0},
                        {"x1", 1},
                        {"y0", std::stod(p)},
                        {"y1", std::stod(p)},
                        {"line", {{"color", "#bbbbbb"}, {"dash", "dot"}, {"width", 1}}}});
    }
  }
  if (!mx.empty())
    f.data.push_back({{"type", "scatter"},
                      {"mode", "markers+text"},
                      {"name", "components for 70/80/90/95%"},
                      {"x", mx},
                      {"y", my},
                      {"yaxis", "y2"},
                      {"text", mtext},
                      {"textposition", "bottom right"},
                      {"marker", {{"size", 9}, {"color", "#2ca02c"}, {"symbol", "diamond"}}}});
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
  f.layout = {{"title", figs::title(f.title)},
              {"xaxis", figs::axis("Component")},
              {"yaxis", figs::axis("Explained variance (%)")},
              {"yaxis2",
               {{"title", {{"text", "Cumulative (%)"}}},
                {"overlaying", "y"},
                {"side", "right"},
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
