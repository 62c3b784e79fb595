// actlens rsa: representational similarity analysis of two or more spaces of the same items (the
// RSA seed: GloVe 50-d vs 300-d cosine matrices, their upper-triangle correlation, and the
// category selectivity index).
#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include <spdlog/spdlog.h>

#include "actlens/core/error.hpp"
#include "actlens/core/rsa.hpp"
#include "actlens/io/csv.hpp"
#include "actlens/io/npy.hpp"
#include "actlens/io/plain_activations.hpp"
#include "actlens/report/output_dir.hpp"
#include "actlens/report/run_info.hpp"
#include "actlens/report/writers.hpp"
#include "cli_common.hpp"
#include "commands.hpp"
#include "points_input.hpp"

namespace actlens::cli {
namespace fs = std::filesystem;

namespace {

struct RsaOptions {
  FigureFlags figures;
  std::vector<std::string> spaces;
  std::string names;
  std::string groups;
  std::string method = "pearson";
  std::int64_t permutations = 0;
  std::uint64_t seed = 0;
  int threads = 0;
  PointsOptions points;
  std::string out = "results/rsa";
};

// One group index per point (groups numbered by first appearance in point order), and the names.
struct Groups {
  std::vector<int> index;
  std::vector<std::string> names;
};

Groups read_groups(const fs::path& file, const std::vector<std::string>& points) {
  Groups g;
  std::vector<std::string> per_point;
  if (file.extension() == ".csv") {
    const io::CsvTable t = io::read_csv(file);
    int wc = t.column("word"), gc = t.column("group");
    if (wc < 0 && gc < 0 && t.header.size() >= 2) wc = 0, gc = 1;
    if (gc < 0)
      throw Error(file.string() +
                  ": no 'group' column; write a header 'word,group' (or one group "
                  "per line in a .txt, in the order of the points)");
    if (wc >= 0) {
      std::map<std::string, std::string> of;
      for (const auto& r : t.rows)
        of[r[static_cast<std::size_t>(wc)]] = r[static_cast<std::size_t>(gc)];
      std::vector<std::string> without;
      for (const auto& p : points) {
        const auto it = of.find(p);
        if (it == of.end())
          without.push_back(p);
        else
          per_point.push_back(it->second);
      }
      if (!without.empty()) {
        std::string list;
        for (std::size_t i = 0; i < without.size() && i < 20; ++i)
          list += (i ? ", " : "") + without[i];
        throw Error(file.string() + ": no group for " + std::to_string(without.size()) +
                    " point(s): " + list + (without.size() > 20 ? ", ..." : "") +
                    "; add them to the file");
      }
    } else {
      for (const auto& r : t.rows) per_point.push_back(r[static_cast<std::size_t>(gc)]);
    }
  } else {
    per_point = io::read_labels(file, "group");
  }
  if (per_point.size() != points.size())
    throw Error(file.string() + ": " + std::to_string(per_point.size()) + " groups for " +
                std::to_string(points.size()) + " points; give one group per point");
  std::map<std::string, int> id;
  for (const auto& name : per_point) {
    auto [it, fresh] = id.emplace(name, static_cast<int>(g.names.size()));
    if (fresh) g.names.push_back(name);
    g.index.push_back(it->second);
  }
  return g;
}

std::vector<core::CorrelationMethod> parse_methods(const std::string& spec) {
  if (spec == "all")
    return {core::CorrelationMethod::Pearson, core::CorrelationMethod::Spearman,
            core::CorrelationMethod::Kendall};
  std::vector<core::CorrelationMethod> out;
  std::string item;
  for (std::size_t i = 0; i <= spec.size(); ++i) {
    if (i == spec.size() || spec[i] == ',') {
      try {
        out.push_back(core::parse_correlation_method(item));
      } catch (const std::invalid_argument& e) {
        throw UsageError(std::string("--method: ") + e.what() + " (or all)");
      }
      item.clear();
    } else {
      item += spec[i];
    }
  }
  return out;
}

void write_matrix_csv(const fs::path& path, const core::RowMatrixXd& m,
                      const std::vector<std::string>& names) {
  std::vector<std::string> header = {"word"};
  header.insert(header.end(), names.begin(), names.end());
  std::vector<std::vector<std::string>> rows;
  for (Eigen::Index i = 0; i < m.rows(); ++i) {
    std::vector<std::string> row = {names[static_cast<std::size_t>(i)]};
    for (Eigen::Index j = 0; j < m.cols(); ++j) row.push_back(report::format_double(m(i, j)));
    rows.push_back(std::move(row));
  }
  report::write_csv(path, header, rows);
}

std::string safe_name(std::string s) {
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  return s;
}

int run_rsa(const RsaOptions& o) {
  set_threads(o.threads);
  if (o.spaces.size() < 2)
    throw UsageError("rsa compares at least two spaces: give two or more input files");
  if (o.permutations < 0) throw UsageError("--permutations: 0 or more");
  const auto methods = parse_methods(o.method);
  const std::vector<std::string> names = space_names(o.names, o.spaces);

  report::RunInfo info("rsa", command_line(), ACTLENS_VERSION);
  info.start("read");
  std::vector<Points> spaces;
  for (const auto& s : o.spaces) spaces.push_back(load_points(s, o.points));
  info.stop("read");
  const Points& ref = spaces[0];
  for (std::size_t s = 1; s < spaces.size(); ++s) {
    if (spaces[s].names != ref.names) {
      std::size_t i = 0;
      while (i < ref.names.size() && i < spaces[s].names.size() &&
             ref.names[i] == spaces[s].names[i])
        ++i;
      throw Error(spaces[s].path + " holds " + std::to_string(spaces[s].names.size()) + " items, " +
                  ref.path + " " + std::to_string(ref.names.size()) +
                  (i < std::min(ref.names.size(), spaces[s].names.size())
                       ? "; item " + std::to_string(i) + " is '" + spaces[s].names[i] +
                             "' there and '" + ref.names[i] + "' here"
                       : "") +
                  ". RSA needs the same items in the same order: pass --words");
    }
  }
  const Eigen::Index n = ref.x.rows();
  if (n < 3) throw Error(ref.path + ": RSA needs at least 3 items (got " + std::to_string(n) + ")");
  std::optional<Groups> groups;
  if (!o.groups.empty()) groups = read_groups(o.groups, ref.names);

  report::OutputDir out(o.out, "rsa");
  info.start("cosine");
  std::vector<core::RowMatrixXd> cos;
  for (const auto& p : spaces) {
    unit_rows(p);  // names a zero vector by its word
    cos.push_back(core::cosine_matrix(p.x));
  }
  info.stop("cosine");

  info.start("rsa");
  nlohmann::json j;
  j["n_items"] = n;
  j["items"] = ref.names;
  j["spaces"] = nlohmann::json::array();
  for (std::size_t s = 0; s < spaces.size(); ++s)
    j["spaces"].push_back({{"name", names[s]},
                           {"path", spaces[s].path},
                           {"kind", spaces[s].kind},
                           {"format", spaces[s].format},
                           {"dim", spaces[s].x.cols()},
                           {"vocab_size", spaces[s].vocab_size},
                           {"missing", spaces[s].missing}});
  j["pairs"] = nlohmann::json::array();
  nlohmann::json matrices = nlohmann::json::object();
  std::vector<std::vector<std::string>> score_rows;
  for (const auto m : methods) {
    core::RowMatrixXd r = core::RowMatrixXd::Identity(static_cast<Eigen::Index>(spaces.size()),
                                                      static_cast<Eigen::Index>(spaces.size()));
    for (std::size_t a = 0; a < spaces.size(); ++a)
      for (std::size_t b = a + 1; b < spaces.size(); ++b) {
        core::RsaScore sc;
        try {
          sc = core::rsa(cos[a], cos[b], m, o.permutations, o.seed);
        } catch (const std::invalid_argument& e) {
          throw Error(names[a] + " vs " + names[b] + ": " + e.what());
        }
        r(static_cast<Eigen::Index>(a), static_cast<Eigen::Index>(b)) = sc.correlation.r;
        r(static_cast<Eigen::Index>(b), static_cast<Eigen::Index>(a)) = sc.correlation.r;
        nlohmann::json pj = {
            {"a", names[a]},         {"b", names[b]},         {"method", core::to_string(m)},
            {"r", sc.correlation.r}, {"p", sc.correlation.p}, {"n_pairs", sc.correlation.n}};
        if (o.permutations > 0) {
          pj["permutations"] = sc.permutations;
          pj["permutation_p"] = sc.permutation_p;
        }
        j["pairs"].push_back(pj);
        score_rows.push_back(
            {names[a], names[b], core::to_string(m), report::format_double(sc.correlation.r),
             report::format_double(sc.correlation.p), std::to_string(sc.correlation.n),
             o.permutations > 0 ? report::format_double(sc.permutation_p) : ""});
        spdlog::info("RSA ({}) {} vs {}: r = {:.3f} (p = {:.3g}{})", core::to_string(m), names[a],
                     names[b], sc.correlation.r, sc.correlation.p,
                     o.permutations > 0 ? fmt::format(", permutation p = {:.4g} of {}",
                                                      sc.permutation_p, sc.permutations)
                                        : "");
      }
    matrices[core::to_string(m)] = std::vector<std::vector<double>>();
    for (Eigen::Index a = 0; a < r.rows(); ++a)
      matrices[core::to_string(m)].push_back(
          std::vector<double>(r.row(a).data(), r.row(a).data() + r.cols()));
    if (spaces.size() > 2) {
      std::vector<std::vector<std::string>> rows;
      for (Eigen::Index a = 0; a < r.rows(); ++a) {
        std::vector<std::string> row = {names[static_cast<std::size_t>(a)]};
        for (Eigen::Index b = 0; b < r.cols(); ++b) row.push_back(report::format_double(r(a, b)));
        rows.push_back(std::move(row));
      }
      std::vector<std::string> header = {"space"};
      header.insert(header.end(), names.begin(), names.end());
      report::write_csv(out.path() / ("rsa_matrix_" + std::string(core::to_string(m)) + ".csv"),
                        header, rows);
    }
  }
  j["rsa_matrix"] = matrices;
  if (o.permutations > 0)
    j["permutation_test"] = {
        {"permutations", o.permutations},
        {"seed", o.seed},
        {"statistic",
         "items of the second space relabelled at random (Mantel); one-sided p = "
         "(1 + #{r_perm >= r}) / (1 + permutations)"}};
  report::write_csv(out.path() / "rsa_scores.csv",
                    {"space_a", "space_b", "method", "r", "p", "n_pairs", "permutation_p"},
                    score_rows);

  if (groups) {
    nlohmann::json sj = nlohmann::json::object();
    std::vector<std::vector<std::string>> sel_rows;
    std::string summary;
    for (std::size_t s = 0; s < spaces.size(); ++s) {
      core::Selectivity sel;
      try {
        sel = core::selectivity_index(cos[s], groups->index);
      } catch (const std::invalid_argument& e) {
        std::string msg = e.what();
        for (std::size_t g = 0; g < groups->names.size(); ++g) {
          const std::string key = "group " + std::to_string(g) + " ";
          if (const auto at = msg.find(key); at != std::string::npos)
            msg.replace(at, key.size() - 1, "group '" + groups->names[g] + "'");
        }
        throw Error(o.groups + ": " + msg);
      }
      nlohmann::json within = nlohmann::json::object(), between = nlohmann::json::array();
      for (std::size_t a = 0; a < groups->names.size(); ++a) {
        const auto ai = static_cast<Eigen::Index>(a);
        within[groups->names[a]] = sel.within[ai];
        sel_rows.push_back({names[s], groups->names[a], groups->names[a], "within",
                            report::format_double(sel.within[ai])});
        for (std::size_t b = a + 1; b < groups->names.size(); ++b) {
          const auto bi = static_cast<Eigen::Index>(b);
          between.push_back(
              {{"a", groups->names[a]}, {"b", groups->names[b]}, {"mean", sel.between(ai, bi)}});
          sel_rows.push_back({names[s], groups->names[a], groups->names[b], "between",
                              report::format_double(sel.between(ai, bi))});
        }
      }
      sj[names[s]] = {{"index", sel.index},
                      {"numerator", sel.numerator},
                      {"denominator", sel.denominator},
                      {"within", within},
                      {"between", between}};
      summary += fmt::format("{}{:.2f} for {}", s ? ", " : "", sel.index, names[s]);
    }
    j["selectivity"] = sj;
    j["groups"] = groups->names;
    j["selectivity_formula"] =
        "index = mean over groups g of within_g / mean over group pairs a<b of between_ab; "
        "within_g = mean cosine of the pairs i<j inside g, between_ab = mean over pairs with one "
        "item in a and one in b (the seed's masks 1,4,9 over 2,3,6 for three groups)";
    report::write_csv(out.path() / "selectivity.csv",
                      {"space", "group_a", "group_b", "kind", "mean"}, sel_rows);
    spdlog::info("Selectivity index is {}", summary);
  }
  info.stop("rsa");

  info.start("write");
  for (std::size_t s = 0; s < spaces.size(); ++s) {
    const std::string stem = "cosine_" + safe_name(names[s]);
    io::write_npy(out.path() / (stem + ".npy"), io::make_array(cos[s]));
    write_matrix_csv(out.path() / (stem + ".csv"), cos[s], ref.names);
  }
  // pairs.csv: every item pair i < j (the upper triangles) with its similarity in each space, and
  // whether it is within or between groups (the seed's strip plot and RSA scatter).
  {
    std::vector<std::string> header = {"i", "j", "item_i", "item_j"};
    if (groups) header.insert(header.end(), {"group_i", "group_j", "kind"});
    for (const auto& nm : names) header.push_back("cos_" + nm);
    std::vector<std::vector<std::string>> rows;
    rows.reserve(static_cast<std::size_t>(n * (n - 1) / 2));
    for (Eigen::Index i = 0; i < n; ++i)
      for (Eigen::Index jj = i + 1; jj < n; ++jj) {
        const auto iu = static_cast<std::size_t>(i), ju = static_cast<std::size_t>(jj);
        std::vector<std::string> row = {std::to_string(i), std::to_string(jj), ref.names[iu],
                                        ref.names[ju]};
        if (groups) {
          const int gi = groups->index[iu], gj = groups->index[ju];
          row.insert(row.end(), {groups->names[static_cast<std::size_t>(gi)],
                                 groups->names[static_cast<std::size_t>(gj)],
                                 gi == gj ? "within" : "between"});
        }
        for (const auto& c : cos) row.push_back(report::format_double(c(i, jj)));
        rows.push_back(std::move(row));
      }
    report::write_csv(out.path() / "pairs.csv", header, rows);
  }
  report::write_json(out.path() / "rsa.json", j);
  info.stop("write");
  for (std::size_t s = 0; s < spaces.size(); ++s)
    info.add_input(names[s], spaces[s].path, spaces[s].format, spaces[s].bytes);
  if (groups) info.add_input("groups", o.groups, "groups", fs::file_size(o.groups));
  auto& opt = info.options();
  opt["method"] = o.method;
  opt["permutations"] = o.permutations;
  opt["seed"] = o.seed;
  opt["words"] = o.points.words;
  info.summary()["pairs"] = j["pairs"];
  if (groups) info.summary()["selectivity"] = j["selectivity"];
  draw_figures("rsa", out.path(), out.target(), o.figures, info);
  info.write(out.path());
  out.commit();
  spdlog::info("results in {}", out.target().string());
  return 0;
}

}  // namespace

Runner register_rsa(CLI::App& app) {
  auto o = std::make_shared<RsaOptions>();
  auto* sub = app.add_subcommand(
      "rsa",
      "Representational similarity analysis: cosine matrices of two or more spaces of the same "
      "items, the correlation of their upper triangles, and a category selectivity index");
  sub->add_option("spaces", o->spaces,
                  "Two or more inputs with the same items: embedding files (GloVe/word2vec "
                  "text or binary, .npy with --vocab, a GPT-2 folder) or activations")
      ->required();
  sub->add_option("--names", o->names,
                  "Names of the spaces, comma-separated (default: file stems)");
  sub->add_option("--groups", o->groups,
                  "Category of each item: a CSV with columns word,group, or a .txt with one group "
                  "per line in item order. Adds the selectivity index");
  sub->add_option("--method", o->method,
                  "Correlation of the upper triangles: pearson (the seed, np.corrcoef), spearman, "
                  "kendall (tau-b), a comma list, or all")
      ->capture_default_str();
  sub->add_option("--permutations", o->permutations,
                  "Permutation test: relabel the items of the second space this many times "
                  "(at most 10000000: p-values finer than 1e-7 need no more)")
      ->check(int_range(0, 10'000'000, "p-values finer than 1e-7 need no more"))
      ->capture_default_str();
  sub->add_option("--seed", o->seed, "Seed of the permutations")->capture_default_str();
  add_points_options(sub, o->points);
  add_threads_option(*sub, o->threads, "Threads (0 = all cores)")->capture_default_str();
  sub->add_option("-o,--out", o->out, "Output folder")->capture_default_str();
  add_figure_options(*sub, o->figures);
  add_config_option(*sub);
  return [o] { return run_rsa(*o); };
}

}  // namespace actlens::cli
