// ged: the seed's layer plots: |t| of the GED projections (train and test, both directions) and
// |r| of the two patterns with Bonferroni significance markers, the top eigenvalues, and the
// number of PCA components kept.
#include <cmath>

#include "actlens/report/figure_sets.hpp"
#include "actlens/report/schema.hpp"
#include "figure_inputs.hpp"

namespace actlens::report {
namespace fs = std::filesystem;
using figs::json;
namespace sc = schema::ged;

namespace {

bool any_finite(const std::vector<double>& v) {
  for (double x : v)
    if (std::isfinite(x)) return true;
  return false;
}

// One series of the seed's t/r panels: a thin line through every layer, markers filled with
// `face` where p < alpha and red crosses where not (the seed's 'rx').
json significance_trace(const std::string& name, const json& x, const std::vector<double>& y,
                        const std::vector<double>& p, double alpha, const std::string& symbol,
                        const std::string& face, const std::string& axis_suffix,
                        const std::vector<std::string>& layer_names) {
  json symbols = json::array(), colours = json::array(), lines = json::array(),
       hover = json::array();
  for (std::size_t i = 0; i < y.size(); ++i) {
    const bool sig = std::isfinite(p[i]) && p[i] < alpha;
    symbols.push_back(sig ? symbol : "x");
    colours.push_back(sig ? face : "red");
    lines.push_back(sig ? "black" : "red");
    char buf[96];
    std::snprintf(buf, sizeof buf, "%.4g (p = %.3g%s)", y[i], p[i], sig ? "" : ", n.s.");
    hover.push_back(name + ", " + layer_names[i] + ": " + buf);
  }
  return {{"type", "scatter"},
          {"mode", "lines+markers"},
          {"name", name},
          {"x", x},
          {"y", y},
          {"xaxis", "x" + axis_suffix},
          {"yaxis", "y" + axis_suffix},
          {"hovertext", hover},
          {"hoverinfo", "text"},
          {"line", {{"color", face}, {"width", 1.5}}},
          {"marker",
           {{"symbol", symbols},
            {"color", colours},
            {"size", 9},
            {"line", {{"color", lines}, {"width", 1}}}}}};
}

}  // namespace

std::vector<Figure> ged_figures(const fs::path& dir) {
  const figs::Table t(dir / sc::kLayers);
  const json ged = figs::read_json(dir / sc::kJson);
  const double alpha = ged.value(sc::kJsonBonferroniAlpha, 0.05 / static_cast<double>(t.rows()));
  const std::string a =
      ged.contains(sc::kJsonClasses) ? ged[sc::kJsonClasses].value("a", "a") : "a";
  const std::string b =
      ged.contains(sc::kJsonClasses) ? ged[sc::kJsonClasses].value("b", "b") : "b";
  const auto names = t.text(sc::kLayer);
  json xtix = json::array(), layer_x = json::array();
  for (std::size_t i = 0; i < t.rows(); ++i) {
    xtix.push_back(i + 1);  // the seed's xtix = 1..numLayers
    layer_x.push_back(i);
  }
  std::vector<Figure> out;

  Figure tr;
  tr.name = "t_and_r";
  tr.title = "Magnitude of t-tests and correlation of the " + a + "/" + b + " patterns per layer";
  tr.width = 1200;
  tr.height = 460;
  struct Series {
    std::string label, t_col, p_col, symbol, face;
  };
  const std::vector<Series> series = {
      {"TRAIN " + a + ">" + b, sc::kTrainAbsTAB, sc::kTrainPAB, "circle", "rgb(179,179,230)"},
      {"TRAIN " + b + ">" + a, sc::kTrainAbsTBA, sc::kTrainPBA, "square", "rgb(230,179,179)"},
      {"TEST " + a + ">" + b, sc::kTestAbsTAB, sc::kTestPAB, "triangle-up", "rgb(179,230,179)"},
      {"TEST " + b + ">" + a, sc::kTestAbsTBA, sc::kTestPBA, "diamond", "rgb(179,230,230)"}};
  for (const auto& s : series) {
    if (!t.has(s.t_col)) continue;
    const auto y = t.numbers(s.t_col);
    if (!any_finite(y)) continue;  // no --test set
    tr.data.push_back(significance_trace(s.label, xtix, y, t.numbers(s.p_col), alpha, s.symbol,
                                         s.face, "", names));
  }
  tr.data.push_back(significance_trace("|r| of the patterns", xtix, t.numbers(sc::kPatternAbsR),
                                       t.numbers(sc::kPatternP), alpha, "circle",
                                       "rgb(179,230,230)", "2", names));
  char alpha_text[64];
  std::snprintf(alpha_text, sizeof alpha_text, "%.3g", alpha);
  tr.layout = {
      {"title", figs::title("Magnitude of t-tests (left) and correlation between the \"" + a +
                            "\" and \"" + b + "\" patterns (right)<br><sub>filled: p < " +
                            alpha_text + " (0.05 / layers); red x: not significant</sub>")},
      {"xaxis",
       {{"title", {{"text", "Layer"}}}, {"domain", {0.0, 0.46}}, {"anchor", "y"}, {"dtick", 1}}},
      {"yaxis", {{"title", {{"text", "|t| value"}}}, {"rangemode", "tozero"}, {"anchor", "x"}}},
      {"xaxis2",
       {{"title", {{"text", "Layer"}}}, {"domain", {0.56, 1.0}}, {"anchor", "y2"}, {"dtick", 1}}},
      {"yaxis2", {{"title", {{"text", "|r| value"}}}, {"rangemode", "tozero"}, {"anchor", "x2"}}},
      {"legend", {{"orientation", "h"}, {"y", -0.2}}}};
  out.push_back(std::move(tr));

  Figure ev;
  ev.name = "top_eigenvalues";
  ev.title = "Largest eigenvalue from GEDs";
  // the seed's 'ko-' / 'ks-' lines, shifted by -0.1 / +0.1 so both stay visible
  const auto eig_trace = [&](const std::string& name, const std::string& column, double shift,
                             const char* symbol, const char* face) {
    json x = json::array();
    for (std::size_t i = 0; i < t.rows(); ++i) x.push_back(static_cast<double>(i) + shift);
    return json{{"type", "scatter"},
                {"mode", "lines+markers"},
                {"name", name},
                {"x", x},
                {"y", t.numbers(column)},
                {"text", names},
                {"line", {{"color", "black"}, {"width", 0.5}}},
                {"marker",
                 {{"symbol", symbol},
                  {"size", 10},
                  {"color", face},
                  {"line", {{"color", "black"}, {"width", 1}}}}}};
  };
  ev.data.push_back(
      eig_trace(a + " > " + b, sc::kTopEigenvalueAB, -0.1, "circle", "rgb(179,230,179)"));
  ev.data.push_back(
      eig_trace(b + " > " + a, sc::kTopEigenvalueBA, 0.1, "square", "rgb(179,179,230)"));
  ev.layout = {{"title", figs::title(ev.title)},
               {"xaxis",
                {{"title", {{"text", "Transformer layer"}}},
                 {"range", {-0.5, static_cast<double>(t.rows()) - 0.5}},
                 {"dtick", 1}}},
               {"yaxis", figs::axis("Eigenvalue magnitude")}};
  out.push_back(std::move(ev));

  Figure nc;
  nc.name = "components_kept";
  const std::string rule = ged.value(sc::kJsonComponentRule, std::string("the seed's 99% rule"));
  nc.title = "Number of components to explain 99% variability";
  nc.data.push_back({{"type", "scatter"},
                     {"mode", "lines+markers"},
                     {"name", "components kept"},
                     {"x", layer_x},
                     {"y", t.numbers(sc::kNComponents)},
                     {"text", names},
                     {"line", {{"color", "black"}, {"width", 0.5}}},
                     {"marker",
                      {{"symbol", "hexagon"},
                       {"size", 14},
                       {"color", "rgb(230,179,230)"},
                       {"line", {{"color", "black"}, {"width", 1}}}}}});
  nc.layout = {{"title", figs::title(nc.title + "<br><sub>" + rule + "</sub>")},
               {"xaxis",
                {{"title", {{"text", "Transformer layer"}}},
                 {"range", {-0.5, static_cast<double>(t.rows()) - 0.5}},
                 {"dtick", 1}}},
               {"yaxis", figs::axis("Count")}};
  out.push_back(std::move(nc));
  return out;
}

}  // namespace actlens::report
