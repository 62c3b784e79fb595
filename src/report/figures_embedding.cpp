// tsne / dbscan / cluster: the RSA seed's Exercise 5 plot per space: the 2-D points coloured by
// cluster with a line from each to its cluster's centroid, noise as black '+', centroids as
// yellow diamonds, every point labelled with its word; 3-D points (tsne --dims 3) the same in a
// 3-D scene.
#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>

#include "actlens/error.hpp"
#include "actlens/report/figure_sets.hpp"
#include "figure_inputs.hpp"

namespace actlens::report {
namespace fs = std::filesystem;
using figs::json;

namespace {

constexpr std::size_t kMaxTextLabels = 300;  // more words than this: hover only

// The seed's 'rkbgm' line colours, then tab10.
std::string cluster_colour(int c) {
  static const char* seed[] = {"red", "black", "blue", "green", "magenta"};
  if (c < 5) return seed[c];
  return figs::tab10()[static_cast<std::size_t>(c - 5) % figs::tab10().size()];
}

// The points as the run wrote them: 2-D, or 3-D (z filled) for `tsne --dims 3` and for
// `dbscan` of 3-column points.
struct Points {
  std::vector<std::string> names;
  std::vector<double> x, y, z;
  std::vector<int> cluster;  // empty: not clustered
  bool three_d() const { return !z.empty(); }
};

Points load(const fs::path& dir) {
  Points p;
  if (fs::exists(dir / "labels.csv")) {
    const figs::Table t(dir / "labels.csv");
    p.names = t.text("name");
    for (double c : t.numbers("cluster")) p.cluster.push_back(static_cast<int>(c));
    if (t.has("x1")) {
      p.x = t.numbers("x1");
      p.y = t.numbers("x2");
      if (t.has("x3")) p.z = t.numbers("x3");
      return p;
    }
  }
  if (fs::exists(dir / "tsne.csv")) {
    const figs::Table t(dir / "tsne.csv");
    if (p.names.empty()) p.names = t.text("name");
    p.x = t.numbers("tsne1");
    p.y = t.has("tsne2") ? t.numbers("tsne2") : std::vector<double>(t.rows(), 0.0);
    if (t.has("tsne3")) p.z = t.numbers("tsne3");
  }
  return p;
}

// One trace of the points i for which keep(i): scatter, or scatter3d when the points are 3-D
// (plotly's 3-D markers know fewer symbols and are sized smaller).
template <class Keep>
json points_trace(const Points& p, Keep keep, bool text) {
  json x = json::array(), y = json::array(), z = json::array(), names = json::array();
  for (std::size_t i = 0; i < p.x.size(); ++i)
    if (keep(i)) {
      x.push_back(p.x[i]);
      y.push_back(p.y[i]);
      if (p.three_d()) z.push_back(p.z[i]);
      names.push_back(p.names[i]);
    }
  json t = {{"type", p.three_d() ? "scatter3d" : "scatter"},
            {"mode", text ? "markers+text" : "markers"},
            {"x", x},
            {"y", y},
            {"text", names},
            {"textposition", "top center"}};
  if (p.three_d()) t["z"] = z;
  return t;
}

std::vector<double> centroid_axis(const Points& p, const std::vector<double>& v, int n_clusters) {
  std::vector<double> sum(static_cast<std::size_t>(n_clusters), 0.0), n = sum;
  for (std::size_t i = 0; i < v.size(); ++i)
    if (p.cluster[i] >= 0) {
      sum[static_cast<std::size_t>(p.cluster[i])] += v[i];
      n[static_cast<std::size_t>(p.cluster[i])] += 1;
    }
  for (std::size_t c = 0; c < sum.size(); ++c) sum[c] /= std::max(n[c], 1.0);
  return sum;
}

// Clustered points: per cluster a line from each member to the centroid (segments separated by
// null), then noise, the clusters and the centroids.
void add_cluster_traces(Figure& f, const Points& p, bool text) {
  const bool d3 = p.three_d();
  const int n_clusters = *std::max_element(p.cluster.begin(), p.cluster.end()) + 1;
  const std::vector<double> cx = centroid_axis(p, p.x, n_clusters),
                            cy = centroid_axis(p, p.y, n_clusters),
                            cz = d3 ? centroid_axis(p, p.z, n_clusters) : std::vector<double>{};
  for (int c = 0; c < n_clusters; ++c) {
    const auto k = static_cast<std::size_t>(c);
    json lx = json::array(), ly = json::array(), lz = json::array();
    for (std::size_t i = 0; i < p.x.size(); ++i)
      if (p.cluster[i] == c) {
        lx.insert(lx.end(), {json(p.x[i]), json(cx[k]), json(nullptr)});
        ly.insert(ly.end(), {json(p.y[i]), json(cy[k]), json(nullptr)});
        if (d3) lz.insert(lz.end(), {json(p.z[i]), json(cz[k]), json(nullptr)});
      }
    json t = {{"type", d3 ? "scatter3d" : "scatter"},
              {"mode", "lines"},
              {"name", "cluster " + std::to_string(c) + " links"},
              {"showlegend", false},
              {"hoverinfo", "skip"},
              {"x", lx},
              {"y", ly},
              {"line", {{"color", cluster_colour(c)}, {"width", d3 ? 2 : 1}}}};
    if (d3) t["z"] = lz;
    f.data.push_back(t);
  }
  for (int c = -1; c < n_clusters; ++c) {
    if (std::find(p.cluster.begin(), p.cluster.end(), c) == p.cluster.end()) continue;
    json t = points_trace(
        p, [&](std::size_t i) { return p.cluster[i] == c; }, text);
    t["name"] = c < 0 ? std::string("noise") : "cluster " + std::to_string(c);
    t["textfont"] = {{"size", 10}};
    if (c < 0)
      t["marker"] = {{"symbol", d3 ? "cross" : "cross-thin"},
                     {"size", d3 ? 4 : 10},
                     {"color", "black"},
                     {"line", {{"color", "black"}, {"width", 2}}}};
    else
      t["marker"] = {{"symbol", "circle"},
                     {"size", d3 ? 5 : 9},
                     {"color", cluster_colour(c)},
                     {"line", {{"color", cluster_colour(c)}, {"width", 1}}}};
    f.data.push_back(t);
  }
  if (n_clusters == 0) return;
  json t = {{"type", d3 ? "scatter3d" : "scatter"},
            {"mode", "markers"},
            {"name", "centroids"},
            {"x", cx},
            {"y", cy},
            {"marker",
             {{"symbol", "diamond"},
              {"size", d3 ? 7 : 12},
              {"color", "rgb(204,179,26)"},
              {"line", {{"color", "black"}, {"width", 1}}}}}};
  if (d3) t["z"] = cz;
  f.data.push_back(t);
}

Figure scatter_figure(const Points& p, const std::string& prefix, const std::string& space,
                      const std::string& axis_name) {
  Figure f;
  const bool clustered = !p.cluster.empty();
  f.name = prefix + (clustered ? "clusters" : "embedding");
  f.title = (clustered ? "tSNE+DBscan" : "tSNE") + std::string(space.empty() ? "" : " on " + space);
  f.width = 800;
  f.height = 650;
  const bool text = p.x.size() <= kMaxTextLabels;
  if (!clustered) {
    json t = points_trace(
        p, [](std::size_t) { return true; }, text);
    t["name"] = "points";
    t["marker"] = {{"size", p.three_d() ? 4 : 8}, {"color", "#1f77b4"}};
    f.data.push_back(t);
  } else {
    add_cluster_traces(f, p, text);
  }
  f.layout = {{"title", figs::title(f.title)}};
  if (!p.three_d()) {
    f.layout["xaxis"] = figs::axis(axis_name + "1");
    f.layout["yaxis"] = figs::axis(axis_name + "2");
    return f;
  }
  // 3-D: a cube whatever the spreads, seen from further out than plotly's default eye (1.25)
  // and left of the legend, so the whole cube with its tick labels and titles stays in view.
  f.layout["scene"] = {{"xaxis", figs::axis(axis_name + "1")},
                       {"yaxis", figs::axis(axis_name + "2")},
                       {"zaxis", figs::axis(axis_name + "3")},
                       {"aspectmode", "cube"},
                       {"domain", {{"x", {0.0, clustered ? 0.82 : 1.0}}, {"y", {0.0, 1.0}}}},
                       {"camera", {{"eye", {{"x", 1.5}, {"y", 1.5}, {"z", 1.1}}}}}};
  f.layout["margin"] = {{"l", 10}, {"r", 10}, {"b", 10}, {"t", 60}};
  return f;
}

// Cluster sizes when the clustered points are not 2-D (dbscan on activations).
Figure sizes_figure(const Points& p, const std::string& prefix) {
  std::map<int, int> count;
  for (int c : p.cluster) ++count[c];
  json x = json::array(), y = json::array();
  for (const auto& [c, n] : count) {
    x.push_back(c < 0 ? std::string("noise") : "cluster " + std::to_string(c));
    y.push_back(n);
  }
  Figure f;
  f.name = prefix + "cluster_sizes";
  f.title = "DBSCAN cluster sizes (the points are not 2-D or 3-D, so they are not drawn)";
  f.data.push_back({{"type", "bar"}, {"name", "points"}, {"x", x}, {"y", y}});
  f.layout = {{"title", figs::title(f.title)}, {"yaxis", figs::axis("Points")}};
  return f;
}

// The spaces of a cluster run in the order given: cluster.json's keys as written (parsed into
// an ordered_json; plain json would sort them). Empty when there is no cluster.json.
std::vector<std::string> space_order(const fs::path& run) {
  std::vector<std::string> names;
  std::ifstream in(run / "cluster.json");
  if (!in) return names;
  const auto j = nlohmann::ordered_json::parse(in, nullptr, false);
  if (!j.is_object())
    throw Error((run / "cluster.json").string() + ": not a JSON object (is this a cluster run?)");
  for (const auto& [name, v] : j.items()) names.push_back(name);
  return names;
}

}  // namespace

std::vector<Figure> embedding_figures(const fs::path& run) {
  std::vector<fs::path> dirs;
  const auto holds = [](const fs::path& d) {
    return fs::exists(d / "tsne.csv") || fs::exists(d / "labels.csv");
  };
  if (holds(run)) dirs.push_back(run);
  std::vector<fs::path> subs;
  for (const auto& e : fs::directory_iterator(run))
    if (e.is_directory() && holds(e.path())) subs.push_back(e.path());
  // cluster: one folder per space, in the order given on the command line (cluster.json's key
  // order); folders it does not name follow by name
  std::sort(subs.begin(), subs.end());
  std::size_t placed = 0;
  for (const std::string& name : space_order(run)) {
    const auto it =
        std::find(subs.begin() + static_cast<std::ptrdiff_t>(placed), subs.end(), run / name);
    if (it != subs.end())
      std::rotate(subs.begin() + static_cast<std::ptrdiff_t>(placed++), it, it + 1);
  }
  dirs.insert(dirs.end(), subs.begin(), subs.end());
  if (dirs.empty())
    throw Error(run.string() +
                ": no tsne.csv or labels.csv (is this a tsne, dbscan or cluster run?)");
  std::vector<Figure> out;
  for (const auto& d : dirs) {
    const Points p = load(d);
    const std::string prefix = figs::name_prefix(run, d);
    const std::string space = prefix.empty() ? "" : d.filename().string();
    if (p.x.empty()) {
      out.push_back(sizes_figure(p, prefix));
      continue;
    }
    const bool tsne = fs::exists(d / "tsne.csv");
    out.push_back(scatter_figure(p, prefix, space, tsne ? "tSNE axis " : "x"));
  }
  return out;
}

}  // namespace actlens::report
