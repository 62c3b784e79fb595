// Figures that read at a glance (issue 18): checked on the specs, without a browser. The role
// labels of the LDA pages do not overlap in the pixel model plotly draws them with (a model the
// browser's text boxes were measured to fall inside), twin y axes keep their own round ticks,
// one mark per component on the PCA variance curve, the belief colours carry a key, the R^2
// bars their values, and PNGs are rendered from a page without plotly's mode bar.
#include <catch2/catch.hpp>

#include <stdlib.h>

#include <cmath>
#include <fstream>
#include <set>

#include "actlens/report/figure.hpp"
#include "actlens/report/figure_sets.hpp"
#include "figure_test_helpers.hpp"
#include "test_paths.hpp"

namespace fs = std::filesystem;
using actlens::report::Figure;
using nlohmann::json;

using namespace figure_test;

namespace {

struct Box {
  double x0, y0, x1, y1;
};
bool overlap(const Box& a, const Box& b) {
  return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
}

struct Label {
  std::string key;  // "TEXT/AXES"
  Box box, area;    // its pixels, and its plot area's
};

// Pixel box of a scatter point's text as plotly draws it (Drawing.textPointPosition: the text
// sits marker radius / 0.8 + 1 px from the point, baseline 0.75 font sizes below the anchor),
// the glyphs at most 0.65 font sizes wide each, 0.95 above and 0.25 below the baseline. The
// plot area of the axes follows from the page size, the margins and the axes' domain/range
// (the builders fix both for pages with placed labels; traces on axes without a fixed range
// are left out).
std::vector<Label> label_boxes(const Figure& f) {
  const json& L = f.layout;
  const double ml = L["margin"]["l"], mr = L["margin"]["r"], mt = L["margin"]["t"],
               mb = L["margin"]["b"];
  const double pw = f.width - ml - mr, ph = f.height - mt - mb;
  std::vector<Label> out;
  for (const auto& tr : f.data) {
    const std::string xs = tr.value("xaxis", "x").substr(1), ys = tr.value("yaxis", "y").substr(1);
    const json& xa = L["xaxis" + xs];
    const json& ya = L["yaxis" + ys];
    if (!tr.contains("text") || !xa.contains("range") || !ya.contains("range")) continue;
    const double x0 = xa["range"][0], x1 = xa["range"][1], y0 = ya["range"][0], y1 = ya["range"][1];
    const json& dom = ya.contains("domain") ? ya["domain"] : L["yaxis"].value("domain", json{0, 1});
    const double d0 = dom[0], d1 = dom[1];
    const double top = mt + (1 - d1) * ph, h = (d1 - d0) * ph;
    const Box area = {ml, top, ml + pw, top + h};
    const double fs = tr["textfont"]["size"], r = tr["marker"]["size"].get<double>() / 2 / 0.8 + 1;
    for (std::size_t i = 0; i < tr["x"].size(); ++i) {
      const std::string text = tr["text"][i];
      if (text.empty()) continue;
      const double px = ml + (tr["x"][i].get<double>() - x0) / (x1 - x0) * pw;
      const double py = top + (1 - (tr["y"][i].get<double>() - y0) / (y1 - y0)) * h;
      const std::string pos =
          tr["textposition"].is_array() ? tr["textposition"][i] : tr["textposition"];
      const double w = static_cast<double>(text.size()) * 0.65 * fs;
      double left = px - w / 2, baseline = py + 0.25 * fs;
      if (pos.find("top") != std::string::npos) baseline = py - r - 0.25 * fs;
      if (pos.find("bottom") != std::string::npos) baseline = py + r + 0.75 * fs;
      if (pos.find("right") != std::string::npos) left = px + r;
      if (pos.find("left") != std::string::npos) left = px - r - w;
      out.push_back(
          {text + "/" + xs, {left, baseline - 0.95 * fs, left + w, baseline + 0.25 * fs}, area});
    }
  }
  return out;
}

// Every label inside its plot area and clear of every other.
void check_no_overlap(const std::vector<Label>& labels) {
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const Box& a = labels[i].box;
    const Box& in = labels[i].area;
    INFO(labels[i].key);
    CHECK((a.x0 >= in.x0 && a.x1 <= in.x1 && a.y0 >= in.y0 && a.y1 <= in.y1));
    for (std::size_t j = i + 1; j < labels.size(); ++j) {
      INFO(labels[j].key);
      CHECK_FALSE(overlap(a, labels[j].box));
    }
  }
}

}  // namespace

TEST_CASE("lda component pages: role labels only where they have room", "[report]") {
  const fs::path run = actlens::test::scratch_dir("figures_lda_labels");
  write_text(run / "lda.json", R"({"eigenvalues": [0.9, 0.5], "cumulative_ratio": [0.6, 1.0]})");
  // 24 roles with long names crowded into a narrow band (as the role example's LD1 is): every
  // label drawn "top center" as before would sit on its neighbours
  std::string csv = "role,score,label,name,norm,LD1,LD2\n";
  for (int i = 0; i < 24; ++i) {
    const bool fully = i % 2;
    const std::string g = fully ? "Fully RP" : "Somewhat RP";
    csv += "r" + std::to_string(i) + "," + (fully ? "3" : "2") + "," + g + ",Profession" +
           std::to_string(i) + " (" + g + ")," + std::to_string(3.0 + 0.1 * i) + "," +
           std::to_string(i < 22 ? 0.05 * i : (i == 22 ? -4.0 : 4.0)) + ",1\n";
  }
  write_text(run / "role_projections.csv", csv);
  const auto figs = actlens::report::lda_figures(run);
  const Figure& c1 = find(figs, "component_1");
  const auto boxes = label_boxes(c1);
  std::set<std::string> names;
  for (const auto& l : boxes) names.insert(l.key);
  // the lowest and highest of each row keep their names, without the row's group suffix
  CHECK(names.count("Profession22/") == 1);
  CHECK(names.count("Profession23/") == 1);
  CHECK(names.count("Profession22/2") == 1);
  // some of the seed's 20 candidates per row had no room: their names stay on hover
  CHECK(boxes.size() < 40);
  CHECK(boxes.size() >= 8);
  check_no_overlap(boxes);
  // hover keeps every full name
  std::size_t hovers = 0;
  for (const auto& tr : c1.data)
    for (const auto& h : tr["hovertext"])
      hovers += h.get<std::string>().find(" RP)<br>") != std::string::npos;
  CHECK(hovers == 48);

  // eigenvalues: the right axis has its own round ticks, not the left axis's positions
  const json& y2 = find(figs, "eigenvalues").layout["yaxis2"];
  CHECK(y2["overlaying"] == "y");
  CHECK(y2["tickmode"] == "auto");  // plotly's default for an overlaying axis is "sync"
  CHECK_FALSE(y2.contains("tickvals"));
  CHECK_FALSE(y2.contains("matches"));
  CHECK_FALSE(y2.contains("dtick"));
}

TEST_CASE("pca figures: one variance mark per component, a fitted 3-D scene", "[report]") {
  const fs::path d = actlens::test::scratch_dir("figures_pca_layout");
  write_text(d / "projections.csv", "index,label,text,PC1,PC2,PC3\n0,a,x,1,2,3\n1,b,y,4,5,6\n");
  // 80% and 90% first reached at component 2 (95%), 95% at component 3 (99%): neighbours a
  // few pixels apart on the cumulative curve
  write_text(d / "pca.json", R"({"explained_variance_ratio": [0.75, 0.2, 0.04, 0.01],
     "components_for": {"70": 1, "80": 2, "90": 2, "95": 3}})");
  const auto figs = actlens::report::pca_figures(d);
  const Figure& v = find(figs, "explained_variance");
  const json& marks = v.data[2];
  REQUIRE(marks["name"] == "components for 70/80/90/95%");
  CHECK(marks["x"] == json({1, 2, 3}));
  CHECK(marks["text"] == json({"70%: 1", "80%, 90%: 2", "95%: 3"}));
  CHECK(v.layout["shapes"].size() == 4);  // one dotted line per threshold still
  CHECK(v.layout["yaxis2"]["tickmode"] == "auto");
  const auto labels = label_boxes(v);
  CHECK(labels.size() == 3);
  check_no_overlap(labels);

  const json& scene = find(figs, "scatter_3d").layout["scene"];
  CHECK(scene["aspectmode"] == "cube");
  CHECK(scene["domain"]["x"][1].get<double>() < 0.9);  // clear of the colour bar
  const json& eye = scene["camera"]["eye"];
  const double dist =
      std::hypot(eye["x"].get<double>(), eye["y"].get<double>(), eye["z"].get<double>());
  CHECK(dist > std::sqrt(3 * 1.25 * 1.25));  // farther than plotly's default eye
  for (const char* a : {"xaxis", "yaxis", "zaxis"}) CHECK(scene[a]["nticks"].get<int>() >= 6);
}

TEST_CASE("belief figures: a colour key for the simplex, values on the R^2 bars", "[report]") {
  for (const int n : {36, 60}) {
    const fs::path d = actlens::test::scratch_dir("figures_beliefs_key" + std::to_string(n));
    std::string truth = "belief_index,belief_name,pc1,pc2,pc3\n";
    std::string pts =
        "input,position,belief_index,belief_name,split,true_pc1,true_pc2,true_pc3,pred_pc1,"
        "pred_pc2,pred_pc3\n";
    for (int i = 0; i < n; ++i) {
      const std::string c = std::to_string(std::cos(i)), s = std::to_string(std::sin(i));
      truth += std::to_string(i) + ",belief " + std::to_string(i) + "," + c + ",0," + s + "\n";
      pts += "0," + std::to_string(i) + "," + std::to_string(i) + ",belief " + std::to_string(i) +
             ",train," + c + ",0," + s + "," + c + ",0," + s + "\n";
    }
    write_text(d / "simplex_beliefs.csv", truth);
    write_text(d / "simplex_points.csv", pts);
    write_text(d / "metrics.csv",
               "regressor,features,r2,mse,r2_test,mse_test\nblocks.0.hook_resid_post,16,0.5,0.1,"
               "-0.25,0.2\nconcatenated,32,0.9,0.01,0.8,0.02\n");
    const auto figs = actlens::report::beliefs_figures(d);
    const Figure& s = find(figs, "simplex");
    INFO(n << " beliefs");
    if (n <= 48) {
      // one legend entry per belief, in its colour; its centre of mass in the same group
      CHECK(s.layout["showlegend"] == true);
      std::set<std::string> entries, groups_right;
      for (const auto& tr : s.data) {
        if (tr.value("showlegend", true)) {
          entries.insert(tr["name"].get<std::string>());
          CHECK(tr["marker"]["color"].is_string());
        } else if (tr.contains("legendgroup")) {
          groups_right.insert(tr["legendgroup"].get<std::string>());
        }
      }
      CHECK(entries.size() == static_cast<std::size_t>(n));
      CHECK(entries.count("belief 35") == 1);
      CHECK(groups_right.size() == static_cast<std::size_t>(n));
      // the wrapped legend's rows fit in the bottom margin below the axes
      CHECK(s.height > 560);
      CHECK(s.layout["legend"]["orientation"] == "h");
      CHECK(s.layout["margin"]["b"].get<int>() > 100);
    } else {
      // too many for a legend: a colour bar over the belief index
      CHECK(s.layout["showlegend"] == false);
      REQUIRE(s.data[0]["marker"]["showscale"] == true);
      CHECK(s.data[0]["marker"]["colorbar"]["title"]["text"] == "belief index");
      CHECK(s.data[0]["marker"]["cmax"] == n - 1);
      CHECK(s.data[1]["marker"]["cmax"] == n - 1);  // predictions on the same scale
    }
    const Figure& r2 = find(figs, "r2_per_layer");
    REQUIRE(r2.data.size() == 2);
    for (const auto& tr : r2.data) CHECK(tr["texttemplate"] == "%{y:.3f}");
    CHECK(r2.layout["xaxis"]["automargin"] == true);
    CHECK(r2.layout["yaxis"]["automargin"] == true);
    CHECK(r2.layout["yaxis"]["range"][0].get<double>() < -0.25);  // the negative held-out R^2
    CHECK(r2.layout["yaxis"]["range"][1].get<double>() > 1.0);    // room for a value over 1's bar
  }
}

TEST_CASE("PNGs (--png) render a page without plotly's mode bar; the HTML pages keep it",
          "[report]") {
  Figure f;
  f.name = "demo";
  f.data = json::array({{{"type", "bar"}, {"x", {1}}, {"y", {2}}}});
  using actlens::report::PageMode;
  using actlens::report::PlotlySource;
  const std::string page = actlens::report::figure_html(f, PlotlySource::cdn);
  const std::string still =
      actlens::report::figure_html(f, PlotlySource::cdn, PageMode::static_image);
  CHECK(page.find("displayModeBar") == std::string::npos);  // plotly's default: shown
  CHECK(still.find("displayModeBar: false") != std::string::npos);

  // a stand-in Chromium: keeps the page it was asked to render, writes a "PNG"
  const fs::path dir = actlens::test::scratch_dir("figures_png_page");
  const fs::path fake = dir / "fake-chromium";
  write_text(fake,
             "#!/bin/sh\nfor a; do case \"$a\" in --screenshot=*) out=\"${a#--screenshot=}\";; "
             "file://*) page=\"${a#file://}\";; esac; done\ncp \"$page\" \"" +
                 (dir / "rendered.html").string() + "\" && printf PNG > \"$out\"\n");
  fs::permissions(fake, fs::perms::owner_all);
  ::setenv("ACTLENS_CHROMIUM", fake.c_str(), 1);
  actlens::report::FigureOptions o;
  o.plotly = PlotlySource::cdn;
  o.png = true;
  const json rec = actlens::report::write_figures(dir / "run", "run", {f}, o);
  ::unsetenv("ACTLENS_CHROMIUM");
  CHECK(rec["png"] == fake.string());
  CHECK(read_text(dir / "run/figures/demo.png") == "PNG");
  CHECK(read_text(dir / "rendered.html").find("displayModeBar: false") != std::string::npos);
  CHECK(read_text(dir / "run/figures/demo.html").find("displayModeBar") == std::string::npos);
  std::set<std::string> files;  // no page left behind for the PNG
  for (const auto& e : fs::directory_iterator(dir / "run/figures"))
    files.insert(e.path().filename().string());
  CHECK(files == std::set<std::string>{"demo.html", "demo.png"});
}
