// tsne / dbscan / cluster: the RSA seed's Exercise 5 plot per space: the 2-D points coloured by
// cluster with a line from each to its cluster's centroid, noise as black '+', centroids as
// yellow diamonds, every point labelled with its word.
#include <algorithm>
#include <cctype>
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

struct Points2d {
  std::vector<std::string> names;
  std::vector<double> x, y;
  std::vector<int> cluster;  // empty: not clustered
};

Points2d load(const fs::path& dir) {
  Points2d p;
  if (fs::exists(dir / "labels.csv")) {
    const figs::Table t(dir / "labels.csv");
    p.names = t.text("name");
    for (double c : t.numbers("cluster")) p.cluster.push_back(static_cast<int>(c));
    if (t.has("x1")) {
      p.x = t.numbers("x1");
      p.y = t.numbers("x2");
      return p;
    }
  }
  if (fs::exists(dir / "tsne.csv")) {
    const figs::Table t(dir / "tsne.csv");
    if (p.names.empty()) p.names = t.text("name");
    p.x = t.numbers("tsne1");
    p.y = t.has("tsne2") ? t.numbers("tsne2") : std::vector<double>(t.rows(), 0.0);
  }
  return p;
}

Figure scatter_figure(const Points2d& p, const std::string& prefix, const std::string& space,
                      const std::string& xlabel, const std::string& ylabel) {
  Figure f;
  const bool clustered = !p.cluster.empty();
  f.name = prefix + (clustered ? "clusters" : "embedding");
  f.title = (clustered ? "tSNE+DBscan" : "tSNE") + std::string(space.empty() ? "" : " on " + space);
  f.width = 800;
  f.height = 650;
  const bool text = p.x.size() <= kMaxTextLabels;
  if (!clustered) {
    f.data.push_back({{"type", "scatter"},
                      {"mode", text ? "markers+text" : "markers"},
                      {"name", "points"},
                      {"x", p.x},
                      {"y", p.y},
                      {"text", p.names},
                      {"textposition", "top center"},
                      {"marker", {{"size", 8}, {"color", "#1f77b4"}}}});
  } else {
    const int n_clusters =
        p.cluster.empty() ? 0 : *std::max_element(p.cluster.begin(), p.cluster.end()) + 1;
    std::vector<double> cx(static_cast<std::size_t>(n_clusters), 0.0),
        cy(static_cast<std::size_t>(n_clusters), 0.0),
        cn(static_cast<std::size_t>(n_clusters), 0.0);
    for (std::size_t i = 0; i < p.x.size(); ++i)
      if (p.cluster[i] >= 0) {
        const auto c = static_cast<std::size_t>(p.cluster[i]);
        cx[c] += p.x[i];
        cy[c] += p.y[i];
        cn[c] += 1;
      }
    for (std::size_t c = 0; c < cx.size(); ++c) {
      cx[c] /= std::max(cn[c], 1.0);
      cy[c] /= std::max(cn[c], 1.0);
    }
    // lines to the centroids, one trace per cluster (segments separated by null)
    for (int c = 0; c < n_clusters; ++c) {
      json lx = json::array(), ly = json::array();
      for (std::size_t i = 0; i < p.x.size(); ++i)
        if (p.cluster[i] == c) {
          lx.insert(lx.end(), {json(p.x[i]), json(cx[static_cast<std::size_t>(c)]), json(nullptr)});
          ly.insert(ly.end(), {json(p.y[i]), json(cy[static_cast<std::size_t>(c)]), json(nullptr)});
        }
      f.data.push_back({{"type", "scatter"},
                        {"mode", "lines"},
                        {"name", "cluster " + std::to_string(c) + " links"},
                        {"showlegend", false},
                        {"hoverinfo", "skip"},
                        {"x", lx},
                        {"y", ly},
                        {"line", {{"color", cluster_colour(c)}, {"width", 1}}}});
    }
    for (int c = -1; c < n_clusters; ++c) {
      json x = json::array(), y = json::array(), names = json::array();
      for (std::size_t i = 0; i < p.x.size(); ++i)
        if (p.cluster[i] == c) {
          x.push_back(p.x[i]);
          y.push_back(p.y[i]);
          names.push_back(p.names[i]);
        }
      if (x.empty()) continue;
      json marker = c < 0 ? json{{"symbol", "cross-thin"},
                                 {"size", 10},
                                 {"line", {{"color", "black"}, {"width", 2}}}}
                          : json{{"symbol", "circle"},
                                 {"size", 9},
                                 {"color", cluster_colour(c)},
                                 {"line", {{"color", cluster_colour(c)}, {"width", 1}}}};
      f.data.push_back({{"type", "scatter"},
                        {"mode", text ? "markers+text" : "markers"},
                        {"name", c < 0 ? std::string("noise") : "cluster " + std::to_string(c)},
                        {"x", x},
                        {"y", y},
                        {"text", names},
                        {"textposition", "top center"},
                        {"textfont", {{"size", 10}}},
                        {"marker", marker}});
    }
    if (n_clusters > 0)
      f.data.push_back({{"type", "scatter"},
                        {"mode", "markers"},
                        {"name", "centroids"},
                        {"x", cx},
                        {"y", cy},
                        {"marker",
                         {{"symbol", "diamond"},
                          {"size", 12},
                          {"color", "rgb(204,179,26)"},
                          {"line", {{"color", "black"}, {"width", 1}}}}}});
  }
  f.layout = {{"title", figs::title(f.title)},
              {"xaxis", figs::axis(xlabel)},
              {"yaxis", figs::axis(ylabel)}};
  return f;
}

// Cluster sizes when the clustered points are not 2-D (dbscan on activations).
Figure sizes_figure(const Points2d& p, const std::string& prefix) {
  std::map<int, int> count;
  for (int c : p.cluster) ++count[c];
  json x = json::array(), y = json::array();
  for (const auto& [c, n] : count) {
    x.push_back(c < 0 ? std::string("noise") : "cluster " + std::to_string(c));
    y.push_back(n);
  }
  Figure f;
  f.name = prefix + "cluster_sizes";
  f.title = "DBSCAN cluster sizes (the points are not 2-D, so they are not drawn)";
  f.data.push_back({{"type", "bar"}, {"name", "points"}, {"x", x}, {"y", y}});
  f.layout = {{"title", figs::title(f.title)}, {"yaxis", figs::axis("Points")}};
  return f;
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
  std::sort(subs.begin(), subs.end());
  // cluster: one folder per space, in name order
  dirs.insert(dirs.end(), subs.begin(), subs.end());
  if (dirs.empty())
    throw Error(run.string() +
                ": no tsne.csv or labels.csv (is this a tsne, dbscan or cluster run?)");
  std::vector<Figure> out;
  for (const auto& d : dirs) {
    const Points2d p = load(d);
    const std::string prefix = figs::name_prefix(run, d);
    const std::string space = prefix.empty() ? "" : d.filename().string();
    if (p.x.empty()) {
      out.push_back(sizes_figure(p, prefix));
      continue;
    }
    const bool tsne = fs::exists(d / "tsne.csv");
    out.push_back(
        scatter_figure(p, prefix, space, tsne ? "tSNE axis 1" : "x1", tsne ? "tSNE axis 2" : "x2"));
  }
  return out;
}

}  // namespace actlens::report
