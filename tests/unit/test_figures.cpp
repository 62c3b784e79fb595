// The figure layer (report/): page writing, and each command's figure specs built from small
// result folders written here (numbers, labels, colours and symbols as the seeds draw them).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <regex>
#include <set>

#include "actlens/error.hpp"
#include "actlens/io/array.hpp"
#include "actlens/io/npy.hpp"
#include "actlens/report/figure.hpp"
#include "actlens/report/figure_sets.hpp"
#include "figure_test_helpers.hpp"
#include "test_paths.hpp"

namespace fs = std::filesystem;
using actlens::report::Figure;
using nlohmann::json;

using namespace figure_test;

namespace {

std::vector<double> doubles(const json& a) {
  std::vector<double> v;
  for (const auto& x : a) v.push_back(x.is_null() ? NAN : x.get<double>());
  return v;
}

}  // namespace

TEST_CASE("figure pages: the spec as JSON data, plotly inline, from the CDN or beside",
          "[report]") {
  Figure f;
  f.name = "demo";
  f.title = "A <title> & \"quotes\"";
  f.data =
      json::array({{{"type", "scatter"}, {"x", {1, 2}}, {"y", {3, 4}}, {"name", "</script><b>x"}}});
  const std::string inl = actlens::report::figure_html(f, actlens::report::PlotlySource::inline_js);
  const std::string cdn = actlens::report::figure_html(f, actlens::report::PlotlySource::cdn);
  const std::string file = actlens::report::figure_html(f, actlens::report::PlotlySource::file);
  // the trace name cannot close the data element early; the title is escaped
  CHECK(inl.find("</script><b>x") == std::string::npos);
  CHECK(inl.find("<\\/script><b>x") != std::string::npos);
  CHECK(inl.find("<title>A &lt;title&gt; &amp; &quot;quotes&quot;</title>") != std::string::npos);
  // plotly.js itself: inside the inline page only
  const auto js = actlens::report::plotly_js();
  REQUIRE(js.size() > 1000000);
  CHECK(
      std::regex_match(actlens::report::plotly_version(), std::regex("[0-9]+\\.[0-9]+\\.[0-9]+")));
  CHECK(std::string(js.substr(0, 200)).find("plotly.js v" + actlens::report::plotly_version()) !=
        std::string::npos);
  CHECK(inl.size() > js.size());
  CHECK(cdn.size() < 20000);
  CHECK(cdn.find("src=\"" + actlens::report::plotly_cdn_url() + "\"") != std::string::npos);
  CHECK(file.find("src=\"plotly.min.js\"") != std::string::npos);
  // the page's data parses back to the spec, with the page size in the layout
  const auto a = cdn.find("id=\"actlens-figure-spec\">") + 25;
  const auto b = cdn.find("</script>", a);
  const json spec = json::parse(cdn.substr(a, b - a));
  CHECK(spec["data"][0]["name"] == "</script><b>x");
  CHECK(spec["layout"]["width"] == 900);
  CHECK(spec["layout"]["height"] == 520);
}

TEST_CASE("write_figures: pages, index, auto inline/file, whole-folder replacement", "[report]") {
  using actlens::report::PlotlySource;
  const fs::path dir = actlens::test::scratch_dir("figures_write");
  std::vector<Figure> figs(2);
  figs[0].name = "one";
  figs[0].title = "First";
  figs[1].name = "two";
  figs[1].title = "Second";
  actlens::report::FigureOptions o;  // auto: inline for a few pages
  json rec = actlens::report::write_figures(dir, "run", figs, o);
  CHECK(rec["plotly"] == "inline");
  CHECK(rec["count"] == 2);
  CHECK(fs::file_size(dir / "figures/one.html") > 1000000);
  CHECK_FALSE(fs::exists(dir / "figures/plotly.min.js"));
  const std::string index = read_text(dir / "index.html");
  CHECK(index.find("href=\"figures/one.html\">First</a>") != std::string::npos);
  CHECK(index.find("href=\"figures/two.html\">Second</a>") != std::string::npos);

  // many pages: one shared plotly.min.js, small pages; the old pages are gone
  std::vector<Figure> many(actlens::report::kMaxInlinePages + 1);
  for (std::size_t i = 0; i < many.size(); ++i) many[i].name = "p" + std::to_string(i);
  rec = actlens::report::write_figures(dir, "run", many, o);
  CHECK(rec["plotly"] == "file");
  CHECK(fs::file_size(dir / "figures/plotly.min.js") == actlens::report::plotly_js().size());
  CHECK(fs::file_size(dir / "figures/p0.html") < 20000);
  CHECK_FALSE(fs::exists(dir / "figures/one.html"));
  for (const auto& e : fs::directory_iterator(dir))  // no staging leftovers
    CHECK(e.path().filename().string().find(".tmp") == std::string::npos);

  std::vector<Figure> bad(1);
  bad[0].name = "Bad Name";
  CHECK_THROWS(actlens::report::write_figures(dir, "run", bad, o));
}

TEST_CASE("lda figures: the seed's plot_pc, eigenvalue curve, PC cosines", "[report]") {
  const fs::path run = actlens::test::scratch_dir("figures_lda");
  const fs::path d = run / "layer22";
  write_text(d / "lda.json", R"({"layer": 22, "eigenvalues": [0.9, 0.5, 0.2],
                                 "cumulative_ratio": [0.5625, 0.875, 1.0]})");
  // 25 roles: 13 "Somewhat RP" (score 2), 12 "Fully RP" (score 3); LD1 = i - 12
  std::string csv = "role,score,label,name,norm,LD1,LD2,LD3\n";
  for (int i = 0; i < 25; ++i) {
    const int score = i < 13 ? 2 : 3;
    csv += "r" + std::to_string(i) + "," + std::to_string(score) + ",x,Role " + std::to_string(i) +
           "," + std::to_string(2.0 + i) + "," + std::to_string(i - 12) + ",1,2\n";
  }
  write_text(d / "role_projections.csv", csv);
  write_text(d / "pca_cosine.csv", "component,PC1,PC2\nLD1,0.5,-0.25\nLD2,0.1,0.2\nLD3,0,1\n");
  const auto figs = actlens::report::lda_figures(run);
  CHECK(figs.size() == 1 + 3 + 1);  // eigenvalues, one plot per component (k = 3 < 6), cosines

  const auto& ev = find(figs, "layer22_eigenvalues");
  CHECK(doubles(ev.data[0]["y"]) == std::vector<double>{0.9, 0.5, 0.2});
  CHECK(doubles(ev.data[1]["y"]) == std::vector<double>{0.5625, 0.875, 1.0});
  CHECK(ev.data[1]["yaxis"] == "y2");

  const auto& c1 = find(figs, "layer22_component_1");
  REQUIRE(c1.data.size() == 4);  // two groups, top and bottom rows
  CHECK(c1.data[0]["name"] == "Somewhat RP");
  CHECK(c1.data[0]["marker"]["color"] == "cyan");
  CHECK(c1.data[0]["marker"]["symbol"] == "circle");
  CHECK(c1.data[1]["name"] == "Fully RP");
  CHECK(c1.data[1]["marker"]["color"] == "blue");
  CHECK(c1.data[1]["marker"]["symbol"] == "square");
  CHECK(c1.data[0]["x"].size() == 13);
  CHECK(c1.data[1]["x"].size() == 12);
  // the 10 lowest (LD1 = -12..-3) and the 10 highest (3..12) carry their names, the rest none
  std::set<std::string> labelled;
  for (int t = 0; t < 2; ++t)
    for (std::size_t i = 0; i < c1.data[t]["text"].size(); ++i)
      if (!c1.data[t]["text"][i].get<std::string>().empty()) {
        labelled.insert(c1.data[t]["text"][i].get<std::string>());
        CHECK(std::abs(c1.data[t]["x"][i].get<double>()) >= 3);
      }
  CHECK(labelled.size() == 20);
  CHECK(labelled.count("Role 0") == 1);
  CHECK(labelled.count("Role 12") == 0);  // LD1 = 0: in the middle
  // symmetric x range around 0
  const auto range = doubles(c1.layout["xaxis"]["range"]);
  CHECK(range[0] == Approx(-range[1]));
  CHECK(range[1] >= 12);
  // bottom row: cosine = projection / |role vector|
  CHECK(c1.data[2]["xaxis"] == "x2");
  CHECK(c1.data[2]["x"][0].get<double>() == Approx(-12.0 / 2.0));
  CHECK(c1.data[3]["x"][0].get<double>() == Approx(1.0 / 15.0));

  const auto& cos = find(figs, "layer22_pca_cosine");
  CHECK(cos.data[0]["type"] == "heatmap");
  CHECK(doubles(cos.data[0]["z"][0]) == std::vector<double>{0.5, -0.25});
  CHECK(cos.data[0]["y"][2] == "LD3");
}

TEST_CASE("pca figures: the seed's 3-D scatter and the variance curve", "[report]") {
  const fs::path d = actlens::test::scratch_dir("figures_pca");
  write_text(
      d / "projections.csv",
      "index,label,text,PC1,PC2,PC3\n0,Mon,a,1,2,3\n1,Tue,b,4,5,6\n2,Mon,c,7,8,9\n3,Wed,d,0,0,1\n");
  write_text(d / "pca.json", R"({"explained_variance_ratio": [0.5, 0.3, 0.1],
     "spectrum": {"explained_variance_ratio": [0.5, 0.3, 0.1, 0.06, 0.04]},
     "components_for": {"70": 2, "80": 2, "90": 3, "95": 4, "99": 5}, "elbow": 2})");
  const auto figs = actlens::report::pca_figures(d);
  const auto& sc = find(figs, "scatter_3d");
  REQUIRE(sc.data.size() == 1);
  const json& t = sc.data[0];
  CHECK(t["type"] == "scatter3d");
  CHECK(doubles(t["z"]) == std::vector<double>{3, 6, 9, 1});
  // colour = label index in order of first appearance on tab10 stops
  CHECK(doubles(t["marker"]["color"]) == std::vector<double>{0, 1, 0, 2});
  CHECK(t["marker"]["colorscale"][0][1] == "#1f77b4");
  CHECK(t["marker"]["colorscale"][1][1] == "#ff7f0e");
  CHECK(t["marker"]["colorscale"][2][1] == "#2ca02c");
  CHECK(t["marker"]["colorscale"][2][0] == 1.0);
  CHECK(t["marker"]["colorbar"]["ticktext"] == json({"Mon", "Tue", "Wed"}));
  CHECK(t["customdata"][1][0] == "Tue");
  CHECK(json::parse(t["customdata"][1][1].get<std::string>()) ==
        json({{"label", "Tue"}, {"text", "b"}}));
  CHECK(sc.layout["scene"]["zaxis"]["title"]["text"] == "PC 3");

  const auto& v = find(figs, "explained_variance");
  CHECK(doubles(v.data[0]["y"]) == std::vector<double>{50, 30, 10, 6, 4});  // full spectrum, %
  CHECK(doubles(v.data[1]["y"])[3] == Approx(96));
  // 70/80/90/95% marks at the counts pca.json gives, on the cumulative curve
  CHECK(doubles(v.data[2]["x"]) == std::vector<double>{2, 3, 4});  // 70% and 80% share one
  CHECK(v.data[2]["text"][0] == "70%, 80%: 2");
  CHECK(doubles(v.data[2]["y"])[1] == Approx(90));
  CHECK(v.data[3]["name"] == "elbow");
  CHECK(doubles(v.data[3]["x"]) == std::vector<double>{2});
  CHECK(v.layout["shapes"].size() == 4);
}

TEST_CASE("ged figures: |t| and |r| with Bonferroni markers, eigenvalues, components", "[report]") {
  const fs::path d = actlens::test::scratch_dir("figures_ged");
  write_text(d / "ged.json",
             R"({"bonferroni_alpha": 0.0166667, "classes": {"a": "him", "b": "her"}})");
  write_text(
      d / "ged_layers.csv",
      "index,layer,train_abs_t_a_gt_b,train_p_a_gt_b,train_abs_t_b_gt_a,train_p_b_gt_a,"
      "pattern_abs_r,pattern_p,test_abs_t_a_gt_b,test_p_a_gt_b,test_abs_t_b_gt_a,"
      "test_p_b_gt_a,top_eigenvalue_a_gt_b,top_eigenvalue_b_gt_a,n_components,variance_kept\n"
      "0,L0,5,0.001,4,0.0001,0.5,0.01,,,,,2,3,10,98\n"
      "1,L1,1,0.3,6,1e-6,0.2,0.5,,,,,4,5,11,98.5\n"
      "2,L2,7,1e-9,0.5,0.6,0.9,1e-5,,,,,6,7,12,98.9\n");
  const auto figs = actlens::report::ged_figures(d);
  const auto& tr = find(figs, "t_and_r");
  REQUIRE(tr.data.size() == 3);  // no test set: two train series + |r|
  CHECK(tr.data[0]["name"] == "TRAIN him>her");
  CHECK(tr.data[1]["name"] == "TRAIN her>him");
  CHECK(doubles(tr.data[0]["x"]) == std::vector<double>{1, 2, 3});  // the seed's 1..numLayers
  CHECK(tr.data[0]["marker"]["symbol"] == json({"circle", "x", "circle"}));  // p 0.3 > alpha
  CHECK(tr.data[0]["marker"]["color"][1] == "red");
  CHECK(tr.data[1]["marker"]["symbol"] == json({"square", "square", "x"}));
  CHECK(tr.data[2]["xaxis"] == "x2");
  CHECK(tr.data[2]["marker"]["symbol"] == json({"circle", "x", "circle"}));  // r p 0.01 < alpha
  const auto& ev = find(figs, "top_eigenvalues");
  CHECK(doubles(ev.data[0]["x"])[1] == Approx(0.9));
  CHECK(doubles(ev.data[1]["y"]) == std::vector<double>{3, 5, 7});
  CHECK(doubles(find(figs, "components_kept").data[0]["y"]) == std::vector<double>{10, 11, 12});
}

TEST_CASE("rsa figures: plasma heatmaps, within/between strips, the RSA scatter", "[report]") {
  const fs::path d = actlens::test::scratch_dir("figures_rsa");
  actlens::io::RowMatrixD m(4, 4);
  m << 1, 0.5, 0.2, 0.1, 0.5, 1, 0.3, 0.2, 0.2, 0.3, 1, 0.7, 0.1, 0.2, 0.7, 1;
  actlens::io::write_npy(d / "cosine_a.npy", actlens::io::make_array(m));
  actlens::io::write_npy(d / "cosine_b.npy", actlens::io::make_array(m));
  write_text(d / "rsa.json", R"({"spaces": [{"name": "a"}, {"name": "b"}],
     "items": ["w0", "w1", "w2", "w3"],
     "pairs": [{"a": "a", "b": "b", "method": "pearson", "r": 0.89219}]})");
  write_text(d / "pairs.csv",
             "i,j,item_i,item_j,group_i,group_j,kind,cos_a,cos_b\n"
             "0,1,w0,w1,g,g,within,0.5,0.6\n0,2,w0,w2,g,h,between,0.2,0.1\n"
             "0,3,w0,w3,g,h,between,0.1,0.3\n1,2,w1,w2,g,h,between,0.3,0.2\n"
             "1,3,w1,w3,g,h,between,0.2,0.2\n2,3,w2,w3,h,h,within,0.7,0.9\n");
  const auto figs = actlens::report::rsa_figures(d);
  const auto& h = find(figs, "cosine_matrices");
  REQUIRE(h.data.size() == 2);
  CHECK(h.data[0]["zmin"] == 0.1);
  CHECK(h.data[0]["zmax"] == 0.6);
  CHECK(h.data[0]["colorscale"][0][1] == "#0d0887");  // plasma
  CHECK(h.data[0]["colorscale"][9][1] == "#f0f921");
  CHECK(doubles(h.data[1]["z"][2]) == std::vector<double>{0.2, 0.3, 1, 0.7});
  CHECK(h.layout["xaxis"]["ticktext"] == json({"w0", "w2"}));  // even items on x
  CHECK(h.layout["yaxis"]["ticktext"] == json({"w1", "w3"}));  // odd items on y
  CHECK(h.layout["yaxis"]["autorange"] == "reversed");         // imshow's origin
  const auto& s = find(figs, "within_between");
  // per space: within points, within mean, between points, between mean
  REQUIRE(s.data.size() == 8);
  CHECK(doubles(s.data[0]["y"]) == std::vector<double>{0.5, 0.7});
  CHECK(doubles(s.data[1]["y"])[0] == Approx(0.6));  // mean line
  CHECK(doubles(s.data[3]["y"])[0] == Approx(0.2));
  CHECK(s.data[4]["x"][0].get<double>() == Approx(3).margin(0.07));  // second space at 3, 4
  const auto& r = find(figs, "rsa_scatter");
  CHECK(r.title == "Correlation (RSA score): r = 0.892");
  CHECK(doubles(r.data[0]["x"]) == std::vector<double>{0.5, 0.2, 0.1, 0.3, 0.2, 0.7});
  CHECK(doubles(r.layout["xaxis"]["range"]) == std::vector<double>{-0.6, 1});
}

TEST_CASE("cluster figures: lines to centroids, noise as +, centroids", "[report]") {
  const fs::path run = actlens::test::scratch_dir("figures_cluster");
  const fs::path d = run / "small50";
  write_text(d / "tsne.csv",
             "index,name,tsne1,tsne2\n0,a,0,0\n1,b,2,0\n2,c,10,10\n3,d,12,10\n4,e,50,50\n");
  write_text(d / "labels.csv",
             "index,name,cluster,core,x1,x2\n0,a,0,1,0,0\n1,b,0,1,2,0\n2,c,1,1,10,10\n3,d,1,1,12,"
             "10\n4,e,-1,0,50,50\n");
  const auto figs = actlens::report::embedding_figures(run);
  REQUIRE(figs.size() == 1);
  const auto& f = figs[0];
  CHECK(f.name == "small50_clusters");
  CHECK(f.title == "tSNE+DBscan on small50");
  // 2 link traces, noise, 2 clusters, centroids
  REQUIRE(f.data.size() == 6);
  CHECK(f.data[0]["x"].size() == 6);  // two members x (point, centroid, gap)
  CHECK(f.data[0]["x"][1].get<double>() == Approx(1));
  CHECK(f.data[0]["line"]["color"] == "red");  // the seed's 'rkbgm'
  CHECK(f.data[1]["line"]["color"] == "black");
  CHECK(f.data[2]["name"] == "noise");
  CHECK(f.data[2]["marker"]["symbol"] == "cross-thin");
  CHECK(f.data[2]["text"] == json({"e"}));
  CHECK(f.data[5]["name"] == "centroids");
  CHECK(doubles(f.data[5]["x"]) == std::vector<double>{1, 11});
  CHECK(doubles(f.data[5]["y"]) == std::vector<double>{0, 10});
  CHECK(f.layout["xaxis"]["title"]["text"] == "tSNE axis 1");
}

TEST_CASE("belief figures: simplex, R^2 per layer, steering bars, loss", "[report]") {
  const fs::path d = actlens::test::scratch_dir("figures_beliefs");
  write_text(d / "simplex_beliefs.csv",
             "belief_index,belief_name,pc1,pc2,pc3\n0,State T,1,0,2\n1,State F,-1,0,-2\n");
  write_text(d / "simplex_points.csv",
             "input,position,belief_index,belief_name,split,true_pc1,true_pc2,true_pc3,pred_pc1,"
             "pred_pc2,pred_pc3\n"
             "0,0,0,State T,train,1,0,2,0.8,0,1.6\n0,1,0,State T,train,1,0,2,1.2,0,2.4\n"
             "1,0,1,State F,train,-1,0,-2,-0.9,0,-2\n");
  write_text(d / "metrics.csv",
             "regressor,features,r2,mse,r2_test,mse_test\nblocks.0.hook_resid_post,16,0.5,0.1,,"
             "\nconcatenated,32,0.9,0.01,,\n");
  auto figs = actlens::report::beliefs_figures(d);
  const auto& s = find(figs, "simplex");
  // per belief (a legend entry each): its point, then the predictions, then per belief the
  // predictions' centre of mass
  REQUIRE(s.data.size() == 5);
  CHECK(doubles(s.data[0]["y"]) == std::vector<double>{2});  // the seed's PCA dims 0 and 2
  CHECK(doubles(s.data[1]["y"]) == std::vector<double>{-2});
  CHECK(s.data[0]["name"] == "State T");
  CHECK(s.data[0]["marker"]["color"] == "#FD3216");  // Light24[0]
  CHECK(s.data[2]["name"] == "predictions");
  CHECK(doubles(s.data[3]["x"]) == std::vector<double>{1.0});  // centre of mass per belief
  CHECK(doubles(s.data[3]["y"]) == std::vector<double>{2.0});
  CHECK(doubles(s.data[4]["x"]) == std::vector<double>{-0.9});
  CHECK(s.data[4]["legendgroup"] == s.data[1]["legendgroup"]);
  const auto& r2 = find(figs, "r2_per_layer");
  CHECK(r2.data.size() == 1);  // no held-out rows
  CHECK(doubles(r2.data[0]["y"]) == std::vector<double>{0.5, 0.9});

  write_text(
      d / "steering.csv",
      "multiplier,condition,prompts_end_in,added,n_prompts,p_0,p_1\n"
      "1,State T,State T,0,9,0.1,0.9\n1,State F,State F,0,9,0.8,0.2\n"
      "1,State T -> State F,State T,1,9,0.7,0.3\n1,State F -> State T,State F,-1,9,0.2,0.8\n"
      "2,State T,State T,0,9,0.1,0.9\n2,State F,State F,0,9,0.8,0.2\n"
      "2,State T -> State F,State T,2,9,0.95,0.05\n2,State F -> State T,State F,-2,9,0.05,0.95\n");
  const auto st = actlens::report::steer_figures(d);
  REQUIRE(st.size() == 1);
  REQUIRE(st[0].data.size() == 4);  // 2 symbols x 2 multipliers
  CHECK(st[0].data[0]["x"] ==
        json({"State T", "State F", "State T -> State F", "State F -> State T"}));
  CHECK(doubles(st[0].data[1]["y"]) == std::vector<double>{0.1, 0.8, 0.95, 0.05});  // P(0), m = 2
  CHECK(doubles(st[0].data[2]["y"]) == std::vector<double>{0.9, 0.2, 0.3, 0.8});    // P(1), m = 1
  CHECK(doubles(st[0].layout["yaxis2"]["range"]) == std::vector<double>{0, 1});
  CHECK(st[0].layout["annotations"][1]["text"] == "Probability to output 1");

  write_text(d / "train_log.csv",
             "step,batch_loss,batch_loss_avg,exact_loss,lr\n10,0.8,0.8,0.7,0.001\n20,0.6,0.65,0.6,"
             "0.001\n");
  write_text(d / "config.json", R"({"actlens": {"bayes_optimal_loss_nats": 0.578}})");
  const auto loss = actlens::report::train_figures(d);
  REQUIRE(loss[0].data.size() == 3);
  CHECK(doubles(loss[0].data[1]["y"]) == std::vector<double>{0.7, 0.6});
  CHECK(doubles(loss[0].data[2]["y"]) == std::vector<double>{0.578, 0.578});
}

TEST_CASE("figure builders name the missing or malformed output file", "[report]") {
  const fs::path d = actlens::test::scratch_dir("figures_missing");
  CHECK_THROWS_WITH(actlens::report::pca_figures(d), Catch::Contains("projections.csv"));
  write_text(d / "projections.csv", "index,label,text,PC1\n0,a,b,not-a-number\n");
  write_text(d / "pca.json", "{}");
  CHECK_THROWS_WITH(actlens::report::pca_figures(d),
                    Catch::Contains("'not-a-number' is not a number"));
  CHECK_THROWS_WITH(actlens::report::figures_for_run("capture", d), Catch::Contains("no figures"));
  CHECK(actlens::report::draws_figures("lda"));
  CHECK_FALSE(actlens::report::draws_figures("process"));
}
