// io/two_class_input: the two classes GED compares, from one input with labels or one input per
// class, on small .npy files written here (row i of the data holds the value i, so which rows were
// kept is visible).
#include <catch2/catch.hpp>

#include <fstream>
#include <limits>

#include "actlens/error.hpp"
#include "actlens/io/npy.hpp"
#include "actlens/io/two_class_input.hpp"
#include "test_paths.hpp"

using namespace actlens::io;
namespace fs = std::filesystem;

namespace {

// [n, d] with every value of row i equal to first + i.
fs::path write_rows(const fs::path& p, Eigen::Index n, Eigen::Index d, double first = 0) {
  RowMatrixD x(n, d);
  for (Eigen::Index i = 0; i < n; ++i) x.row(i).setConstant(first + static_cast<double>(i));
  write_npy(p, make_array(x));
  return p;
}

fs::path write_labels(const fs::path& p, const std::string& body) {
  std::ofstream(p) << "label\n" << body;
  return p;
}

}  // namespace

TEST_CASE("labelled input keeps the rows of the two classes", "[io][two_class]") {
  const auto dir = actlens::test::scratch_dir("two_class_labeled");
  const auto x = write_rows(dir / "x.npy", 5, 3);
  const auto lab = write_labels(dir / "l.csv", "a\nb\nc\na\nb\n");
  std::vector<std::string> classes = {"a", "b"};
  TwoClassInput t = TwoClassInput::open_labeled("train", x, lab, {}, classes, "--labels");
  CHECK(t.labeled());
  const RowMatrixD rows = t.read("");
  REQUIRE(rows.rows() == 4);
  CHECK(rows(0, 0) == 0.0);
  CHECK(rows(1, 2) == 1.0);
  CHECK(rows(2, 0) == 3.0);  // row 2 ('c') left out
  CHECK(rows(3, 1) == 4.0);
  CHECK(t.is_b() == std::vector<bool>{false, true, false, true});
  CHECK(t.labels() == std::vector<std::string>{"a", "b", "a", "b"});
  CHECK(t.source_row(2) == 3);
  CHECK(t.label_files() == std::vector<fs::path>{lab});
}

TEST_CASE("without --classes the two labels are taken in order of appearance", "[io][two_class]") {
  const auto dir = actlens::test::scratch_dir("two_class_order");
  const auto x = write_rows(dir / "x.npy", 4, 2);
  std::vector<std::string> classes;
  TwoClassInput t = TwoClassInput::open_labeled(
      "train", x, write_labels(dir / "l.csv", "her\nhim\nhim\nher\n"), {}, classes, "--labels");
  CHECK(classes == std::vector<std::string>{"her", "him"});
  CHECK(t.is_b() == std::vector<bool>{false, true, true, false});

  std::vector<std::string> none;
  CHECK_THROWS_WITH(
      TwoClassInput::open_labeled("train", x, write_labels(dir / "3.csv", "a\nb\nc\na\n"), {}, none,
                                  "--labels"),
      Catch::Matchers::Contains("GED compares two classes, but the labels have 3 (a, b, c)"));
  std::vector<std::string> missing = {"a", "z"};
  CHECK_THROWS_WITH(
      TwoClassInput::open_labeled("test", x, write_labels(dir / "az.csv", "a\nb\na\nb\n"), {},
                                  missing, "--test-labels"),
      Catch::Matchers::Contains("no test row is labelled 'z'"));
  std::vector<std::string> ab = {"a", "b"};
  CHECK_THROWS_AS(TwoClassInput::open_labeled("train", x, "", {}, ab, "--labels"),
                  actlens::UsageError);
}

TEST_CASE("labelled input refuses a label count that differs and NaN rows", "[io][two_class]") {
  const auto dir = actlens::test::scratch_dir("two_class_bad");
  std::vector<std::string> classes = {"a", "b"};
  TwoClassInput shorter = TwoClassInput::open_labeled(
      "train", write_rows(dir / "x.npy", 4, 2), write_labels(dir / "l.csv", "a\nb\na\nb\na\n"), {},
      classes, "--labels");
  CHECK_THROWS_WITH(shorter.read(""), Catch::Matchers::Contains("has 4 rows but") &&
                                          Catch::Matchers::Contains("has 5 labels"));

  RowMatrixD x = RowMatrixD::Zero(4, 2);
  x(2, 1) = std::numeric_limits<double>::quiet_NaN();
  write_npy(dir / "nan.npy", make_array(x));
  TwoClassInput nan = TwoClassInput::open_labeled("train", dir / "nan.npy",
                                                  write_labels(dir / "l4.csv", "a\nb\na\nb\n"), {},
                                                  classes, "--labels");
  CHECK_THROWS_WITH(nan.read(""), Catch::Matchers::Contains("nan.npy: row 2 has NaN/Inf"));
  CHECK_THROWS_WITH(nan.read("layer9"), Catch::Matchers::Contains("no layer 'layer9'"));
}

TEST_CASE("one input per class: a's rows, then b's", "[io][two_class]") {
  const auto dir = actlens::test::scratch_dir("two_class_pair");
  TwoClassInput t = TwoClassInput::open_pair("train", write_rows(dir / "a.npy", 2, 3),
                                             write_rows(dir / "b.npy", 3, 3, 10), {}, {"a", "b"});
  CHECK_FALSE(t.labeled());
  CHECK(t.label_files().empty());
  const RowMatrixD rows = t.read("");
  REQUIRE(rows.rows() == 5);
  CHECK(rows(1, 0) == 1.0);
  CHECK(rows(2, 0) == 10.0);
  CHECK(rows(4, 2) == 12.0);
  CHECK(t.is_b() == std::vector<bool>{false, false, true, true, true});
  CHECK(t.labels() == std::vector<std::string>{"a", "a", "b", "b", "b"});
  CHECK(t.source_row(3) == 3);
  t.read("");  // a second layer leaves the flags as they are
  CHECK(t.is_b().size() == 5);

  TwoClassInput wide = TwoClassInput::open_pair("test", write_rows(dir / "a2.npy", 2, 3),
                                                write_rows(dir / "b2.npy", 2, 4), {}, {"a", "b"});
  CHECK_THROWS_WITH(wide.read(""), Catch::Matchers::Contains("class a has 3 features, class b 4"));
}
