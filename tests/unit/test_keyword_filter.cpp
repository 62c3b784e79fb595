// Keyword matching of `actlens corpus filter` (io/keyword_filter): the PCA seed's regex
// (.*?)((?:^|[\s\W])KEYWORD(?:[\s\W]|$)) at the start and end of the text, next to punctuation,
// underscores, digits and non-ASCII letters, across lines, in every case; the filter loops'
// ordering and limits; and the lossy UTF-8 decoding of token windows. The Python reference values
// are in tests/reference/test_corpus_reference.cpp.
#include <catch2/catch.hpp>

#include <string>

#include "actlens/error.hpp"
#include "actlens/io/keyword_filter.hpp"
#include "test_paths.hpp"

using actlens::Error;
using actlens::io::find_keyword;
using actlens::io::KeywordFilterOptions;
using actlens::io::KeywordPattern;

namespace {

// The text the filter keeps for `keyword` in `text`, or "<none>".
std::string kept(const std::string& text, const std::string& keyword, bool case_sensitive = false) {
  const auto m = find_keyword(text, keyword, case_sensitive);
  if (!m) return "<none>";
  return text.substr(m->begin, m->keyword_end - m->begin);
}

// The keyword as it appears in the text, or "<none>".
std::string found(const std::string& text, const std::string& keyword,
                  bool case_sensitive = false) {
  const auto m = find_keyword(text, keyword, case_sensitive);
  if (!m) return "<none>";
  return text.substr(m->keyword_begin, m->keyword_end - m->keyword_begin);
}

const actlens::io::Gpt2Tokenizer& gpt2() {
  static const auto t =
      actlens::io::Gpt2Tokenizer::from_folder(actlens::test::data_dir() / "tokenizer" / "gpt2");
  return t;
}

}  // namespace

TEST_CASE("find_keyword: start and end of the text", "[io]") {
  CHECK(kept("monday", "monday") == "monday");
  CHECK(kept("Monday is here", "monday") == "Monday");
  CHECK(kept("see you monday", "monday") == "see you monday");
  CHECK(kept("see you monday\n", "monday") == "see you monday");
  CHECK(kept("", "monday") == "<none>");
  CHECK(kept("monda", "monday") == "<none>");
  const auto m = find_keyword("on monday", "monday");
  REQUIRE(m);
  CHECK(m->begin == 0);
  CHECK(m->keyword_begin == 3);
  CHECK(m->keyword_end == 9);
}

TEST_CASE("find_keyword: whole words only", "[io]") {
  CHECK(kept("Mondays are long", "monday") == "<none>");
  CHECK(kept("premonday", "monday") == "<none>");
  CHECK(kept("monday_notes", "monday") == "<none>");  // '_' is a word character
  CHECK(kept("file_monday", "monday") == "<none>");
  CHECK(kept("monday2", "monday") == "<none>");
  CHECK(kept("2monday", "monday") == "<none>");
  // the first whole-word occurrence, not the first substring
  CHECK(kept("Mondays, and then monday", "monday") == "Mondays, and then monday");
  CHECK(kept("monday_x monday monday", "monday") == "monday_x monday");
}

TEST_CASE("find_keyword: punctuation around the keyword", "[io]") {
  CHECK(kept("this monday's meeting", "monday") == "this monday");
  CHECK(kept("(Monday)", "monday") == "(Monday");
  CHECK(kept("mid-Monday", "monday") == "mid-Monday");
  CHECK(kept("\"Monday\"", "monday") == "\"Monday");
  CHECK(kept("Monday.", "monday") == "Monday");
  CHECK(kept("Monday,Tuesday", "tuesday") == "Monday,Tuesday");
  // keywords holding regex metacharacters are literal (re.escape)
  CHECK(kept("we write c++ code", "c++") == "we write c++");
  CHECK(kept("axb a.b", "a.b") == "axb a.b");
  CHECK(kept("a [x] b", "[x]") == "a [x]");
  CHECK(kept("a[x] b", "[x]") == "<none>");  // the character before the keyword must be \W too
  CHECK(kept("a  [x] b", "[x]") == "a  [x]");
  CHECK(kept("new  york new york", "new york") == "new  york new york");
}

TEST_CASE("find_keyword: the match starts at the keyword's line", "[io]") {
  // '.' does not match '\n': Python's match starts after the last newline before the boundary.
  CHECK(kept("first line\nwe met on Monday.", "monday") == "we met on Monday");
  CHECK(kept("a\n\nb monday", "monday") == "b monday");
  // ... unless the boundary character itself is that newline
  CHECK(kept("x\nMonday", "monday") == "x\nMonday");
  CHECK(kept("x\n\nMonday", "monday") == "\nMonday");
  // '\r' is matched by '.', so a CRLF line starts after the '\n'
  CHECK(kept("one\r\ntwo monday", "monday") == "two monday");
  CHECK(kept("one\r\nmonday", "monday") == "one\r\nmonday");
}

TEST_CASE("find_keyword: case", "[io]") {
  CHECK(found("MONDAY", "monday") == "MONDAY");
  CHECK(found("mOnDaY", "Monday") == "mOnDaY");
  CHECK(found("MONDAY monday", "monday", true) == "monday");
  CHECK(found("Monday", "monday", true) == "<none>");
  // Python's re.IGNORECASE matches i, I, U+0130 and U+0131 with each other; PCRE2 alone does not
  CHECK(found("FR\u0130DAY", "friday") == "FR\u0130DAY");
  CHECK(found("fr\u0131day", "friday") == "fr\u0131day");
  CHECK(found("friday", "FR\u0130DAY") == "friday");
  CHECK(found("FR\u0130DAY", "friday", true) == "<none>");
  // Kelvin sign and long s, as in Python
  CHECK(found("\u212Ailn", "kiln") == "\u212Ailn");
  CHECK(found("ki\u017Fs", "kiss") == "ki\u017Fs");
  CHECK(found("\u00C9T\u00C9", "\u00e9t\u00e9") == "\u00C9T\u00C9");
}

TEST_CASE("find_keyword: Unicode letters and separators", "[io]") {
  // letters with accents are word characters (\w is Unicode-aware)
  CHECK(kept("\u00e9monday", "monday") == "<none>");
  CHECK(kept("monday\u00e9", "monday") == "<none>");
  CHECK(kept("caf\u00e9 monday", "monday") == "caf\u00e9 monday");
  // em dash, no-break space, ideographic space are boundaries
  CHECK(kept("Sunday\u2014closed Monday\u2014", "monday") == "Sunday\u2014closed Monday");
  CHECK(kept("Friday\u00a0night", "friday") == "Friday");
  CHECK(kept("\u3000monday", "monday") == "\u3000monday");
  // a non-ASCII keyword, after an emoji
  CHECK(kept("\U0001F600stra\u00dfe", "stra\u00dfe") == "\U0001F600stra\u00dfe");
  // byte offsets, not characters
  const auto m = find_keyword("\u00e9t\u00e9 monday", "monday");
  REQUIRE(m);
  CHECK(m->keyword_begin == 6);
  CHECK(m->keyword_end == 12);
}

TEST_CASE("find_keyword: bad input", "[io]") {
  CHECK_THROWS_AS(find_keyword("monday", ""), Error);
  CHECK_THROWS_AS(find_keyword("monday", std::string("\xff", 1)), Error);
  CHECK_THROWS_WITH(find_keyword(std::string("on \xc3 monday"), "monday"),
                    Catch::Contains("not valid UTF-8"));
  // a compiled pattern is reusable
  const KeywordPattern p("her", false);
  CHECK(p.keyword() == "her");
  CHECK(p.find("for her")->keyword_begin == 4);
  CHECK_FALSE(p.find("there"));
}

TEST_CASE("filter_by_keywords: grouping, limits and labels", "[io]") {
  const std::vector<std::string> docs = {
      "Monday and Tuesday",   // 0: both
      "nothing",              // 1
      "tuesday only",         // 2
      "monday again",         // 3
      "and monday once more"  // 4
  };
  KeywordFilterOptions o;
  o.keywords = {"tuesday", "monday"};
  std::size_t calls = 0;
  auto r = actlens::io::filter_by_keywords(docs, o, [&](std::size_t done) { calls = done; });
  REQUIRE(r.rows.size() == 5);
  // grouped by keyword in the order given, then by document
  CHECK(r.rows[0].label == "tuesday");
  CHECK(r.rows[0].text == "Monday and Tuesday");
  CHECK(r.rows[0].doc == 0);
  CHECK(r.rows[1].doc == 2);
  CHECK(r.rows[2].label == "monday");
  CHECK(r.rows[2].text == "Monday");
  CHECK(r.rows[3].doc == 3);
  CHECK(r.rows[4].text == "and monday");
  CHECK(r.counts == std::vector<std::size_t>{2, 3});
  CHECK(r.documents_scanned == 5);
  CHECK(calls == 5);
  CHECK(actlens::io::keyword_filter_csv(r).rfind("label,text,doc\ntuesday,Monday and Tuesday,0\n",
                                                 0) == 0);

  o.max_per_label = 1;  // stops reading once every keyword has its text
  r = actlens::io::filter_by_keywords(docs, o);
  REQUIRE(r.rows.size() == 2);
  CHECK(r.rows[0].doc == 0);
  CHECK(r.rows[1].doc == 0);
  CHECK(r.documents_scanned == 1);

  o.max_per_label = 0;
  o.keywords = {"monday", "monday"};
  CHECK_THROWS_WITH(actlens::io::filter_by_keywords(docs, o), Catch::Contains("given twice"));
  o.keywords = {};
  CHECK_THROWS_AS(actlens::io::filter_by_keywords(docs, o), Error);
}

TEST_CASE("filter_token_windows: the GED seed's windows", "[io]") {
  const std::vector<std::string> docs = {
      "Last week we all told him that the plan would never work in the end.",  // 0: fits
      "Tell him now.",                                               // 1: too near the start
      "I waited for a long while before I could finally thank him",  // 2: too near the end
      "Nothing to see here, only Him with a capital letter, no match at all.",  // 3
  };
  KeywordFilterOptions o;
  o.keywords = {"him"};
  o.window = 10;
  const auto r = actlens::io::filter_token_windows(docs, gpt2(), o);
  REQUIRE(r.rows.size() == 1);
  CHECK(r.target_index == 5);
  CHECK(r.skipped_at_edge == std::vector<std::size_t>{2});
  const auto& w = r.rows[0];
  REQUIRE(w.ids.size() == 10);
  CHECK(w.ids[5] == 683);  // " him"
  CHECK(w.doc == 0);
  CHECK(w.text == gpt2().decode(w.ids));
  CHECK(w.text == "Last week we all told him that the plan would");
  const std::string csv = actlens::io::keyword_filter_csv(r);
  CHECK(csv.rfind("label,text,doc,ids,target_index\nhim,", 0) == 0);
  CHECK(csv.find(",5\n") != std::string::npos);

  // odd windows: N/2 before, the rest (keyword included) after
  o.window = 3;
  const auto r3 = actlens::io::filter_token_windows(docs, gpt2(), o);
  CHECK(r3.target_index == 1);
  REQUIRE(r3.rows.size() == 2);
  CHECK(r3.rows[0].text == " told him that");
  CHECK(r3.rows[1].text == "Tell him now");
  CHECK(r3.skipped_at_edge == std::vector<std::size_t>{1});
  o.window = 0;
  CHECK_THROWS_AS(actlens::io::filter_token_windows(docs, gpt2(), o), Error);
}

TEST_CASE("utf8_lossy: one U+FFFD per maximal subpart", "[io]") {
  using actlens::io::utf8_lossy;
  const std::string r = "\xEF\xBF\xBD";
  CHECK(utf8_lossy("plain") == "plain");
  CHECK(utf8_lossy("\xC3\xA9") == "\xC3\xA9");
  CHECK(utf8_lossy("\x80") == r);
  CHECK(utf8_lossy("\xF0\x9F\x98") == r);  // a truncated emoji: one subpart
  CHECK(utf8_lossy("\xF0\x9F\x98"
                   "a") == r + "a");
  CHECK(utf8_lossy("\x9F\x98\x80") == r + r + r);          // lone continuation bytes
  CHECK(utf8_lossy("\xE0\x80\x80") == r + r + r);          // overlong: E0 needs A0..BF next
  CHECK(utf8_lossy("\xED\xA0\x80") == r + r + r);          // a surrogate
  CHECK(utf8_lossy("\xF4\x90\x80\x80") == r + r + r + r);  // above U+10FFFF
  CHECK(utf8_lossy("\xC0\xAF") == r + r);
  CHECK(utf8_lossy("\xE2\x82") == r);
  CHECK(utf8_lossy("\xE2\x82\xAC") == "\xE2\x82\xAC");
  CHECK(utf8_lossy(std::string("a\0b", 3)) == std::string("a\0b", 3));
}
