// actlens rsa: representational similarity analysis of two or more spaces of the same items (the
// RSA seed: GloVe 50-d vs 300-d cosine matrices, their upper-triangle correlation, and the
// category selectivity index).
#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "actlens/core/rsa.hpp"
#include "actlens/error.hpp"
#include "actlens/io/csv.hpp"
#include "actlens/io/npy.hpp"
#include "actlens/io/plain_activations.hpp"
#include "actlens/report/output_dir.hpp"
#include "actlens/report/run_info.hpp"
#include "actlens/report/schema.hpp"
#include "actlens/report/writers.hpp"
#include "cli_common.hpp"
#include "command.hpp"
#include "points_input.hpp"

namespace actlens::cli {
namespace fs = std::filesystem;
namespace sc = schema::rsa;

namespace {

struct RsaOptions {
  std::vector<std::string> spaces;
  std::string names;
  std::string groups;
  std::string method = "pearson";
  std::int64_t permutations = 0;
  std::uint64_t seed = 0;
  PointsOptions points;
};

// One group index per point (groups numbered by first appearance in point order), and the names.
struct Groups {
  std::vector<int> index;
  std::vector<std::string> names;
};

// The group of each point from a CSV with word,group columns (looked up by word) or a single
// group column (in point order), or from a .txt/.npy with one group per point.
std::vector<std::string> groups_per_point(const fs::path& file,
                                          const std::vector<std::string>& points) {
  if (file.extension() != ".csv") return io::read_labels(file, "group");
  const io::CsvTable t = io::read_csv(file);
  int wc = t.column("word"), gc = t.column("group");
  if (wc < 0 && gc < 0 && t.header.size() >= 2) wc = 0, gc = 1;
  if (gc < 0)
    throw Error(file.string() +
                ": no 'group' column; write a header 'word,group' (or one group "
                "per line in a .txt, in the order of the points)");
  std::vector<std::string> per_point;
  if (wc < 0) {
    for (const auto& r : t.rows) per_point.push_back(r[static_cast<std::size_t>(gc)]);
    return per_point;
  }
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
    for (std::size_t i = 0; i < without.size() && i < 20; ++i) list += (i ? ", " : "") + without[i];
    throw Error(file.string() + ": no group for " + std::to_string(without.size()) + " point(s): " +
                list + (without.size() > 20 ? ", ..." : "") + "; add them to the file");
  }
  return per_point;
}

Groups read_groups(const fs::path& file, const std::vector<std::string>& points) {
  const std::vector<std::string> per_point = groups_per_point(file, points);
  if (per_point.size() != points.size())
    throw Error(file.string() + ": " + std::to_string(per_point.size()) + " groups for " +
                std::to_string(points.size()) + " points; give one group per point");
  Groups g;
  std::map<std::string, int> id;
  for (const auto& name : per_point) {
    auto [it, fresh] = id.emplace(name, static_cast<int>(g.names.size()));
    if (fresh) g.names.push_back(name);
    g.index.push_back(it->second);
  }
  return g;
}

// --method: a method, a comma list of them, or "all"; throws std::invalid_argument.
std::vector<core::CorrelationMethod> parse_methods(const std::string& spec) {
  if (spec == "all")
    return {core::CorrelationMethod::Pearson, core::CorrelationMethod::Spearman,
            core::CorrelationMethod::Kendall};
  std::vector<core::CorrelationMethod> out;
  std::string item;
  for (std::size_t i = 0; i <= spec.size(); ++i) {
    if (i == spec.size() || spec[i] == ',') {
      out.push_back(core::parse_correlation_method(item));
      item.clear();
    } else {
      item += spec[i];
    }
  }
  return out;
}

// Every space must hold the same items in the same order.
void check_same_items(const std::vector<Points>& spaces) {
  const Points& ref = spaces[0];
  for (std::size_t s = 1; s < spaces.size(); ++s) {
    if (spaces[s].names == ref.names) continue;
    std::size_t i = 0;
    while (i < ref.names.size() && i < spaces[s].names.size() && ref.names[i] == spaces[s].names[i])
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

void write_matrix_csv(const fs::path& path, const core::RowMatrixXd& m,
                      const std::vector<std::string>& names, const char* corner) {
  std::vector<std::string> header = {corner};
  header.insert(header.end(), names.begin(), names.end());
  std::vector<std::vector<std::string>> rows;
  for (Eigen::Index i = 0; i < m.rows(); ++i) {
    std::vector<std::string> row = {names[static_cast<std::size_t>(i)]};
    for (Eigen::Index j = 0; j < m.cols(); ++j) row.push_back(report::format_double(m(i, j)));
    rows.push_back(std::move(row));
  }
  report::write_csv(path, header, rows);
}

// RSA of every pair of spaces by every method: rsa.json's "pairs" and "rsa_matrix",
// rsa_scores.csv, and the space x space matrices of three or more spaces.
void compare_spaces(const std::vector<core::RowMatrixXd>& cos,
                    const std::vector<std::string>& names, const RsaOptions& o, const fs::path& out,
                    nlohmann::json& j) {
  j[sc::kJsonPairs] = nlohmann::json::array();
  nlohmann::json matrices = nlohmann::json::object();
  std::vector<std::vector<std::string>> score_rows;
  const auto n = static_cast<Eigen::Index>(cos.size());
  for (const auto m : parse_methods(o.method)) {
    const std::string method = core::to_string(m);
    core::RowMatrixXd r = core::RowMatrixXd::Identity(n, n);
    for (Eigen::Index a = 0; a < n; ++a)
      for (Eigen::Index b = a + 1; b < n; ++b) {
        const auto& na = names[static_cast<std::size_t>(a)];
        const auto& nb = names[static_cast<std::size_t>(b)];
        core::RsaScore s;
        try {
          s = core::rsa(cos[static_cast<std::size_t>(a)], cos[static_cast<std::size_t>(b)], m,
                        o.permutations, o.seed);
        } catch (const std::invalid_argument& e) {
          throw Error(na + " vs " + nb + ": " + e.what());
        }
        r(a, b) = r(b, a) = s.correlation.r;
        nlohmann::json pj = {{sc::kPairA, na},          {sc::kPairB, nb},
                             {sc::kPairMethod, method}, {sc::kPairR, s.correlation.r},
                             {"p", s.correlation.p},    {"n_pairs", s.correlation.n}};
        if (o.permutations > 0) {
          pj["permutations"] = s.permutations;
          pj["permutation_p"] = s.permutation_p;
        }
        j[sc::kJsonPairs].push_back(pj);
        score_rows.push_back({na, nb, method, report::format_double(s.correlation.r),
                              report::format_double(s.correlation.p),
                              std::to_string(s.correlation.n),
                              o.permutations > 0 ? report::format_double(s.permutation_p) : ""});
        spdlog::info("RSA ({}) {} vs {}: r = {:.3f} (p = {:.3g}{})", method, na, nb,
                     s.correlation.r, s.correlation.p,
                     o.permutations > 0 ? fmt::format(", permutation p = {:.4g} of {}",
                                                      s.permutation_p, s.permutations)
                                        : "");
      }
    matrices[method] = std::vector<std::vector<double>>();
    for (Eigen::Index a = 0; a < r.rows(); ++a)
      matrices[method].push_back(std::vector<double>(r.row(a).data(), r.row(a).data() + r.cols()));
    if (cos.size() > 2) write_matrix_csv(out / sc::matrix_file(method), r, names, "space");
  }
  j["rsa_matrix"] = matrices;
  if (o.permutations > 0)
    j["permutation_test"] = {
        {"permutations", o.permutations},
        {"seed", o.seed},
        {"statistic",
         "items of the second space relabelled at random (Mantel); one-sided p = "
         "(1 + #{r_perm >= r}) / (1 + permutations)"}};
  report::write_csv(out / sc::kScores,
                    {"space_a", "space_b", "method", "r", "p", "n_pairs", "permutation_p"},
                    score_rows);
}

// The selectivity index of every space: rsa.json's "selectivity" and selectivity.csv.
void write_selectivity(const std::vector<core::RowMatrixXd>& cos,
                       const std::vector<std::string>& names, const Groups& groups,
                       const std::string& groups_file, const fs::path& out, nlohmann::json& j) {
  nlohmann::json sj = nlohmann::json::object();
  std::vector<std::vector<std::string>> sel_rows;
  std::string summary;
  const auto& gn = groups.names;
  for (std::size_t s = 0; s < cos.size(); ++s) {
    core::Selectivity sel;
    try {
      sel = core::selectivity_index(cos[s], groups.index);
    } catch (const std::invalid_argument& e) {
      std::string msg = e.what();  // core names groups by index: name them as the file does
      for (std::size_t g = 0; g < gn.size(); ++g) {
        const std::string key = "group " + std::to_string(g) + " ";
        if (const auto at = msg.find(key); at != std::string::npos)
          msg.replace(at, key.size() - 1, "group '" + gn[g] + "'");
      }
      throw Error(groups_file + ": " + msg);
    }
    nlohmann::json within = nlohmann::json::object(), between = nlohmann::json::array();
    for (std::size_t a = 0; a < gn.size(); ++a) {
      const auto ai = static_cast<Eigen::Index>(a);
      within[gn[a]] = sel.within[ai];
      sel_rows.push_back(
          {names[s], gn[a], gn[a], sc::kWithin, report::format_double(sel.within[ai])});
      for (std::size_t b = a + 1; b < gn.size(); ++b) {
        const auto bi = static_cast<Eigen::Index>(b);
        between.push_back({{"a", gn[a]}, {"b", gn[b]}, {"mean", sel.between(ai, bi)}});
        sel_rows.push_back(
            {names[s], gn[a], gn[b], sc::kBetween, report::format_double(sel.between(ai, bi))});
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
  j["groups"] = gn;
  j["selectivity_formula"] =
      "index = mean over groups g of within_g / mean over group pairs a<b of between_ab; "
      "within_g = mean cosine of the pairs i<j inside g, between_ab = mean over pairs with one "
      "item in a and one in b (the seed's masks 1,4,9 over 2,3,6 for three groups)";
  report::write_csv(out / sc::kSelectivity, {"space", "group_a", "group_b", "kind", "mean"},
                    sel_rows);
  spdlog::info("Selectivity index is {}", summary);
}

// pairs.csv: every item pair i < j (the upper triangles) with its similarity in each space, and
// whether it is within or between groups (the seed's strip plot and RSA scatter).
void write_pairs(const fs::path& path, const std::vector<core::RowMatrixXd>& cos,
                 const std::vector<std::string>& names, const std::vector<std::string>& items,
                 const std::optional<Groups>& groups) {
  std::vector<std::string> header = {sc::kI, sc::kJ, sc::kItemI, sc::kItemJ};
  if (groups) header.insert(header.end(), {sc::kGroupI, sc::kGroupJ, sc::kKind});
  for (const auto& nm : names) header.push_back(sc::cosine_column(nm));
  const auto n = static_cast<Eigen::Index>(items.size());
  std::vector<std::vector<std::string>> rows;
  rows.reserve(static_cast<std::size_t>(n * (n - 1) / 2));
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index jj = i + 1; jj < n; ++jj) {
      const auto iu = static_cast<std::size_t>(i), ju = static_cast<std::size_t>(jj);
      std::vector<std::string> row = {std::to_string(i), std::to_string(jj), items[iu], items[ju]};
      if (groups) {
        const int gi = groups->index[iu], gj = groups->index[ju];
        row.insert(row.end(), {groups->names[static_cast<std::size_t>(gi)],
                               groups->names[static_cast<std::size_t>(gj)],
                               gi == gj ? sc::kWithin : sc::kBetween});
      }
      for (const auto& c : cos) row.push_back(report::format_double(c(i, jj)));
      rows.push_back(std::move(row));
    }
  report::write_csv(path, header, rows);
}

nlohmann::json spaces_json(const std::vector<Points>& spaces,
                           const std::vector<std::string>& names) {
  nlohmann::json j;
  j["n_items"] = spaces[0].x.rows();
  j[sc::kJsonItems] = spaces[0].names;
  j[sc::kJsonSpaces] = nlohmann::json::array();
  for (std::size_t s = 0; s < spaces.size(); ++s)
    j[sc::kJsonSpaces].push_back({{sc::kJsonName, names[s]},
                                  {"path", spaces[s].path},
                                  {"kind", spaces[s].kind},
                                  {"format", spaces[s].format},
                                  {"dim", spaces[s].x.cols()},
                                  {"vocab_size", spaces[s].vocab_size},
                                  {"missing", spaces[s].missing}});
  return j;
}

int run_rsa(const RsaOptions& o, Command& cmd) {
  if (o.spaces.size() < 2)
    throw UsageError("rsa compares at least two spaces: give two or more input files");
  const std::vector<std::string> names = space_names(o.names, o.spaces);

  report::RunInfo& info = cmd.start();
  info.start("read");
  std::vector<Points> spaces;
  for (const auto& s : o.spaces) spaces.push_back(load_points(s, o.points));
  info.stop("read");
  check_same_items(spaces);
  const Points& ref = spaces[0];
  const Eigen::Index n = ref.x.rows();
  if (n < 3) throw Error(ref.path + ": RSA needs at least 3 items (got " + std::to_string(n) + ")");
  std::optional<Groups> groups;
  if (!o.groups.empty()) groups = read_groups(o.groups, ref.names);

  report::OutputDir& out = cmd.output();
  info.start("cosine");
  std::vector<core::RowMatrixXd> cos;
  for (const auto& p : spaces) {
    unit_rows(p);  // only its check: names a zero vector by its word
    cos.push_back(core::cosine_matrix(p.x));
  }
  info.stop("cosine");

  info.start("rsa");
  nlohmann::json j = spaces_json(spaces, names);
  compare_spaces(cos, names, o, out.path(), j);
  if (groups) write_selectivity(cos, names, *groups, o.groups, out.path(), j);
  info.stop("rsa");

  info.start("write");
  for (std::size_t s = 0; s < spaces.size(); ++s) {
    const std::string stem = sc::cosine_stem(names[s]);
    io::write_npy(out.path() / (stem + ".npy"), io::make_array(cos[s]));
    write_matrix_csv(out.path() / (stem + ".csv"), cos[s], ref.names, "word");
  }
  write_pairs(out.path() / sc::kPairs, cos, names, ref.names, groups);
  report::write_json(out.path() / sc::kJson, j);
  info.stop("write");
  for (std::size_t s = 0; s < spaces.size(); ++s)
    info.add_input(names[s], spaces[s].path, spaces[s].format, spaces[s].bytes);
  if (groups) info.add_input("groups", o.groups, "groups", fs::file_size(o.groups));
  info.summary()["pairs"] = j[sc::kJsonPairs];
  if (groups) info.summary()["selectivity"] = j["selectivity"];
  return cmd.finish();
}

}  // namespace

Runner register_rsa(CLI::App& app) {
  auto o = std::make_shared<RsaOptions>();
  auto cmd = Command::add(
      app, {"rsa",
            "Representational similarity analysis: cosine matrices of two or more spaces of the "
            "same items, the correlation of their upper triangles, and a category selectivity "
            "index",
            "results/rsa"});
  CLI::App* sub = &cmd->app();
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
      ->check([](const std::string& s) -> std::string {
        try {
          parse_methods(s);
          return {};
        } catch (const std::invalid_argument& e) {
          return std::string(e.what()) + " (or all)";
        }
      })
      ->capture_default_str();
  sub->add_option("--permutations", o->permutations,
                  "Permutation test: relabel the items of the second space this many times "
                  "(at most 10000000: p-values finer than 1e-7 need no more)")
      ->check(int_range(0, 10'000'000, "p-values finer than 1e-7 need no more"))
      ->capture_default_str();
  sub->add_option("--seed", o->seed, "Seed of the permutations")->capture_default_str();
  add_points_options(sub, o->points);
  return cmd->runner([o](Command& c) { return run_rsa(*o, c); });
}

}  // namespace actlens::cli
