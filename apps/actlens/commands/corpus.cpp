// actlens corpus filter: labelled texts from a document corpus, one per keyword and document, as
// the seeds build their datasets (io/keyword_filter.hpp has the exact semantics).
//
// Text mode (pca-gpt2-days.txt): per keyword the seed's case-insensitive regex
// (.*?)((?:^|[\s\W])KEYWORD(?:[\s\W]|$)), first match per document; the text kept ENDS WITH THE
// KEYWORD (the match without its trailing boundary character), so `final` aggregation reads the
// keyword's token. As '.' does not cross '\n', the text starts at the beginning of the keyword's
// line, not of the document. Label = the keyword as given.
// Window mode (ged-gpt2-him-her.txt, --window N --tokenizer DIR): GPT-2 ids of each document, the
// first occurrence of encode(" KEYWORD"), ids[i - N/2, i - N/2 + N) (target at index N/2);
// windows running off an end are skipped and counted.
//
// Output: one CSV (label,text,doc[,ids,target_index]), written atomically. No run.json: the
// result is a single file that usually lands in a folder of other inputs, where a run.json would
// be taken for (or clobber) a results folder's; the log line says what was kept.
#include <filesystem>
#include <memory>
#include <optional>

#include <spdlog/spdlog.h>

#include "actlens/error.hpp"
#include "actlens/io/atomic_file.hpp"
#include "actlens/io/gpt2_tokenizer.hpp"
#include "actlens/io/keyword_filter.hpp"
#include "actlens/io/text_corpus.hpp"
#include "actlens/report/interrupt.hpp"
#include "actlens/report/progress.hpp"
#include "cli_common.hpp"
#include "commands.hpp"

namespace actlens::cli {
namespace fs = std::filesystem;

namespace {

struct CorpusFilterOptions {
  std::string input;
  std::vector<std::string> keywords;
  std::string out;
  std::string text_column = "text";
  int max_per_label = 0;
  int window = 0;
  bool window_given = false;
  std::string tokenizer;
  bool case_sensitive = false;
};

std::string trim(const std::string& s) {
  const auto a = s.find_first_not_of(" \t");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t") - a + 1);
}

// "--keywords monday,tuesday" (or repeated, or a TOML array) -> trimmed, non-empty, unique.
std::vector<std::string> parse_keywords(const std::vector<std::string>& given) {
  std::vector<std::string> out;
  for (const auto& arg : given) {
    std::size_t start = 0;
    for (;;) {
      const auto comma = arg.find(',', start);
      const std::string kw = trim(arg.substr(start, comma - start));
      if (kw.empty())
        throw UsageError("--keywords: empty keyword in '" + arg +
                         "'; give a comma-separated list such as monday,tuesday");
      for (const auto& k : out)
        if (k == kw)
          throw UsageError("--keywords: '" + kw + "' is given twice; labels must be unique");
      out.push_back(kw);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  if (out.empty()) throw UsageError("--keywords: give at least one keyword");
  return out;
}

int run_corpus_filter(const CorpusFilterOptions& o) {
  const std::vector<std::string> keywords = parse_keywords(o.keywords);
  if (o.max_per_label < 0)
    throw UsageError("--max-per-label: must be 0 (keep all) or a positive count");
  if (o.window_given && o.window < 1) throw UsageError("--window: must be at least 1 token");
  if (o.window_given && o.tokenizer.empty())
    throw UsageError(
        "--window needs --tokenizer DIR (a GPT-2 vocabulary: vocab.json + merges.txt or "
        "encoder.json + vocab.bpe)");
  if (!o.window_given && !o.tokenizer.empty())
    throw UsageError("--tokenizer is only used with --window N; add --window 10 or drop it");
  if (o.window_given && o.case_sensitive)
    spdlog::warn("--case-sensitive has no effect with --window: token ids are matched exactly");
  if (fs::is_directory(o.out))
    throw UsageError("--out " + o.out + ": is a folder; give the CSV file to write, e.g. " +
                     (fs::path(o.out) / "texts.csv").string());
  std::error_code ec;
  if (fs::exists(o.out) && fs::equivalent(o.input, o.out, ec))
    throw UsageError("--out " + o.out + ": is the --input file; write the texts to another file");

  // Load the tokenizer before the corpus: a wrong folder fails fast.
  std::optional<io::Gpt2Tokenizer> tokenizer;
  if (o.window_given) tokenizer = io::Gpt2Tokenizer::from_folder(o.tokenizer);

  io::TextCorpusOptions co;
  co.text_column = o.text_column;
  std::vector<std::string> docs;
  for (auto& rec : io::read_text_corpus(o.input, co)) docs.push_back(std::move(rec.text));
  if (docs.empty()) throw Error(o.input + ": no documents in the file; check --input");
  std::string joined;
  for (const auto& k : keywords) joined += (joined.empty() ? "" : ",") + k;
  spdlog::info("{} documents from {}; keywords {}{}", docs.size(), o.input, joined,
               o.window_given ? ", windows of " + std::to_string(o.window) + " GPT-2 tokens" : "");

  io::KeywordFilterOptions fo;
  fo.keywords = keywords;
  fo.case_sensitive = o.case_sensitive;
  fo.max_per_label = static_cast<std::size_t>(o.max_per_label);
  fo.window = o.window_given ? o.window : 0;
  report::Progress progress("filtering", docs.size(), true);
  auto tick = [&](std::size_t) {
    report::check_interrupted();
    progress.advance();
  };
  const io::KeywordFilterResult r = tokenizer ? io::filter_token_windows(docs, *tokenizer, fo, tick)
                                              : io::filter_by_keywords(docs, fo, tick);
  progress.finish();

  std::size_t total = 0, skipped_total = 0;
  for (std::size_t k = 0; k < keywords.size(); ++k) {
    total += r.counts[k];
    skipped_total += r.skipped_at_edge[k];
    const std::string skipped =
        r.window > 0 && r.skipped_at_edge[k] > 0
            ? " (" + std::to_string(r.skipped_at_edge[k]) + " skipped: window off an end)"
            : "";
    if (r.counts[k] == 0)
      spdlog::warn("{}: no {}{}", keywords[k], r.window > 0 ? "window" : "document matched",
                   skipped);
    else
      spdlog::info("{}: {} texts{}", keywords[k], r.counts[k], skipped);
  }
  if (total == 0 && r.window == 0)
    throw Error(o.input + ": no document matched any keyword (" + std::to_string(docs.size()) +
                " documents; whole words only, " +
                (o.case_sensitive ? "case-sensitive" : "any case") + "); check --keywords");
  if (total == 0)
    throw Error(o.input + ": no window of " + std::to_string(r.window) +
                " tokens around any keyword (" + std::to_string(docs.size()) + " documents, " +
                std::to_string(skipped_total) +
                " occurrences too near an end; ids match ' KEYWORD' exactly); check --keywords "
                "or use a smaller --window");
  if (r.documents_scanned < docs.size())
    spdlog::debug("every keyword had {} texts after {} of {} documents", o.max_per_label,
                  r.documents_scanned, docs.size());
  io::write_file_atomic(o.out, io::keyword_filter_csv(r));
  spdlog::info("wrote {} texts to {}", total, o.out);
  return 0;
}

}  // namespace

Runner register_corpus(CLI::App& app) {
  auto* corpus = app.add_subcommand("corpus", "Corpus helpers (filter texts by keyword)");
  corpus->require_subcommand(1);
  auto o = std::make_shared<CorpusFilterOptions>();
  auto* sub = corpus->add_subcommand(
      "filter",
      "Labelled texts (label,text CSV) from documents, one per keyword and document.\n"
      "Default (the PCA seed's filter): per keyword, the first case-insensitive whole-word match "
      "of Python's re.search((.*?)((?:^|[\\s\\W])KEYWORD(?:[\\s\\W]|$))); the text kept runs from "
      "the start of the match (the start of the keyword's line: '.' stops at newlines) to the END "
      "OF THE KEYWORD, so the keyword is the last token ('final' aggregation reads it). "
      "'Mondays' and 'monday_x' do not match monday; \"monday's\" does.\n"
      "--window N --tokenizer DIR (the GED seed's test set): GPT-2 ids of each document, the first "
      "occurrence of encode(' KEYWORD') (exact, case-sensitive), the window ids[i-N/2, i-N/2+N) "
      "(N=10: 5 before, the keyword at index 5, 4 after); windows off either end are skipped. "
      "Adds columns ids (space-separated) and target_index (N/2).\n"
      "Label = the keyword as given; rows grouped by keyword in the order given, then by "
      "document; column doc = 0-based document index.");
  sub->add_option("--input", o->input, "Documents: .csv (column --text-column), .jsonl, .txt")
      ->required();
  sub->add_option("--keywords", o->keywords,
                  "Comma-separated keywords, also the labels (e.g. monday,tuesday)")
      ->required();
  sub->add_option("-o,--out", o->out, "CSV file to write (replaced atomically)")->required();
  sub->add_option("--text-column", o->text_column, "Text column/key of a .csv/.jsonl input")
      ->capture_default_str();
  sub->add_option("--max-per-label", o->max_per_label,
                  "Keep the first N texts per keyword in document order (0 = all; the seed used "
                  "20)")
      ->capture_default_str();
  sub->add_option("--window", o->window,
                  "Token-window mode: N GPT-2 tokens around the keyword (needs --tokenizer)");
  sub->add_option("--tokenizer", o->tokenizer,
                  "GPT-2 vocabulary folder (vocab.json + merges.txt, or encoder.json + vocab.bpe)");
  sub->add_flag("--case-sensitive", o->case_sensitive,
                "Match the keyword's case exactly (text mode; windows always match exactly)");
  add_config_option(*sub);
  return [o, sub] {
    if (!sub->parsed()) throw UsageError("choose a corpus command: filter (see --help)");
    o->window_given = sub->count("--window") > 0;
    return run_corpus_filter(*o);
  };
}

}  // namespace actlens::cli
