// tsne / dbscan / cluster figures beyond the 2-D case (issue 18): 3-D points are drawn in a 3-D
// scene with all three coordinates, and a cluster run's spaces keep the command line's order.
#include <catch2/catch.hpp>

#include <fstream>

#include "actlens/report/figure_sets.hpp"
#include "figure_test_helpers.hpp"
#include "test_paths.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

using namespace figure_test;

namespace {

std::vector<double> doubles(const json& a) {
  std::vector<double> v;
  for (const auto& x : a) v.push_back(x.is_null() ? -999 : x.get<double>());
  return v;
}

}  // namespace

TEST_CASE("tsne figure of a 3-D embedding: scatter3d with the third coordinate", "[report]") {
  const fs::path d = actlens::test::scratch_dir("figures_tsne3d");
  write_text(d / "tsne.csv", "index,name,tsne1,tsne2,tsne3\n0,a,1,2,3\n1,b,4,5,6\n");
  const auto figs = actlens::report::embedding_figures(d);
  REQUIRE(figs.size() == 1);
  const auto& f = figs[0];
  CHECK(f.name == "embedding");
  REQUIRE(f.data.size() == 1);
  CHECK(f.data[0]["type"] == "scatter3d");
  CHECK(doubles(f.data[0]["x"]) == std::vector<double>{1, 4});
  CHECK(doubles(f.data[0]["y"]) == std::vector<double>{2, 5});
  CHECK(doubles(f.data[0]["z"]) == std::vector<double>{3, 6});
  CHECK(f.data[0]["text"] == json({"a", "b"}));
  CHECK(f.layout["scene"]["zaxis"]["title"]["text"] == "tSNE axis 3");
  CHECK_FALSE(f.layout.contains("xaxis"));
}

TEST_CASE("tsne figure of a 2-D embedding stays a 2-D scatter", "[report]") {
  const fs::path d = actlens::test::scratch_dir("figures_tsne2d");
  write_text(d / "tsne.csv", "index,name,tsne1,tsne2\n0,a,1,2\n1,b,4,5\n");
  const auto f = actlens::report::embedding_figures(d).at(0);
  CHECK(f.data[0]["type"] == "scatter");
  CHECK_FALSE(f.data[0].contains("z"));
  CHECK_FALSE(f.layout.contains("scene"));
  CHECK(f.layout["yaxis"]["title"]["text"] == "tSNE axis 2");
}

TEST_CASE("dbscan figure of 3-column points: 3-D clusters, links and centroids", "[report]") {
  const fs::path d = actlens::test::scratch_dir("figures_dbscan3d");
  write_text(d / "labels.csv",
             "index,name,cluster,core,x1,x2,x3\n0,a,0,1,0,0,0\n1,b,0,1,2,0,4\n2,c,-1,0,9,9,9\n");
  const auto f = actlens::report::embedding_figures(d).at(0);
  CHECK(f.name == "clusters");
  // cluster 0's links, noise, cluster 0, centroids: every one 3-D
  REQUIRE(f.data.size() == 4);
  for (const auto& t : f.data) CHECK(t["type"] == "scatter3d");
  CHECK(doubles(f.data[0]["z"]) == std::vector<double>{0, 2, -999, 4, 2, -999});
  CHECK(f.data[1]["name"] == "noise");
  CHECK(f.data[1]["marker"]["symbol"] == "cross");  // scatter3d has no cross-thin
  CHECK(doubles(f.data[1]["z"]) == std::vector<double>{9});
  CHECK(f.data[3]["name"] == "centroids");
  CHECK(doubles(f.data[3]["x"]) == std::vector<double>{1});
  CHECK(doubles(f.data[3]["z"]) == std::vector<double>{2});
  CHECK(f.layout["scene"]["xaxis"]["title"]["text"] == "x1");
  CHECK(f.layout["scene"]["zaxis"]["title"]["text"] == "x3");
}

TEST_CASE("cluster figures follow cluster.json's order, not the folder names'", "[report]") {
  const fs::path run = actlens::test::scratch_dir("figures_cluster_order");
  for (const char* space : {"small50", "small300", "glove"})
    write_text(run / space / "tsne.csv", "index,name,tsne1,tsne2\n0,a,1,2\n1,b,4,5\n");
  // as `actlens cluster small50 small300 glove` writes it (keys in the given order)
  write_text(run / "cluster.json", "{\"small50\": {}, \"small300\": {}, \"glove\": {}}\n");
  const auto figs = actlens::report::embedding_figures(run);
  REQUIRE(figs.size() == 3);
  CHECK(figs[0].name == "small50_embedding");
  CHECK(figs[1].name == "small300_embedding");
  CHECK(figs[2].name == "glove_embedding");
}
