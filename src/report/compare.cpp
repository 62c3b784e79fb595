#include "actlens/report/compare.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "actlens/error.hpp"
#include "actlens/io/csv.hpp"
#include "actlens/io/json_file.hpp"
#include "actlens/io/npy.hpp"
#include "actlens/report/writers.hpp"

namespace actlens::report {
namespace fs = std::filesystem;

namespace {

// Top-level keys of run.json that differ between two runs of the same analysis (only there: a
// "path" or "version" inside a result, or in another JSON file, is compared).
const std::set<std::string> kVolatileKeys = {"timings", "created", "command_line", "inputs",
                                             "figures", "threads", "version",      "path"};
// Options in run.json that say where and how a run was made, not what it computed: a run and
// its reference in another folder, on another machine or without figures still compare equal.
const std::set<std::string> kVolatileOptions = {"out", "threads", "no_figures", "plotly", "png"};

struct Comparer {
  const CompareOptions& opt;
  CompareResult& out;
  std::string file;
  bool run_json = false;  // the file is a run.json: kVolatileKeys are skipped too

  // Matched as kVolatileKeys are, at the top level only, but in every JSON file: the caller
  // knows which sections are expected to change; a nested key of the same name still counts.
  bool skipped(const std::string& key) const {
    return (run_json && kVolatileKeys.count(key)) ||
           std::find(opt.ignore_keys.begin(), opt.ignore_keys.end(), key) != opt.ignore_keys.end();
  }

  bool close(double a, double b) const {
    if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
    return std::fabs(a - b) <= opt.atol + opt.rtol * std::fabs(b);
  }
  void number(double a, double b, const std::string& where) {
    ++out.values_compared;
    if (!close(a, b))
      out.differences.push_back(
          {file, where, format_double(a), format_double(b), std::fabs(a - b)});
  }
  void text(const std::string& a, const std::string& b, const std::string& where) {
    ++out.values_compared;
    if (a != b) out.differences.push_back({file, where, a, b, 0});
  }

  void json(const nlohmann::json& a, const nlohmann::json& b, const std::string& where, bool top) {
    if (a.is_number() && b.is_number()) return number(a.get<double>(), b.get<double>(), where);
    if (a.type() != b.type()) return text(a.dump(), b.dump(), where);
    if (a.is_object()) {
      std::set<std::string> keys;
      for (auto it = a.begin(); it != a.end(); ++it) keys.insert(it.key());
      for (auto it = b.begin(); it != b.end(); ++it) keys.insert(it.key());
      for (const auto& k : keys) {
        if (top && skipped(k)) continue;
        if (run_json && where == "options" && kVolatileOptions.count(k)) continue;
        const std::string w = where.empty() ? k : where + "." + k;
        if (!a.contains(k))
          text("(missing)", b[k].dump(), w);
        else if (!b.contains(k))
          text(a[k].dump(), "(missing)", w);
        else
          json(a[k], b[k], w, false);
      }
      return;
    }
    if (a.is_array()) {
      if (a.size() != b.size())
        return text(std::to_string(a.size()) + " items", std::to_string(b.size()) + " items",
                    where);
      for (std::size_t i = 0; i < a.size(); ++i)
        json(a[i], b[i], where + "[" + std::to_string(i) + "]", false);
      return;
    }
    text(a.dump(), b.dump(), where);
  }

  void npy(const fs::path& pa, const fs::path& pb, bool up_to_sign) {
    io::Array a = io::read_npy(pa), b = io::read_npy(pb);
    if (a.shape != b.shape) {
      auto s = [](const io::Array& x) {
        std::string r;
        for (auto d : x.shape) r += (r.empty() ? "" : "x") + std::to_string(d);
        return "shape " + r;
      };
      return text(s(a), s(b), "shape");
    }
    const auto va = io::to_double_vector(a), vb = io::to_double_vector(b);
    const std::size_t cols =
        a.shape.size() >= 2 ? va.size() / static_cast<std::size_t>(a.shape[0]) : va.size();
    for (std::size_t r0 = 0; r0 < va.size(); r0 += std::max<std::size_t>(cols, 1)) {
      double sign = 1;
      if (up_to_sign) {  // align the row's sign on its largest coordinate
        double dot = 0;
        for (std::size_t c = 0; c < cols; ++c) dot += va[r0 + c] * vb[r0 + c];
        if (dot < 0) sign = -1;
      }
      for (std::size_t c = 0; c < cols && r0 + c < va.size(); ++c)
        number(sign * va[r0 + c], vb[r0 + c], "[" + std::to_string(r0 + c) + "]");
      if (cols == 0) break;
    }
  }

  void csv(const fs::path& pa, const fs::path& pb) {
    io::CsvTable a = io::read_csv(pa), b = io::read_csv(pb);
    if (a.header != b.header) return text(io::csv_line(a.header), io::csv_line(b.header), "header");
    if (a.rows.size() != b.rows.size())
      return text(std::to_string(a.rows.size()) + " rows", std::to_string(b.rows.size()) + " rows",
                  "rows");
    for (std::size_t r = 0; r < a.rows.size(); ++r) {
      for (std::size_t c = 0; c < a.header.size(); ++c) {
        const std::string where = "row " + std::to_string(r + 1) + " " + a.header[c];
        const std::string& x = a.rows[r][c];
        const std::string& y = b.rows[r][c];
        char* ex = nullptr;
        char* ey = nullptr;
        const double dx = std::strtod(x.c_str(), &ex), dy = std::strtod(y.c_str(), &ey);
        if (!x.empty() && !y.empty() && *ex == '\0' && *ey == '\0')
          number(dx, dy, where);
        else
          text(x, y, where);
      }
    }
  }
};

// The figures (figures/, index.html) are drawn from the other files and carry the run's
// name, the plotly.js version and its embedding: they are not results, so they are not compared;
// nor is the marker listing the run's files (output_dir.hpp).
bool is_figure_file(const std::string& rel) {
  return rel == "index.html" || rel.rfind("figures/", 0) == 0 || rel == ".actlens.json";
}

std::set<std::string> list_files(const fs::path& root) {
  std::set<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file()) {
      std::string rel = fs::relative(e.path(), root).generic_string();
      if (!is_figure_file(rel)) files.insert(std::move(rel));
    }
  return files;
}

}  // namespace

CompareResult compare_dirs(const fs::path& a, const fs::path& b, const CompareOptions& options) {
  for (const auto& d : {a, b})
    if (!fs::is_directory(d)) throw Error(d.string() + ": no such result folder");
  CompareResult out;
  const auto fa = list_files(a), fb = list_files(b);
  std::set<std::string> all = fa;
  all.insert(fb.begin(), fb.end());
  for (const auto& rel : all) {
    Comparer c{options, out, rel};
    if (!fa.count(rel)) {
      c.text("(missing)", "present", "file");
      continue;
    }
    if (!fb.count(rel)) {
      c.text("present", "(missing)", "file");
      continue;
    }
    ++out.files_compared;
    const std::string ext = fs::path(rel).extension().string();
    const std::string stem = fs::path(rel).stem().string();
    if (ext == ".json") {
      auto load = [](const fs::path& p) {
        return io::read_json_file(p, "a JSON file of an actlens run");
      };
      c.run_json = fs::path(rel).filename() == "run.json";
      c.json(load(a / rel), load(b / rel), "", true);
    } else if (ext == ".npy") {
      c.npy(a / rel, b / rel, stem.rfind("components", 0) == 0);
    } else if (ext == ".csv") {
      c.csv(a / rel, b / rel);
    } else if (ext == ".npz") {
      auto za = io::read_npz(a / rel), zb = io::read_npz(b / rel);
      for (const auto& [k, arr] : za) {
        auto it = zb.find(k);
        if (it == zb.end()) {
          c.text("present", "(missing)", k);
          continue;
        }
        auto va = io::to_double_vector(arr), vb = io::to_double_vector(it->second);
        if (va.size() != vb.size()) {
          c.text("size " + std::to_string(va.size()), "size " + std::to_string(vb.size()), k);
          continue;
        }
        for (std::size_t i = 0; i < va.size(); ++i)
          c.number(va[i], vb[i], k + "[" + std::to_string(i) + "]");
      }
    } else {
      std::ifstream ia(a / rel, std::ios::binary), ib(b / rel, std::ios::binary);
      std::string sa((std::istreambuf_iterator<char>(ia)), {}),
          sb((std::istreambuf_iterator<char>(ib)), {});
      c.text(sa == sb ? "same" : "bytes differ", "same", "content");
    }
  }
  return out;
}

}  // namespace actlens::report
