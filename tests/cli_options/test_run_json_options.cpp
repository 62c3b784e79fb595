// run.json records every option of the command that produced it. For each command this test runs
// the real program (actlens-torch, which has every command) on the bundled data, then walks the
// command's options in the CLI11 tree that main() builds (registry.hpp) and checks run.json's
// "options": every option is there (given or defaulted), and a value given on the command line
// is recorded as given. A new flag that run.json does not record fails here.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "registry.hpp"

namespace fs = std::filesystem;

namespace {

const std::string kTests = ACTLENS_TESTS_DIR;
const fs::path kTmp = fs::path(ACTLENS_TEST_TMP) / "run_json_options";

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs `actlens-torch ARGS` and returns run.json of `out`.
nlohmann::json run(const std::vector<std::string>& args, const fs::path& out) {
  std::string cmd = quote(ACTLENS_TORCH_BINARY) + " -q";
  for (const auto& a : args) cmd += " " + quote(a);
  cmd += " >" + quote((kTmp / "stdout.txt").string()) + " 2>&1";
  const int rc = std::system(cmd.c_str());
  INFO(cmd);
  std::ifstream log(kTmp / "stdout.txt");
  INFO(std::string(std::istreambuf_iterator<char>(log), {}));
  REQUIRE(rc == 0);
  std::ifstream in(out / "run.json");
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

// The (nested) subcommand named by the leading words of `args`.
CLI::App* find_command(CLI::App& app, const std::vector<std::string>& args) {
  CLI::App* sub = &app;
  for (const auto& a : args) {
    if (a.empty() || a[0] == '-') break;
    CLI::App* next = nullptr;
    for (auto* c : sub->get_subcommands({}))
      if (c->check_name(a)) next = c;
    if (next == nullptr) break;
    sub = next;
  }
  return sub;
}

// The values `args` gives the option (every spelling of its names), in order.
std::vector<std::string> given(const CLI::Option& opt, const std::vector<std::string>& args) {
  std::vector<std::string> names;
  for (const auto& l : opt.get_lnames()) names.push_back("--" + l);
  for (const auto& s : opt.get_snames()) names.push_back("-" + s);
  std::vector<std::string> values;
  for (std::size_t i = 0; i < args.size(); ++i) {
    for (const auto& n : names) {
      if (args[i] == n && i + 1 < args.size() && opt.get_expected_max() != 0)
        values.push_back(args[i + 1]);
      else if (args[i] == n)
        values.push_back("true");
      else if (args[i].rfind(n + "=", 0) == 0)
        values.push_back(args[i].substr(n.size() + 1));
    }
  }
  return values;
}

std::string as_text(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) {
    std::ostringstream s;
    s << v.get<double>();
    return s.str();
  }
  return v.dump();
}

void check_options(const std::vector<std::string>& args, const std::string& out_name) {
  const fs::path out = kTmp / out_name;
  std::vector<std::string> full = args;
  full.insert(full.end(), {"--out", out.string()});
  const nlohmann::json j = run(full, out);
  CLI::App app;
  const auto runners = actlens::cli::register_commands(app);
  CLI::App* sub = find_command(app, args);
  REQUIRE(sub != &app);
  REQUIRE(j.contains("options"));
  const nlohmann::json& opts = j["options"];
  int checked = 0;
  for (const CLI::Option* opt : sub->get_options()) {
    std::string key = opt->get_single_name();
    if (key == "help" || key == "config") continue;
    for (char& c : key)
      if (c == '-') c = '_';
    INFO(args[0] << ": option " << key << " in run.json " << opts.dump());
    REQUIRE(opts.contains(key));
    ++checked;
    const auto values = given(*opt, full);
    if (values.empty()) continue;
    const nlohmann::json& v = opts[key];
    if (opt->get_expected_max() == 0) {
      CHECK(v == true);
    } else if (v.is_array()) {
      // A list option given as repeated flags or as one comma-separated word.
      std::string joined, recorded;
      for (const auto& s : values) joined += (joined.empty() ? "" : ",") + s;
      for (const auto& e : v) recorded += (recorded.empty() ? "" : ",") + as_text(e);
      CHECK(recorded == joined);
    } else if (v.is_number()) {
      CHECK(v.get<double>() == Approx(std::stod(values.back())));
    } else {
      CHECK(as_text(v) == values.back());
    }
  }
  CHECK(checked >= 4);  // the common flags alone are --threads, --out, --plotly, --png...
}

}  // namespace

TEST_CASE("run.json records every option of the analyses", "[cli][run_json]") {
  fs::create_directories(kTmp);
  const std::string ex = kTests + "/data/roles_example";
  SECTION("lda") {
    check_options({"lda", "--data", ex, "--layers", "0,22", "-k", "3", "--scaler", "mean",
                   "--no-figures", "--threads", "1"},
                  "lda");
  }
  SECTION("pca") {
    const std::string ref = kTests + "/reference/pca";
    for (const auto& e : fs::directory_iterator(ref)) {
      if (!fs::exists(e.path() / "X.npy") || !fs::exists(e.path() / "labels.csv")) continue;
      check_options({"pca", "--activations", (e.path() / "X.npy").string(), "--labels",
                     (e.path() / "labels.csv").string(), "-k", "2", "--no-figures"},
                    "pca");
      break;
    }
  }
  SECTION("ged") {
    const std::string ab = kTests + "/data/analysis";
    check_options({"ged", "--a", ab + "/class_a.npy", "--b", ab + "/class_b.npy", "--pca-variance",
                   "95", "--no-figures"},
                  "ged");
  }
  SECTION("rsa, tsne, dbscan, cluster") {
    const std::string emb = kTests + "/data/embeddings";
    check_options({"rsa", emb + "/small50.txt", emb + "/small300.txt", "--words",
                   emb + "/seed_words.txt", "--permutations", "100", "--no-figures"},
                  "rsa");
    const std::string x = kTests + "/reference/tsne/seed/X.npy";
    check_options({"tsne", x, "--perplexity", "5", "--max-iter", "300", "--no-figures"}, "tsne");
    check_options(
        {"dbscan", kTests + "/reference/dbscan/seed/X.npy", "--eps", "0.5", "--no-figures"},
        "dbscan");
    check_options({"cluster", emb + "/small50.txt", "--words", emb + "/seed_words.txt",
                   "--max-iter", "300", "--no-figures"},
                  "cluster");
  }
  SECTION("process beliefs") {
    check_options({"process", "beliefs", "--process", "rrxor", "--depth", "4", "--n-ctx", "3"},
                  "process");
  }
}

TEST_CASE("run.json records every option of the model commands", "[cli][run_json]") {
  fs::create_directories(kTmp);
  const std::string models = kTests + "/data/models";
  SECTION("capture") {
    check_options(
        {"capture", "--model", models + "/tiny", "--input", kTests + "/data/capture/texts.csv",
         "--hooks", "blocks.0.hook_resid_post", "--batch-size", "2"},
        "capture");
  }
  SECTION("train, beliefs, steer") {
    check_options(
        {"train", "--process",    "rrxor", "--n-layers", "1",  "--d-model",   "16", "--n-heads",
         "2",     "--d-head",     "8",     "--d-mlp",    "32", "--steps",     "4",  "--batch-size",
         "8",     "--eval-every", "2",     "--threads",  "1",  "--no-figures"},
        "train");
    const std::string model = (kTmp / "train").string();
    check_options({"beliefs", "--model", model, "--test-fraction", "0.25", "--no-figures"},
                  "beliefs");
    check_options({"steer", "--model", model, "--from", "T", "--to", "F", "--multipliers", "1,2",
                   "--no-figures"},
                  "steer");
  }
  SECTION("steer, text mode") {
    const std::string st = kTests + "/data/steer";
    check_options({"steer", "--model", models + "/tiny", "--vector", st + "/vector.npy", "--hooks",
                   "hook_embed,blocks.1.hook_resid_post", "--prompt", "Once upon a time", "--top-k",
                   "3", "--no-figures"},
                  "steer_text");
  }
}
