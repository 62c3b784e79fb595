// beliefs / steer / train: the belief-geometry seed's figures: the ground-truth simplex (PCA of
// the unique beliefs) beside the regression's predictions, R^2 per layer, the steering bar
// charts, and the training loss against the Bayes-optimal loss.
#include <algorithm>
#include <array>
#include <cmath>
#include <map>

#include "actlens/error.hpp"
#include "actlens/report/figure_sets.hpp"
#include "figure_inputs.hpp"

namespace actlens::report {
namespace fs = std::filesystem;
using figs::json;

namespace {

std::string colour(double index) {
  const auto& c = figs::belief_colours();
  return c[static_cast<std::size_t>(std::max(0.0, index)) % c.size()];
}

// The seed draws PCA dimensions 0 and 2 of the unique beliefs (its axis titles say 1 and 2).
constexpr const char* kX = "pc1";
constexpr const char* kY = "pc3";

// Up to this many beliefs the simplex carries a legend (one entry per belief, its colour; a
// click hides the belief in both panels); above it a legend would not fit, and the palette
// repeats anyway, so points are coloured by belief index on a colour bar instead.
constexpr std::size_t kMaxLegendBeliefs = 48;

// One marker trace on axes (xa, ya).
json points(const std::string& name, const json& x, const json& y, const json& hover,
            const json& marker, const std::string& xa = "x", const std::string& ya = "y") {
  return {{"type", "scatter"},
          {"mode", "markers"},
          {"name", name},
          {"x", x},
          {"y", y},
          {"xaxis", xa},
          {"yaxis", ya},
          {"hovertext", hover},
          {"hoverinfo", "text"},
          {"marker", marker}};
}

// The legend's rows for n entries of up to `chars` characters on a `width`-pixel page (plotly
// wraps a horizontal legend: ~40 px of symbol and gaps plus ~7 px per character an entry).
int legend_rows(std::size_t n, std::size_t chars, int width) {
  const double entry = 40.0 + 7.0 * static_cast<double>(chars);
  const auto per_row = std::max<std::size_t>(1, static_cast<std::size_t>((width - 60) / entry));
  return static_cast<int>((n + per_row - 1) / per_row);
}

Figure simplex_figure(const fs::path& dir) {
  const figs::Table truth(dir / "simplex_beliefs.csv");
  const figs::Table pts(dir / "simplex_points.csv");
  Figure f;
  f.name = "simplex";
  f.title = "2D PCA Projection of Beliefs: ground truth and the residual stream";
  f.width = 1200;
  f.height = 560;
  const auto idx = truth.numbers("belief_index");
  const auto tnames = truth.text("belief_name");
  const auto tx = truth.numbers(kX), ty = truth.numbers(kY);
  const bool legend = idx.size() <= kMaxLegendBeliefs;
  // colour of belief i: the seed's palette, or its index on a colour bar
  double max_index = 1;
  for (double i : idx) max_index = std::max(max_index, i);
  const auto paint = [&](json& marker, const json& indices) {
    if (legend) {
      json c = json::array();
      for (const auto& i : indices) c.push_back(colour(i.get<double>()));
      marker["color"] = c;
    } else {
      marker["color"] = indices;
      marker["colorscale"] = "Viridis";
      marker["cmin"] = 0;
      marker["cmax"] = max_index;
    }
  };
  const json outline = {{"color", "black"}, {"width", 0.5}};
  // predictions: every (input, position), faint, and their centre of mass per belief (the seed)
  const auto b = pts.numbers("belief_index");
  const auto names = pts.text("belief_name");
  const auto px = pts.numbers(std::string("pred_") + kX),
             py = pts.numbers(std::string("pred_") + kY);
  std::map<int, std::array<double, 3>> com;  // belief -> sum x, sum y, count
  for (std::size_t i = 0; i < b.size(); ++i) {
    auto& s = com[static_cast<int>(b[i])];
    s[0] += px[i];
    s[1] += py[i];
    s[2] += 1;
  }
  if (legend) {
    // per belief: its ground-truth point (with the legend entry) and its predictions' centre
    // of mass, one legend group
    for (std::size_t r = 0; r < idx.size(); ++r) {
      json m = {{"size", 9}, {"color", colour(idx[r])}, {"line", outline}};
      json t = points(tnames[r], {tx[r]}, {ty[r]}, {tnames[r]}, m);
      t["legendgroup"] = "belief " + std::to_string(static_cast<long>(idx[r]));
      f.data.push_back(std::move(t));
    }
  } else {
    // thousands of points: smaller, without outlines, so the colours stay visible
    json m = {
        {"size", 5}, {"showscale", true}, {"colorbar", {{"title", {{"text", "belief index"}}}}}};
    paint(m, idx);
    f.data.push_back(points("unique beliefs", tx, ty, tnames, m));
  }
  json pm = {{"size", 3}, {"opacity", 0.25}};
  paint(pm, b);
  json pred = points("predictions", px, py, names, pm, "x2", "y2");
  pred["type"] = "scattergl";
  pred["showlegend"] = false;
  f.data.push_back(std::move(pred));
  std::map<int, std::string> label;
  for (std::size_t r = 0; r < idx.size(); ++r) label[static_cast<int>(idx[r])] = tnames[r];
  for (std::size_t i = 0; i < b.size(); ++i) label.emplace(static_cast<int>(b[i]), names[i]);
  json cx = json::array(), cy = json::array(), ci = json::array(), ct = json::array();
  for (const auto& [k, s] : com) {
    if (legend) {
      json t = points(label[k], {s[0] / s[2]}, {s[1] / s[2]}, {label[k] + " (centre of mass)"},
                      {{"size", 9}, {"color", colour(k)}, {"line", outline}}, "x2", "y2");
      t["legendgroup"] = "belief " + std::to_string(k);
      t["showlegend"] = false;
      f.data.push_back(std::move(t));
      continue;
    }
    cx.push_back(s[0] / s[2]);
    cy.push_back(s[1] / s[2]);
    ci.push_back(k);
    ct.push_back(label[k]);
  }
  if (!legend) {
    json m = {{"size", 6}, {"line", {{"color", "black"}, {"width", 0.3}}}};
    paint(m, ci);
    f.data.push_back(points("centre of mass per belief", cx, cy, ct, m, "x2", "y2"));
  }
  const json sub = {{"showarrow", false},
                    {"xref", "paper"},
                    {"yref", "paper"},
                    {"y", 1.04},
                    {"xanchor", "center"}};
  json a1 = sub, a2 = sub;
  a1["text"] = "Ground truth (unique beliefs)";
  a1["x"] = 0.225;
  a2["text"] = "Residual Stream (regression predictions)";
  a2["x"] = 0.775;
  f.layout = {
      {"title", figs::title(f.title)},
      {"xaxis",
       {{"title", {{"text", "PCA Dimension 1"}}}, {"domain", {0.0, 0.45}}, {"anchor", "y"}}},
      {"yaxis", {{"title", {{"text", "PCA Dimension 3"}}}, {"anchor", "x"}, {"scaleanchor", "x"}}},
      {"xaxis2",
       {{"title", {{"text", "PCA Dimension 1"}}},
        {"domain", {0.55, 1.0}},
        {"anchor", "y2"},
        {"matches", "x"}}},
      {"yaxis2", {{"title", {{"text", "PCA Dimension 3"}}}, {"anchor", "x2"}, {"matches", "y"}}},
      {"annotations", {a1, a2}},
      {"showlegend", legend}};
  if (legend) {
    // a wrapped horizontal legend under the panels: the page grows by its rows and the
    // bottom margin holds it below the axis titles
    std::size_t chars = 0;
    for (const auto& n : tnames) chars = std::max(chars, n.size());
    const int rows = legend_rows(idx.size(), chars, f.width);
    const int legend_h = 30 + 20 * rows;  // title line + entries
    const int top = 100, bottom = 80 + legend_h;
    f.height += legend_h;
    f.layout["margin"] = {{"t", top}, {"b", bottom}};
    f.layout["legend"] = {{"orientation", "h"},
                          {"x", 0.0},
                          {"y", -70.0 / (f.height - top - bottom)},
                          {"yanchor", "top"},
                          {"title",
                           {{"text", "Belief (colour key; click to hide, double-click to isolate)"},
                            {"side", "top"}}}};
  }
  return f;
}

Figure r2_figure(const fs::path& dir) {
  const figs::Table m(dir / "metrics.csv");
  Figure f;
  f.name = "r2_per_layer";
  f.title = "R^2 of the linear regression from activations to beliefs";
  const auto reg = m.text("regressor");
  // each bar prints its value; the range leaves room above 1 for the printed values and
  // reaches below 0 when a held-out R^2 is negative
  double low = 0;
  const auto bar = [&](const std::string& name, const std::vector<double>& y, const char* c) {
    for (double v : y)
      if (std::isfinite(v)) low = std::min(low, v);
    return json{{"type", "bar"},
                {"name", name},
                {"x", reg},
                {"y", y},
                {"texttemplate", "%{y:.3f}"},
                {"textposition", "outside"},
                {"cliponaxis", false},
                {"marker", {{"color", c}}}};
  };
  f.data.push_back(bar("R^2 (fit rows)", m.numbers("r2"), "#636EFA"));
  if (m.has("r2_test")) {
    const auto t = m.numbers("r2_test");
    if (std::any_of(t.begin(), t.end(), [](double v) { return std::isfinite(v); }))
      f.data.push_back(bar("R^2 (held-out rows)", t, "#EF553B"));
  }
  // hook names are long: automargin grows the margins to fit them rotated
  f.layout = {{"title", figs::title(f.title)},
              {"barmode", "group"},
              {"uniformtext", {{"minsize", 9}, {"mode", "show"}}},
              {"yaxis",
               {{"title", {{"text", "R^2"}}},
                {"range", {low < 0 ? low - 0.12 : 0.0, 1.1}},
                {"tickvals", {0, 0.2, 0.4, 0.6, 0.8, 1}},
                {"automargin", true}}},
              {"xaxis", {{"tickangle", -30}, {"automargin", true}}},
              {"margin", {{"l", 80}, {"r", 40}, {"b", 40}}},
              {"legend",
               {{"orientation", "h"},
                {"x", 1.0},
                {"xanchor", "right"},
                {"y", 1.02},
                {"yanchor", "bottom"}}}};
  return f;
}

// Belief mode: the seed's "Output probabilities": one panel per next symbol, the four
// conditions as bars, one bar colour per multiplier.
Figure steering_figure(const fs::path& dir) {
  const figs::Table t(dir / "steering.csv");
  std::vector<std::string> symbols;
  for (const auto& h : t.header())
    if (h.rfind("p_", 0) == 0) symbols.push_back(h.substr(2));
  const auto mult = t.text("multiplier");
  const auto cond = t.text("condition");
  std::vector<std::string> mults;
  for (const auto& m : mult)
    if (std::find(mults.begin(), mults.end(), m) == mults.end()) mults.push_back(m);
  Figure f;
  f.name = "steering";
  f.title = "Output probabilities";
  const std::size_t panels = std::min<std::size_t>(symbols.size(), 4);
  f.width = static_cast<int>(std::max<std::size_t>(panels, 1)) * 420 + 120;
  f.height = 460;
  for (std::size_t s = 0; s < panels; ++s) {
    const auto p = t.numbers("p_" + symbols[s]);
    json yaxis = {{"range", {0, 1}}};
    if (s == 0) yaxis["title"] = {{"text", "Probabilities"}};
    const std::string sfx =
        figs::add_panel(f.layout, s, panels, 0.08, "Probability to output " + symbols[s],
                        {{"title", {{"text", "Model belief state"}}}}, yaxis);
    for (std::size_t mi = 0; mi < mults.size(); ++mi) {
      json x = json::array(), y = json::array();
      for (std::size_t r = 0; r < p.size(); ++r)
        if (mult[r] == mults[mi]) {
          x.push_back(cond[r]);
          y.push_back(p[r]);
        }
      f.data.push_back({{"type", "bar"},
                        {"name", "multiplier " + mults[mi]},
                        {"legendgroup", mults[mi]},
                        {"showlegend", s == 0 && mults.size() > 1},
                        {"x", x},
                        {"y", y},
                        {"xaxis", "x" + sfx},
                        {"yaxis", "y" + sfx},
                        {"marker", {{"color", figs::belief_colours()[48 + mi % 10]}}}});
    }
  }
  f.layout["title"] = figs::title(f.title);
  f.layout["barmode"] = "group";
  return f;
}

// Text mode: per prompt, the top-k next tokens without and with steering, one panel each.
std::vector<Figure> next_token_figures(const fs::path& dir) {
  constexpr std::size_t kMaxPrompts = 10;
  const figs::Table t(dir / "next_tokens.csv");
  const auto pi = t.numbers("prompt_index");
  const auto prompt = t.text("prompt");
  const auto mult = t.text("multiplier");
  const auto token = t.text("token");
  const auto prob = t.numbers("probability");
  std::vector<Figure> out;
  std::map<int, std::vector<std::size_t>> rows;
  for (std::size_t r = 0; r < pi.size(); ++r) rows[static_cast<int>(pi[r])].push_back(r);
  for (const auto& [p, rs] : rows) {
    if (out.size() >= kMaxPrompts) break;
    std::vector<std::string> mults;
    for (std::size_t r : rs)
      if (std::find(mults.begin(), mults.end(), mult[r]) == mults.end()) mults.push_back(mult[r]);
    Figure f;
    f.name = "next_tokens_" + std::to_string(p);
    f.title = "Next tokens of \"" + prompt[rs.front()] + "\" without and with steering";
    f.width = static_cast<int>(mults.size()) * 300 + 160;
    f.height = 480;
    for (std::size_t m = 0; m < mults.size(); ++m) {
      json x = json::array(), y = json::array();
      for (std::size_t r : rs)
        if (mult[r] == mults[m]) {
          // quoted, so leading spaces (GPT-2's word starts) stay visible
          y.push_back(json(token[r]).dump());
          x.push_back(prob[r]);
        }
      const std::string sfx = figs::add_panel(
          f.layout, m, mults.size(), 0.1,
          mults[m] == "0" ? std::string("unsteered") : "multiplier " + mults[m],
          {{"range", {0, 1}}, {"title", {{"text", "probability"}}}}, {{"autorange", "reversed"}});
      f.data.push_back({{"type", "bar"},
                        {"orientation", "h"},
                        {"name", mults[m] == "0" ? "unsteered" : "multiplier " + mults[m]},
                        {"x", x},
                        {"y", y},
                        {"xaxis", "x" + sfx},
                        {"yaxis", "y" + sfx},
                        {"marker", {{"color", mults[m] == "0" ? "#7f7f7f" : "#636EFA"}}}});
    }
    f.layout["title"] = figs::title(f.title);
    f.layout["showlegend"] = false;
    f.layout["margin"] = {{"l", 120}};
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace

std::vector<Figure> beliefs_figures(const fs::path& dir) {
  return {simplex_figure(dir), r2_figure(dir)};
}

std::vector<Figure> steer_figures(const fs::path& dir) {
  if (fs::exists(dir / "steering.csv")) return {steering_figure(dir)};
  if (fs::exists(dir / "next_tokens.csv")) return next_token_figures(dir);
  throw Error(dir.string() + ": no steering.csv or next_tokens.csv (is this a steer run?)");
}

std::vector<Figure> train_figures(const fs::path& dir) {
  const figs::Table t(dir / "train_log.csv");
  const json config = figs::read_json(dir / "config.json");
  Figure f;
  f.name = "loss";
  f.title = "Training loss and the Bayes-optimal loss";
  const auto step = t.numbers("step");
  f.data.push_back({{"type", "scatter"},
                    {"mode", "lines"},
                    {"name", "batch loss (average since last point)"},
                    {"x", step},
                    {"y", t.numbers("batch_loss_avg")},
                    {"line", {{"color", "#1f77b4"}}}});
  f.data.push_back({{"type", "scatter"},
                    {"mode", "lines+markers"},
                    {"name", "exact expected loss"},
                    {"x", step},
                    {"y", t.numbers("exact_loss")},
                    {"line", {{"color", "#ff7f0e"}}}});
  const json s = config.value("actlens", json::object());
  if (s.contains("bayes_optimal_loss_nats") && !step.empty())
    f.data.push_back({{"type", "scatter"},
                      {"mode", "lines"},
                      {"name", "Bayes-optimal"},
                      {"x", {step.front(), step.back()}},
                      {"y", {s["bayes_optimal_loss_nats"], s["bayes_optimal_loss_nats"]}},
                      {"line", {{"color", "black"}, {"dash", "dash"}}}});
  f.layout = {{"title", figs::title(f.title)},
              {"xaxis", figs::axis("Step")},
              {"yaxis", figs::axis("Cross-entropy (nats per symbol)")}};
  return {f};
}

}  // namespace actlens::report
