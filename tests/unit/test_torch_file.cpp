// torch.save files read by actlens' own zip + pickle reader, compared with what torch wrote
// (tests/data/bad/torch_types/expected.json from make_bad_fixtures.py, and
// tests/data/roles_example_expected.json from make_torch_reader_expected.py): every dtype, views
// sharing one storage, pickle protocols 2-5, nested containers, numpy and sklearn objects, the
// role example; and damaged or hostile files (legacy format, malicious pickle, truncation,
// missing storage entries, storages aliasing the pickle, bad byteorder records, views larger than
// their storage or than memory, deflated pickle bombs), each an actlens::Error naming the file,
// quickly and without large allocations, never a crash.
#include <catch2/catch.hpp>

#include <cfloat>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "actlens/error.hpp"
#include "actlens/io/role_dataset.hpp"
#include "actlens/io/torch_file.hpp"
#include "actlens/io/zip_archive.hpp"
#include "hostile_zip.hpp"
#include "test_paths.hpp"

using actlens::test::check_array;
using actlens::test::expect_fast_error;
using actlens::test::le_bytes;
using actlens::test::read_json;
using actlens::test::roles_dir;
using actlens::test::slurp;
using actlens::test::ZipItem;

using actlens::Error;
using namespace actlens::io;
namespace pk = actlens::io::pickle;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path types_dir() {
  return actlens::test::data_dir() / "bad" / "torch_types";
}
void spit(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

// Follows an expected.json key path ("a/b/0") through dicts, objects, lists and tuples.
pk::ValuePtr at_path(const pk::ValuePtr& root, const std::string& path) {
  pk::ValuePtr cur = root;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t slash = path.find('/', start);
    const std::string seg =
        path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    INFO("path " << path << ", segment '" << seg << "' in a " << cur->type_name());
    if (cur->is<pk::List>() || cur->is<pk::Tuple>()) {
      const auto& s = cur->sequence();
      const std::size_t i = std::stoul(seg);
      REQUIRE(i < s.size());
      cur = s[i];
    } else {
      REQUIRE((cur->is<pk::Dict>() || cur->is<pk::Object>()));
      cur = cur->get(seg);
    }
    REQUIRE(cur);
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return cur;
}

// float32 of an expected value, as the reader's widening + narrowing gives it.
float as_float(double v) {
  if (std::isfinite(v) && std::fabs(v) > static_cast<double>(FLT_MAX))
    return v > 0 ? INFINITY : -INFINITY;
  return static_cast<float>(v);
}

// dtype, shape and every value exactly (the sign of zero included).
// Every slice t[i] through read_slice_float equals the expected values as float32.
void check_slices(const TorchFile& f, const pk::Tensor& t, const json& want,
                  const std::string& what) {
  INFO(what << " (read_slice_float)");
  const auto values = want.at("values").get<std::vector<double>>();
  if (t.shape.empty()) {
    float x = 0;
    CHECK_THROWS_AS(f.read_slice_float(t, 0, &x), Error);
    return;
  }
  const std::int64_t rows = t.shape[0];
  CHECK_THROWS_AS(f.read_slice_float(t, rows, nullptr), Error);
  CHECK_THROWS_AS(f.read_slice_float(t, -1, nullptr), Error);
  if (rows == 0) return;
  const std::size_t width = values.size() / static_cast<std::size_t>(rows);
  for (std::int64_t i = 0; i < rows; ++i) {
    std::vector<float> buf(width + 1, -12345.0f);  // one guard element past the row
    f.read_slice_float(t, i, buf.data());
    for (std::size_t j = 0; j < width; ++j) {
      INFO("row " << i << ", element " << j);
      const float expect = as_float(values[static_cast<std::size_t>(i) * width + j]);
      if (std::isinf(expect)) {
        CHECK(buf[j] == expect);
      } else {
        CHECK(buf[j] == expect);
        CHECK(std::signbit(buf[j]) == std::signbit(expect));
      }
    }
    CHECK(buf[width] == -12345.0f);
  }
}

// One expected.json entry against the value the reader built.
void check_entry(const TorchFile& f, const pk::ValuePtr& v, const json& want,
                 const std::string& what) {
  INFO(what << ": a " << v->type_name());
  if (want.is_object()) {
    const std::string kind = want.at("kind").get<std::string>();
    if (kind == "tensor") {
      REQUIRE(v->is<pk::Tensor>());
      const auto& t = v->as<pk::Tensor>();
      CHECK(t.shape == want.at("shape").get<std::vector<std::int64_t>>());
      CHECK(t.stride == want.at("stride").get<std::vector<std::int64_t>>());
      CHECK(t.offset == want.at("storage_offset").get<std::int64_t>());
      CHECK(is_numeric(v));
      check_array(f.read(t), want, what);
      check_array(to_array(f, v, what), want, what + " (to_array)");
      check_slices(f, t, want, what);
    } else if (kind == "ndarray") {
      REQUIRE(v->is<pk::NdArray>());
      CHECK(is_numeric(v));
      check_array(v->as<pk::NdArray>().array, want, what);
      check_array(to_array(f, v, what), want, what + " (to_array)");
    } else if (kind == "numpy_scalar") {
      const double expect = want.at("values").at(0).get<double>();
      if (want.at("dtype").get<std::string>().rfind("int", 0) == 0) {
        REQUIRE(v->is<std::int64_t>());
        CHECK(static_cast<double>(v->as<std::int64_t>()) == expect);
      } else {
        REQUIRE(v->is<double>());
        CHECK(v->as<double>() == expect);
      }
    } else {
      FAIL("unknown kind " << kind);
    }
  } else if (want.is_null()) {
    CHECK(v->is<pk::None>());
  } else if (want.is_boolean()) {
    REQUIRE(v->is<bool>());
    CHECK(v->as<bool>() == want.get<bool>());
  } else if (want.is_number_integer()) {
    REQUIRE(v->is<std::int64_t>());
    CHECK(v->as<std::int64_t>() == want.get<std::int64_t>());
  } else if (want.is_number_float()) {
    REQUIRE(v->is<double>());
    CHECK(v->as<double>() == want.get<double>());
  } else if (want.is_string()) {
    REQUIRE(v->is<std::string>());
    CHECK(v->as<std::string>() == want.get<std::string>());
  } else {
    FAIL("unexpected expected.json value " << want.dump());
  }
}

void check_file(const std::string& name) {
  const json all = read_json(types_dir() / "expected.json");
  REQUIRE(all.contains(name));
  const TorchFile f = TorchFile::open(types_dir() / name);
  CHECK(f.path() == types_dir() / name);
  REQUIRE(f.root());
  for (const auto& [path, want] : all.at(name).items())
    check_entry(f, at_path(f.root(), path), want, name + ": " + path);
}

std::vector<float> row_of(const json& j) {
  return j.get<std::vector<float>>();
}

// --- hand-made torch.save archives (stored zip entries) for records torch would never write ---
std::string make_zip(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::vector<ZipItem> items;
  for (const auto& [name, data] : entries) items.push_back({name, data});
  return actlens::test::make_zip(items);
}

std::string pkl_int(std::int64_t v) {  // LONG1 with 8 bytes: any int64
  return std::string("\x8a\x08", 2) + le_bytes(static_cast<std::uint64_t>(v), 8);
}
std::string pkl_str(const std::string& s) {
  return "X" + le_bytes(s.size(), 4) + s;
}
std::string pkl_ints(const std::vector<std::int64_t>& v) {
  std::string out = "(";
  for (auto x : v) out += pkl_int(x);
  return out + "t";
}

// data.pkl of torch.save({"t": tensor}) with the tensor record spelled out.
std::string tensor_pickle(const std::string& storage_type, std::int64_t numel, std::int64_t offset,
                          const std::vector<std::int64_t>& shape,
                          const std::vector<std::int64_t>& stride,
                          const std::string& pid_kind = "storage") {
  return std::string("\x80\x02}(", 4) + pkl_str("t") + "ctorch._utils\n_rebuild_tensor_v2\n(" +
         "(" + pkl_str(pid_kind) + "ctorch\n" + storage_type + "\n" + pkl_str("0") +
         pkl_str("cpu") + pkl_int(numel) + "tQ" + pkl_int(offset) + pkl_ints(shape) +
         pkl_ints(stride) + "\x89" + "ccollections\nOrderedDict\n)R" + "tR" + "u.";
}

// Writes archive/data.pkl (+ archive/data/0 holding `storage` unless null, + archive/byteorder
// holding `byteorder` unless null) as `name`.
fs::path write_torch(const fs::path& dir, const std::string& name, const std::string& pkl,
                     const std::string* storage, const std::string* byteorder = nullptr) {
  std::vector<std::pair<std::string, std::string>> entries = {{"archive/data.pkl", pkl}};
  if (byteorder) entries.emplace_back("archive/byteorder", *byteorder);
  if (storage) entries.emplace_back("archive/data/0", *storage);
  entries.emplace_back("archive/version", "3\n");
  const fs::path p = dir / name;
  spit(p, make_zip(entries));
  return p;
}

std::string float_bytes(const std::vector<float>& v) {
  std::string out(v.size() * sizeof(float), '\0');
  std::memcpy(out.data(), v.data(), out.size());
  return out;
}

}  // namespace

TEST_CASE("torch: dtypes.pt with every dtype and 0-d/empty tensors", "[io][torch]") {
  check_file("dtypes.pt");
  const TorchFile f = TorchFile::open(types_dir() / "dtypes.pt");
  REQUIRE(f.root()->is<pk::Dict>());
  CHECK(f.root()->as<pk::Dict>().items.size() == 11);
  CHECK(f.root()->get("bfloat16")->as<pk::Tensor>().storage->dtype == DType::BF16);
  CHECK(f.root()->get("float16")->as<pk::Tensor>().storage->dtype == DType::F16);
  CHECK(f.root()->get("bool")->as<pk::Tensor>().storage->dtype == DType::Bool);
}

TEST_CASE("torch: views.pt with views sharing one storage", "[io][torch]") {
  check_file("views.pt");
  const TorchFile f = TorchFile::open(types_dir() / "views.pt");
  const auto base = f.root()->get("base")->as<pk::Tensor>().storage;
  for (const char* k : {"slice_1", "transpose", "column_2", "rows_step2"}) {
    INFO(k);
    CHECK(f.root()->get(k)->as<pk::Tensor>().storage == base);  // one Storage object
  }
  CHECK(base->numel == 20);
  CHECK(base->dtype == DType::F32);
}

TEST_CASE("torch: pickle protocols 2 to 5 give identical values", "[io][torch]") {
  std::vector<Array> w, b;
  for (int p = 2; p <= 5; ++p) {
    const std::string name = "proto" + std::to_string(p) + ".pt";
    INFO(name);
    check_file(name);
    // The fixture really uses that protocol.
    auto zip = ZipArchive::open(types_dir() / name);
    const ZipEntry* e = zip.find("proto" + std::to_string(p) + "/data.pkl");
    REQUIRE(e);
    const auto pkl = zip.read(*e);
    REQUIRE(pkl.size() > 2);
    CHECK(static_cast<unsigned char>(pkl[0]) == 0x80);
    CHECK(static_cast<int>(pkl[1]) == p);

    const TorchFile f = TorchFile::open(types_dir() / name);
    w.push_back(to_array(f, f.root()->get("w"), name + ": w"));
    b.push_back(to_array(f, f.root()->get("b"), name + ": b"));
    CHECK(f.root()->get("name")->as<std::string>() == "protocol test");
    CHECK(f.root()->get("n")->as<std::int64_t>() == 3);
  }
  for (std::size_t i = 1; i < w.size(); ++i) {
    CHECK(w[i].dtype == w[0].dtype);
    CHECK(w[i].shape == w[0].shape);
    CHECK(w[i].data == w[0].data);
    CHECK(b[i].shape == b[0].shape);
    CHECK(b[i].data == b[0].data);
  }
}

TEST_CASE("torch: nested.pt containers/scalars/numpy arrays and scalars", "[io][torch]") {
  check_file("nested.pt");
  const TorchFile f = TorchFile::open(types_dir() / "nested.pt");
  const auto& root = f.root();
  REQUIRE(root->is<pk::Dict>());  // an OrderedDict, in insertion order
  std::vector<std::string> keys;
  for (const auto& [k, v] : root->as<pk::Dict>().items) keys.push_back(k->as<std::string>());
  CHECK(keys ==
        std::vector<std::string>{"a", "ints", "floats", "strings", "deep", "np", "none", "flag"});
  CHECK(root->get("a")->is<pk::Dict>());
  CHECK(root->get("a")->get("b")->is<pk::List>());
  CHECK(root->get("a")->get("c")->is<pk::Tuple>());
  CHECK(root->get("ints")->is<pk::List>());
  CHECK(root->get("floats")->is<pk::Tuple>());
  CHECK(at_path(root, "deep/l1/l2/l3/1")->is<pk::Tuple>());
  CHECK(at_path(root, "deep/l1/l2/l3/1/1")->is<pk::List>());
  CHECK(at_path(root, "np/f64_array")->is<pk::NdArray>());
  CHECK_FALSE(is_numeric(root->get("ints")));
  CHECK_THROWS_WITH(to_array(f, root->get("ints"), "nested.pt: ints"),
                    Catch::Contains("nested.pt: ints"));
  CHECK_THROWS_AS(to_array(f, nullptr, "nested.pt: missing"), Error);
}

TEST_CASE("torch: sklearn.pt fitted PCA and StandardScaler are readable opaque objects",
          "[io][torch]") {
  check_file("sklearn.pt");
  const TorchFile f = TorchFile::open(types_dir() / "sklearn.pt");
  const auto pca = f.root()->get("pca");
  const auto scaler = f.root()->get("scaler");
  REQUIRE(pca);
  REQUIRE(scaler);
  REQUIRE(pca->is<pk::Object>());
  REQUIRE(scaler->is<pk::Object>());
  CHECK(pca->type_name() == "object sklearn.decomposition._pca.PCA");
  CHECK(scaler->type_name() == "object sklearn.preprocessing._data.StandardScaler");
  CHECK(pca->get("n_components")->as<std::int64_t>() == 3);
  const Array comps = to_array(f, pca->get("components_"), "sklearn.pt: pca.components_");
  const RowMatrixD m = to_double_matrix(comps, "components_");
  CHECK(m.rows() == 3);
  CHECK(m.cols() == 5);
  for (Eigen::Index r = 0; r < m.rows(); ++r) CHECK(std::fabs(m.row(r).norm() - 1.0) < 1e-12);
}

TEST_CASE("torch: legacy (pre-zip) format is refused with how to re-save", "[io][torch]") {
  const fs::path p = actlens::test::data_dir() / "bad" / "legacy.pt";
  CHECK_THROWS_AS(TorchFile::open(p), Error);
  CHECK_THROWS_WITH(TorchFile::open(p), Catch::Contains("re-save") && Catch::Contains("legacy.pt"));
}

TEST_CASE("torch: malicious.pt is refused and never executed", "[io][torch]") {
  const fs::path pwned = "/tmp/actlens_pwned";
  std::error_code ec;
  fs::remove(pwned, ec);
  const fs::path p = actlens::test::data_dir() / "bad" / "malicious.pt";
  CHECK_THROWS_AS(TorchFile::open(p), Error);
  CHECK_THROWS_WITH(TorchFile::open(p),
                    Catch::Contains("os.system") && Catch::Contains("malicious.pt"));
  CHECK_FALSE(fs::exists(pwned));
}

TEST_CASE("torch: missing files/directories and non-torch zips", "[io][torch]") {
  const fs::path dir = actlens::test::scratch_dir("torch_missing");
  CHECK_THROWS_WITH(TorchFile::open(dir / "nope.pt"), Catch::Contains("nope.pt"));
  CHECK_THROWS_AS(TorchFile::open(dir), Error);
  spit(dir / "empty.pt", "");
  CHECK_THROWS_WITH(TorchFile::open(dir / "empty.pt"), Catch::Contains("empty.pt"));
  spit(dir / "text.pt", "this is not a torch file\n");
  CHECK_THROWS_WITH(TorchFile::open(dir / "text.pt"), Catch::Contains("text.pt"));
  // An .npz is a zip, but not a torch.save archive.
  const fs::path npz = actlens::test::data_dir() / "io";
  for (const auto& e : fs::directory_iterator(npz)) {
    if (e.path().extension() != ".npz") continue;
    INFO(e.path());
    CHECK_THROWS_AS(TorchFile::open(e.path()), Error);
    break;
  }
}

TEST_CASE("torch: truncated .pt files are errors naming the file", "[io][torch]") {
  const fs::path dir = actlens::test::scratch_dir("torch_truncated");
  for (const char* name : {"views.pt", "proto2.pt"}) {
    const std::string whole = slurp(types_dir() / name);
    const fs::path cut = dir / (std::string("cut_") + name);
    // Every length in the first 64 bytes (local header) and the last 256 (central directory and
    // end record, where the reader starts), every 29th in between.
    std::vector<std::size_t> lengths;
    for (std::size_t n = 0; n < whole.size(); ++n)
      if (n < 64 || n + 256 >= whole.size() || n % 29 == 0) lengths.push_back(n);
    for (std::size_t n : lengths) {
      INFO(name << " cut to " << n << " of " << whole.size() << " bytes");
      spit(cut, whole.substr(0, n));
      try {
        TorchFile::open(cut);
        FAIL("a truncated file was accepted");
      } catch (const Error& e) {
        CHECK_THAT(std::string(e.what()), Catch::Contains(cut.string()));
      }
    }
  }
}

TEST_CASE("torch: damaged archives", "[io][torch]") {
  const fs::path dir = actlens::test::scratch_dir("torch_damaged");
  const std::string whole = slurp(types_dir() / "views.pt");

  SECTION("a storage entry missing from the archive") {
    // Rename the only storage entry (local header and central directory) to another name of
    // the same length: the archive stays valid, the tensor data is gone.
    std::string bytes = whole;
    const std::string from = "views/data/0", to = "views/data/Z";
    std::size_t hits = 0;
    for (std::size_t pos = bytes.find(from); pos != std::string::npos;
         pos = bytes.find(from, pos)) {
      bytes.replace(pos, from.size(), to);
      ++hits;
    }
    REQUIRE(hits == 2);
    const fs::path p = dir / "missing_storage.pt";
    spit(p, bytes);
    CHECK_THROWS_AS(TorchFile::open(p), Error);
    CHECK_THROWS_WITH(TorchFile::open(p),
                      Catch::Contains("missing_storage.pt") && Catch::Contains("data/0"));
  }
  SECTION("data.pkl corrupted inside a valid archive") {
    // Damage one byte of data.pkl: the zip CRC (or the pickle reader) must catch it.
    std::uint64_t offset = 0;
    {
      auto zip = ZipArchive::open(types_dir() / "views.pt");
      const ZipEntry* e = zip.find("views/data.pkl");
      REQUIRE(e);
      REQUIRE(e->size > 20);
      offset = e->data_offset + 20;
    }
    std::string bytes = whole;
    REQUIRE(offset < bytes.size());
    bytes[offset] = static_cast<char>(bytes[offset] ^ 0x5A);
    const fs::path p = dir / "bad_pickle.pt";
    spit(p, bytes);
    CHECK_THROWS_WITH(TorchFile::open(p), Catch::Contains("bad_pickle.pt"));
  }
}

TEST_CASE("torch: hand-made archives check tensor records against their storage", "[io][torch]") {
  const fs::path dir = actlens::test::scratch_dir("torch_crafted");
  const std::string six = float_bytes({1, 2, 3, 4, 5, 6});

  SECTION("a well-formed record reads (the writer above is sound)") {
    const auto p =
        write_torch(dir, "ok.pt", tensor_pickle("FloatStorage", 6, 0, {2, 3}, {3, 1}), &six);
    const TorchFile f = TorchFile::open(p);
    const auto& t = f.root()->get("t")->as<pk::Tensor>();
    CHECK(to_double_vector(f.read(t)) == std::vector<double>{1, 2, 3, 4, 5, 6});
    std::vector<float> row(3);
    f.read_slice_float(t, 1, row.data());
    CHECK(row == std::vector<float>{4, 5, 6});
    // A transposed view with an offset over the same storage.
    const auto q =
        write_torch(dir, "view.pt", tensor_pickle("FloatStorage", 6, 1, {2, 2}, {1, 3}), &six);
    const TorchFile g = TorchFile::open(q);
    CHECK(to_double_vector(g.read(g.root()->get("t")->as<pk::Tensor>())) ==
          std::vector<double>{2, 5, 3, 6});
  }
  SECTION("storage entry missing or shorter than the storage") {
    const std::string pkl = tensor_pickle("FloatStorage", 6, 0, {2, 3}, {3, 1});
    const auto p = write_torch(dir, "nostorage.pt", pkl, nullptr);
    CHECK_THROWS_WITH(TorchFile::open(p), Catch::Contains("nostorage.pt") &&
                                              Catch::Contains("data/0") &&
                                              Catch::Contains("missing"));
    const std::string five = float_bytes({1, 2, 3, 4, 5});
    const auto q = write_torch(dir, "short.pt", pkl, &five);
    CHECK_THROWS_WITH(TorchFile::open(q),
                      Catch::Contains("short.pt") && Catch::Contains("shorter"));
    // A storage size whose byte count overflows 64 bits must not pass for a small one.
    const auto r =
        write_torch(dir, "huge.pt",
                    tensor_pickle("FloatStorage", std::int64_t{1} << 62, 0, {2, 3}, {3, 1}), &six);
    CHECK_THROWS_WITH(TorchFile::open(r), Catch::Contains("huge.pt"));
    const auto n =
        write_torch(dir, "negative.pt", tensor_pickle("FloatStorage", -1, 0, {2, 3}, {3, 1}), &six);
    CHECK_THROWS_WITH(TorchFile::open(n), Catch::Contains("negative.pt"));
  }
  SECTION("views reaching outside their storage") {
    struct Case {
      const char* name;
      std::int64_t offset;
      std::vector<std::int64_t> shape, stride;
    };
    const std::int64_t big = std::int64_t{1} << 62;
    for (const Case& c : std::vector<Case>{{"rows.pt", 0, {3, 3}, {3, 1}},
                                           {"offset.pt", 4, {2, 3}, {3, 1}},
                                           {"negoffset.pt", -1, {2, 3}, {3, 1}},
                                           {"stride.pt", 0, {2, 3}, {4, 1}},
                                           {"overflow.pt", 0, {big, big}, {1, 1}},
                                           {"wrap.pt", 0, {3, 2}, {big, big}},
                                           {"negsize.pt", 0, {-2, 3}, {3, 1}}}) {
      INFO(c.name);
      const auto p = write_torch(
          dir, c.name, tensor_pickle("FloatStorage", 6, c.offset, c.shape, c.stride), &six);
      const TorchFile f = TorchFile::open(p);  // records are checked when read
      const auto& t = f.root()->get("t")->as<pk::Tensor>();
      CHECK_THROWS_WITH(f.read(t), Catch::Contains(c.name));
      std::vector<float> row(8);
      if (c.shape[0] > 0)
        CHECK_THROWS_WITH(f.read_slice_float(t, 0, row.data()), Catch::Contains(c.name));
    }
  }
  SECTION("stride-0 views larger than memory are errors, not overflows") {
    const std::int64_t big = std::int64_t{1} << 40;
    const auto p = write_torch(
        dir, "expand.pt", tensor_pickle("FloatStorage", 6, 0, {big, big, big}, {0, 0, 0}), &six);
    const TorchFile f = TorchFile::open(p);
    CHECK_THROWS_WITH(f.read(f.root()->get("t")->as<pk::Tensor>()), Catch::Contains("expand.pt"));
  }
  SECTION("unsupported storage types and persistent ids") {
    const auto p =
        write_torch(dir, "complex.pt", tensor_pickle("ComplexFloatStorage", 3, 0, {3}, {1}), &six);
    CHECK_THROWS_WITH(TorchFile::open(p),
                      Catch::Contains("complex.pt") && Catch::Contains("ComplexFloatStorage"));
    const auto q =
        write_torch(dir, "pid.pt", tensor_pickle("FloatStorage", 6, 0, {6}, {1}, "module"), &six);
    CHECK_THROWS_WITH(TorchFile::open(q), Catch::Contains("pid.pt"));
  }
  SECTION("a zip without <name>/data.pkl") {
    const fs::path p = dir / "nopkl.pt";
    spit(p, make_zip({{"archive/version", "3\n"}, {"archive/data/0", six}}));
    CHECK_THROWS_WITH(TorchFile::open(p),
                      Catch::Contains("nopkl.pt") && Catch::Contains("data.pkl"));
  }
}

TEST_CASE("torch: role example activations are dicts of bfloat16 [46 x 64] tensors",
          "[io][torch]") {
  const json want = read_json(actlens::test::data_dir() / "roles_example_expected.json");
  const int n_layers = want.at("n_layers").get<int>();
  const std::int64_t dim = want.at("dim").get<std::int64_t>();
  REQUIRE(n_layers == 46);
  REQUIRE(dim == 64);

  int files = 0;
  for (const auto& e : fs::directory_iterator(roles_dir() / "response_activations")) {
    if (e.path().extension() != ".pt") continue;
    INFO(e.path());
    ++files;
    const TorchFile f = TorchFile::open(e.path());
    REQUIRE(f.root()->is<pk::Dict>());
    REQUIRE_FALSE(f.root()->as<pk::Dict>().items.empty());
    for (const auto& [k, v] : f.root()->as<pk::Dict>().items) {
      REQUIRE(k->is<std::string>());
      REQUIRE(v->is<pk::Tensor>());
      const auto& t = v->as<pk::Tensor>();
      CHECK(t.shape == std::vector<std::int64_t>{n_layers, dim});
      CHECK(t.storage->dtype == DType::BF16);
    }
  }
  CHECK(files == 13);  // 12 roles and default.pt

  const std::string role = want.at("first_role").get<std::string>();
  const TorchFile f = TorchFile::open(roles_dir() / "response_activations" / (role + ".pt"));
  std::vector<std::string> keys;
  for (const auto& [k, v] : f.root()->as<pk::Dict>().items) keys.push_back(k->as<std::string>());
  CHECK(keys == want.at("first_role_keys").get<std::vector<std::string>>());

  std::size_t checked = 0;
  for (const auto& [layer_str, rows] : want.at("first_role_rows").items()) {
    const int layer = std::stoi(layer_str);
    for (const auto& [key, row] : rows.items()) {
      INFO(role << ".pt: " << key << " layer " << layer);
      const auto& t = f.root()->get(key)->as<pk::Tensor>();
      std::vector<float> got(static_cast<std::size_t>(dim));
      f.read_slice_float(t, layer, got.data());
      CHECK(got == row_of(row));
      ++checked;
    }
  }
  CHECK(checked == keys.size() + 6);

  // The whole tensor read densely agrees with the row reads.
  const std::string k0 = keys.front();
  const Array a = f.read(f.root()->get(k0)->as<pk::Tensor>());
  CHECK(a.dtype == DType::BF16);
  CHECK(a.shape == std::vector<std::int64_t>{n_layers, dim});
  const RowMatrixF m = to_float_matrix(a, k0);
  const auto r22 = row_of(want.at("first_role_rows").at("22").at(k0));
  for (Eigen::Index j = 0; j < m.cols(); ++j) CHECK(m(22, j) == r22[static_cast<std::size_t>(j)]);
}

TEST_CASE("torch: read_role_vectors on the pipeline's pca file with sklearn objects",
          "[io][torch]") {
  const json want = read_json(actlens::test::data_dir() / "roles_example_expected.json");
  const json& pf = want.at("pca_file");
  const fs::path pca_file = roles_dir() / "pca" / "layer22_pos23.pt";
  const RoleVectors rv = read_role_vectors(pca_file, 22);

  const auto roles2 = pf.at("roles").at("pos_2").get<std::vector<std::string>>();
  const auto roles3 = pf.at("roles").at("pos_3").get<std::vector<std::string>>();
  REQUIRE(roles2.size() == 11);
  REQUIRE(roles3.size() == 12);
  std::vector<std::string> all_roles = roles2;
  all_roles.insert(all_roles.end(), roles3.begin(), roles3.end());
  CHECK(rv.roles == all_roles);
  std::vector<int> scores(11, 2);
  scores.insert(scores.end(), 12, 3);
  CHECK(rv.scores == scores);

  REQUIRE(rv.vectors.rows() == 23);
  REQUIRE(rv.vectors.cols() == 64);
  auto row_eq = [&](Eigen::Index r, const json& expect) {
    INFO("vector row " << r);
    const auto e = row_of(expect);
    REQUIRE(e.size() == 64);
    for (Eigen::Index j = 0; j < 64; ++j) CHECK(rv.vectors(r, j) == e[static_cast<std::size_t>(j)]);
  };
  row_eq(0, pf.at("vectors_layer22").at("pos_2/0"));
  row_eq(11, pf.at("vectors_layer22").at("pos_3/0"));
  row_eq(22, pf.at("vectors_layer22").at("pos_3/-1"));

  const auto shape = pf.at("pca_components_shape").get<std::vector<Eigen::Index>>();
  REQUIRE(shape == std::vector<Eigen::Index>{23, 64});
  REQUIRE(rv.pca_components.rows() == 23);
  REQUIRE(rv.pca_components.cols() == 64);
  for (Eigen::Index r = 0; r < 2; ++r) {
    const auto e =
        pf.at("pca_components_rows").at(static_cast<std::size_t>(r)).get<std::vector<double>>();
    for (Eigen::Index j = 0; j < 64; ++j) {
      INFO("components_[" << r << ", " << j << "]");
      CHECK(rv.pca_components(r, j) == e[static_cast<std::size_t>(j)]);
    }
  }

  // The same file's sklearn objects, through the generic reader.
  const TorchFile f = TorchFile::open(pca_file);
  CHECK(f.root()->get("pca")->type_name() == "object sklearn.decomposition._pca.PCA");
  CHECK(f.root()->get("scaler")->get("mean_")->is<pk::NdArray>());
  CHECK(f.root()->get("layer")->as<std::int64_t>() == 22);
  CHECK(f.root()->get("n_components")->as<std::int64_t>() == 23);

  // Another layer of the same vectors; a layer out of range names the file.
  CHECK(read_role_vectors(pca_file, 0).vectors.rows() == 23);
  CHECK_THROWS_WITH(read_role_vectors(pca_file, 46), Catch::Contains("layer22_pos23.pt"));
  CHECK_THROWS_AS(read_role_vectors(pca_file, -1), Error);
  // A torch file without the pipeline's keys.
  CHECK_THROWS_WITH(read_role_vectors(types_dir() / "dtypes.pt", 0), Catch::Contains("dtypes.pt"));
}

TEST_CASE("torch: hostile archives are refused quickly and name the file", "[io][torch]") {
  const fs::path dir = actlens::test::scratch_dir("torch_hostile");
  const std::string six = float_bytes({1, 2, 3, 4, 5, 6});
  const std::string pkl = tensor_pickle("FloatStorage", 6, 0, {2, 3}, {3, 1});

  SECTION("a storage entry whose data is the pickle's") {
    // The central directory points data/0 at data.pkl's local header: the tensor's bytes would
    // be read from the pickle.
    std::string bytes = make_zip({{"archive/data.pkl", pkl}, {"archive/data/0", six}});
    const std::size_t cd = bytes.find("PK\x01\x02", bytes.find("PK\x01\x02") + 4);
    REQUIRE(cd != std::string::npos);
    REQUIRE(bytes.compare(cd + 46, 14, "archive/data/0") == 0);
    bytes.replace(cd + 42, 4, le_bytes(0, 4));  // local header offset: data.pkl's
    const fs::path p = dir / "alias.pt";
    spit(p, bytes);
    expect_fast_error([&] { TorchFile::open(p); },
                      {"alias.pt", "'archive/data.pkl'", "'archive/data/0'", "overlap"});
  }
  SECTION("byteorder records") {
    for (const std::string& order :
         std::vector<std::string>{"middle", "littlee", "LITTLE", "", std::string(1000, 'l')}) {
      INFO("byteorder '" << order.substr(0, 20) << "'");
      const auto p = write_torch(dir, "order.pt", pkl, &six, &order);
      expect_fast_error([&] { TorchFile::open(p); }, {"order.pt", "byteorder", "\"little\""});
    }
    const std::string little = "little";
    const auto p = write_torch(dir, "little.pt", pkl, &six, &little);
    const TorchFile f = TorchFile::open(p);
    CHECK(to_double_vector(f.read(f.root()->get("t")->as<pk::Tensor>())) ==
          std::vector<double>{1, 2, 3, 4, 5, 6});
    // A big-endian archive: storages hold big-endian floats, read back in native order.
    std::string swapped = six;
    for (std::size_t i = 0; i < swapped.size(); i += 4) std::swap(swapped[i], swapped[i + 3]);
    for (std::size_t i = 0; i < swapped.size(); i += 4) std::swap(swapped[i + 1], swapped[i + 2]);
    const std::string big = "big";
    const auto q = write_torch(dir, "big.pt", pkl, &swapped, &big);
    const TorchFile g = TorchFile::open(q);
    const auto& t = g.root()->get("t")->as<pk::Tensor>();
    CHECK(to_double_vector(g.read(t)) == std::vector<double>{1, 2, 3, 4, 5, 6});
    std::vector<float> row(3);
    g.read_slice_float(t, 1, row.data());
    CHECK(row == std::vector<float>{4, 5, 6});
  }
  SECTION("views addressing more than their storage, or than memory") {
    struct Case {
      const char* name;
      std::vector<std::int64_t> shape, stride;
      const char* needle;
    };
    const std::int64_t e15 = 1'000'000'000'000'000;
    for (const Case& c : std::vector<Case>{
             {"expand_1e15.pt", {e15}, {0}, "elements"},                    // > 2^40 elements
             {"expand_1e6x1e4.pt", {1'000'000, 10'000}, {0, 0}, "expand"},  // 40 GB of repeats
             {"rows_4e9.pt", {4'000'000'000, 3}, {3, 1}, "outside its storage"},
             {"rows_1e6x1e4.pt", {1'000'000, 10'000}, {10'000, 1}, "outside its storage"},
             {"product.pt", {std::int64_t{1} << 32, std::int64_t{1} << 32}, {0, 0}, "too many"}}) {
      INFO(c.name);
      const auto p =
          write_torch(dir, c.name, tensor_pickle("FloatStorage", 6, 0, c.shape, c.stride), &six);
      const TorchFile f = TorchFile::open(p);
      const auto& t = f.root()->get("t")->as<pk::Tensor>();
      expect_fast_error([&] { f.read(t); }, {c.name, c.needle});
      std::vector<float> row(8);
      expect_fast_error([&] { f.read_slice_float(t, 0, row.data()); }, {c.name, c.needle});
    }
    // A small stride-0 view (what expand() saves) still reads.
    const auto p =
        write_torch(dir, "expand_ok.pt", tensor_pickle("FloatStorage", 6, 0, {4, 3}, {0, 1}), &six);
    const TorchFile f = TorchFile::open(p);
    CHECK(to_double_vector(f.read(f.root()->get("t")->as<pk::Tensor>())) ==
          std::vector<double>{1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3});
  }
  SECTION("a storage entry that is compressed, or shorter than its storage") {
    const fs::path p = dir / "zipped_storage.pt";
    spit(p, actlens::test::make_zip(
                {ZipItem{"archive/data.pkl", pkl}, ZipItem{"archive/data/0", six, true}}));
    expect_fast_error([&] { TorchFile::open(p); }, {"zipped_storage.pt", "data/0", "compressed"});
    const auto q =
        write_torch(dir, "lying_numel.pt",
                    tensor_pickle("FloatStorage", 1'000'000'000, 0, {2, 3}, {3, 1}), &six);
    expect_fast_error([&] { TorchFile::open(q); },
                      {"lying_numel.pt", "declares 4000000000 bytes but the file holds 24"});
  }
  SECTION("a deflated data.pkl bomb") {
    // 24 MB of EMPTY_LIST opcodes (each would build a value) compress to ~25 KB. Refused by the
    // size cap before anything is inflated.
    const std::string bomb = "\x80\x02" + std::string(24'000'000, ']') + ".";
    const fs::path p = dir / "bomb.pt";
    spit(p, actlens::test::make_zip(
                {ZipItem{"archive/data.pkl", bomb, true}, ZipItem{"archive/data/0", six}}));
    expect_fast_error([&] { TorchFile::open(p); }, {"bomb.pt", "data.pkl", "declares 24000003"});
    // The same stream recording a small size: inflating stops at the first byte past it.
    const fs::path q = dir / "bomb_small.pt";
    spit(q, actlens::test::make_zip(
                {ZipItem{"archive/data.pkl", bomb, true, 1000}, ZipItem{"archive/data/0", six}}));
    expect_fast_error([&] { TorchFile::open(q); }, {"bomb_small.pt", "more than its recorded"});
    // Under the cap (12 MB), the pickle reader's memory budget stops it.
    const std::string small_bomb = "\x80\x02" + std::string(12'000'000, ']') + ".";
    const fs::path r = dir / "bomb_budget.pt";
    spit(r, actlens::test::make_zip(
                {ZipItem{"archive/data.pkl", small_bomb, true}, ZipItem{"archive/data/0", six}}));
    expect_fast_error([&] { TorchFile::open(r); }, {"bomb_budget.pt", "MiB of values"});
  }
}

TEST_CASE("torch: every pickle under tests/ still loads under the allow-list", "[io][torch]") {
  // The project's own torch.save files (the bad/ fixtures that are bad on purpose aside).
  std::size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(actlens::test::tests_dir())) {
    if (!e.is_regular_file() || e.path().extension() != ".pt") continue;
    const std::string name = e.path().filename().string();
    if (name == "legacy.pt" || name == "malicious.pt") continue;
    if (e.path().string().find("/tmp/") != std::string::npos) continue;
    INFO(e.path());
    CHECK_NOTHROW(TorchFile::open(e.path()));
    ++n;
  }
  CHECK(n >= 25);
}
