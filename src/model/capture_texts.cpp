#include "actlens/model/capture_texts.hpp"

#include <algorithm>
#include <climits>
#include <sstream>

#include "actlens/error.hpp"
#include "actlens/io/csv.hpp"
#include "actlens/io/parse_number.hpp"
#include "actlens/io/text_corpus.hpp"

namespace actlens::model {
namespace fs = std::filesystem;

namespace {

// Space-separated token ids (the `ids` column `actlens corpus filter --window` writes).
std::vector<std::int32_t> parse_ids(const std::string& field, std::size_t record,
                                    const std::string& input, const std::string& column) {
  std::vector<std::int32_t> ids;
  std::istringstream in(field);
  std::string tok;
  while (in >> tok) {
    const std::optional<long> v = io::parse_long(tok);
    if (!v || *v < 0 || *v > INT32_MAX)
      throw Error(input + ": record " + std::to_string(record + 1) + ", column '" + column +
                  "': '" + tok + "' is not a token id");
    ids.push_back(static_cast<std::int32_t>(*v));
  }
  return ids;
}

[[noreturn]] void refuse_unmatched(const std::vector<std::size_t>& unmatched,
                                   const PrepareOptions& o, bool by_position, bool any_truncated) {
  std::string list;
  for (std::size_t k = 0; k < unmatched.size() && k < 5; ++k)
    list += (k ? ", " : "") + std::to_string(unmatched[k] + 1);
  const Aggregation& agg = o.aggregation;
  throw Error(o.source + ": " + std::to_string(unmatched.size()) + " record(s) (" + list +
              (unmatched.size() > 5 ? ", ..." : "") +
              (by_position ? ") have no token at index " + std::to_string(agg.position)
                           : ") contain none of the words of --aggregate " + agg.spec()) +
              (any_truncated ? " within --max-length tokens" : "") +
              "; pass --skip-unmatched to leave them out");
}

}  // namespace

PreparedTexts prepare_texts(const std::vector<io::TextRecord>& records,
                            const io::Gpt2Tokenizer& tok, const PrepareOptions& o,
                            const std::vector<std::string>& ids_fields) {
  const std::size_t n = records.size();
  const Aggregation& agg = o.aggregation;
  std::vector<std::vector<std::int32_t>> ids(n);
  if (!ids_fields.empty()) {
    for (std::size_t i = 0; i < n; ++i)
      ids[i] = parse_ids(ids_fields[i], i, o.source, o.ids_column);
  } else {
#pragma omp parallel for schedule(dynamic, 16)
    for (std::size_t i = 0; i < n; ++i) ids[i] = tok.encode(records[i].text);
  }
  const bool by_position = agg.kind == Aggregation::Kind::Position;

  const auto candidates = agg.kind == Aggregation::Kind::Token
                              ? word_token_sequences(tok, agg.words)
                              : std::vector<std::vector<std::int32_t>>{};
  if (agg.kind == Aggregation::Kind::Token && candidates.empty())
    throw UsageError("--aggregate " + agg.spec() + ": the words encode to no tokens");
  PreparedTexts p;
  std::vector<std::size_t> unmatched;
  for (std::size_t i = 0; i < n; ++i) {
    if (ids[i].empty())
      throw Error(o.source + ": record " + std::to_string(i + 1) +
                  " is empty (no tokens); remove it or give it text");
    const bool cut = ids[i].size() > o.max_length;
    if (cut) ids[i].resize(o.max_length);
    CaptureText t;
    t.ids = std::move(ids[i]);
    if (by_position && static_cast<std::int64_t>(t.ids.size()) > agg.position)
      t.match = {agg.position, 1};
    if (!candidates.empty()) t.match = find_first_match(t.ids, candidates);
    if (by_position || !candidates.empty()) {
      if (t.match.begin < 0) {
        unmatched.push_back(i);
        if (o.skip_unmatched) continue;
      }
    }
    p.n_truncated += cut ? 1 : 0;
    p.truncated.push_back(cut);
    p.record.push_back(i);
    p.n_tokens += static_cast<std::int64_t>(t.ids.size());
    p.max_tokens = std::max(p.max_tokens, static_cast<std::int64_t>(t.ids.size()));
    p.texts.push_back(std::move(t));
  }
  p.n_unmatched = unmatched.size();
  if (!unmatched.empty() && !o.skip_unmatched)
    refuse_unmatched(unmatched, o, by_position, p.n_truncated > 0);
  if (p.texts.empty()) throw Error(o.source + ": no text left to capture");
  return p;
}

std::vector<std::string> read_ids_column(const fs::path& input, const std::string& column,
                                         std::size_t n_records) {
  if (input.extension() != ".csv")
    throw UsageError(
        "--ids-column: needs a .csv input (such as `actlens corpus filter "
        "--window` writes)");
  const io::CsvTable t = io::read_csv(input);
  const int c = t.column(column);
  if (c < 0)
    throw UsageError("--ids-column: " + input.string() + " has no column '" + column +
                     "' (columns: " + io::name_list(t.header) + ")");
  std::vector<std::string> fields;
  for (const auto& r : t.rows) fields.push_back(r[static_cast<std::size_t>(c)]);
  if (fields.size() != n_records)
    throw Error(input.string() + ": " + std::to_string(fields.size()) + " rows of ids for " +
                std::to_string(n_records) + " texts");
  return fields;
}

}  // namespace actlens::model
