// `actlens corpus filter` against the seeds' own Python code (tests/reference/
// make_corpus_fixtures.py): the PCA seed's regex with Python's `re` on tests/data/corpus/docs.jsonl
// (days and him/her), the GED seed's 10-token windows with Hugging Face's GPT-2 tokenizer, and
// find_keyword on 636 hand-picked and random strings. Exact: same bytes, same offsets.
#include <map>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "../unit/test_paths.hpp"
#include "actlens/io/csv.hpp"
#include "actlens/io/gpt2_tokenizer.hpp"
#include "actlens/io/keyword_filter.hpp"
#include "actlens/io/text_corpus.hpp"

using namespace actlens;
namespace fs = std::filesystem;

namespace {

fs::path corpus_ref() {
  return test::reference_dir() / "corpus";
}

const nlohmann::json& expected() {
  static const nlohmann::json j = test::read_json(corpus_ref() / "expected.json");
  return j;
}

// The documents exactly as the command reads them.
std::vector<std::string> docs() {
  std::vector<std::string> out;
  for (auto& r : io::read_text_corpus(test::data_dir() / "corpus" / "docs.jsonl"))
    out.push_back(std::move(r.text));
  return out;
}

// Same rows, cell by cell (clear failure messages), then the same bytes (what the CLI writes).
void check_against(const io::KeywordFilterResult& r, const std::string& csv_name,
                   const nlohmann::json& summary) {
  const fs::path path = corpus_ref() / csv_name;
  const io::CsvTable want = io::read_csv(path);
  const std::string got_csv = io::keyword_filter_csv(r);
  const fs::path tmp =
      test::scratch_dir("corpus_reference_" + csv_name) / csv_name;  // one per case: ctest -j
  test::spit(tmp, got_csv);
  const io::CsvTable got = io::read_csv(tmp);
  CHECK(got.header == want.header);
  REQUIRE(got.rows.size() == want.rows.size());
  for (std::size_t i = 0; i < got.rows.size(); ++i) {
    INFO(csv_name << " row " << i + 1);
    CHECK(got.rows[i] == want.rows[i]);
  }
  CHECK(got_csv == test::slurp(path));
  CHECK(r.keywords == summary.at("keywords").get<std::vector<std::string>>());
  CHECK(r.counts == summary.at("counts").get<std::vector<std::size_t>>());
  if (summary.contains("skipped_at_edge"))
    CHECK(r.skipped_at_edge == summary.at("skipped_at_edge").get<std::vector<std::size_t>>());
}

}  // namespace

TEST_CASE("corpus filter: the PCA seed's regex on the days keywords", "[io]") {
  const auto& s = expected().at("summaries").at("days");
  io::KeywordFilterOptions o;
  o.keywords = s.at("keywords").get<std::vector<std::string>>();
  const auto r = io::filter_by_keywords(docs(), o);
  check_against(r, "expected_days.csv", s);
}

TEST_CASE("corpus filter: the PCA seed's regex on him/her", "[io]") {
  const auto& s = expected().at("summaries").at("regex_him_her");
  io::KeywordFilterOptions o;
  o.keywords = s.at("keywords").get<std::vector<std::string>>();
  const auto r = io::filter_by_keywords(docs(), o);
  check_against(r, "expected_regex_him_her.csv", s);
}

TEST_CASE("corpus filter: the GED seed's token windows on him/her", "[io]") {
  const auto& s = expected().at("summaries").at("window_him_her");
  const auto tok = io::Gpt2Tokenizer::from_folder(test::data_dir() / "tokenizer" / "gpt2");
  io::KeywordFilterOptions o;
  o.keywords = s.at("keywords").get<std::vector<std::string>>();
  o.window = s.at("window").get<int>();
  const auto r = io::filter_token_windows(docs(), tok, o);
  CHECK(r.target_index == o.window / 2);
  check_against(r, "expected_window_him_her.csv", s);
}

TEST_CASE("corpus filter: --max-per-label keeps the first texts of the full result", "[io]") {
  const auto& s = expected().at("summaries").at("days");
  io::KeywordFilterOptions o;
  o.keywords = s.at("keywords").get<std::vector<std::string>>();
  const auto all = io::filter_by_keywords(docs(), o);
  o.max_per_label = 2;
  const auto two = io::filter_by_keywords(docs(), o);
  std::vector<io::FilteredText> want;
  std::map<std::string, int> seen;
  for (const auto& row : all.rows)
    if (seen[row.label]++ < 2) want.push_back(row);
  REQUIRE(two.rows.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    INFO("row " << i);
    CHECK(two.rows[i].label == want[i].label);
    CHECK(two.rows[i].text == want[i].text);
    CHECK(two.rows[i].doc == want[i].doc);
  }
}

TEST_CASE("find_keyword equals Python's re.search on hand-picked and random strings", "[io]") {
  const auto& cases = expected().at("find");
  REQUIRE(cases.size() > 600);
  std::size_t matched = 0;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    const auto text = c.at("text").get<std::string>();
    const auto kw = c.at("keyword").get<std::string>();
    const bool cs = c.at("case_sensitive").get<bool>();
    INFO("case " << i << ": keyword '" << kw << "'" << (cs ? " (case-sensitive)" : "") << " in '"
                 << text << "'");
    const auto m = io::find_keyword(text, kw, cs);
    const auto& want = c.at("match");
    REQUIRE(m.has_value() == !want.is_null());
    if (!m) continue;
    ++matched;
    CHECK(m->begin == want.at("begin").get<std::size_t>());
    CHECK(m->keyword_begin == want.at("keyword_begin").get<std::size_t>());
    CHECK(m->keyword_end == want.at("keyword_end").get<std::size_t>());
  }
  CHECK(matched > 100);
}
