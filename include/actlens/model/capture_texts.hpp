#pragma once
// The texts of `actlens capture`, made ready for model::capture: token ids (encoded, or given as
// an ids column), cut to the model's length, matched for token:WORDS / position:N, the unmatched
// ones refused or left out.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "actlens/io/gpt2_tokenizer.hpp"
#include "actlens/io/text_corpus.hpp"
#include "actlens/model/capture.hpp"

namespace actlens::model {

struct PrepareOptions {
  std::size_t max_length = 1024;  // tokens kept per text (>= 1); longer texts are cut
  Aggregation aggregation;        // Token / Position: each text gets its match
  bool skip_unmatched = false;    // leave out texts without a match instead of failing
  std::string source;             // the input's name, for messages ("texts.csv")
  std::string ids_column;         // for messages about ids_fields (--ids-column)
};

struct PreparedTexts {
  std::vector<std::size_t> record;  // [n] the input record index of each kept text, ascending
  std::vector<CaptureText> texts;   // [n] ids (1..max_length of them) and match
  std::vector<bool> truncated;      // [n] whether the text was cut to max_length
  std::size_t n_truncated = 0;      // texts cut (among the kept ones)
  std::size_t n_unmatched = 0;      // texts without a match (left out when skip_unmatched)
  std::int64_t n_tokens = 0;        // sum of texts[i].ids.size()
  std::int64_t max_tokens = 0;      // the longest kept text (T_max of attn.hook_pattern rows)
};

// Tokenizes `records` (in parallel; or, when `ids_fields` is not empty, takes record i's ids from
// ids_fields[i], space-separated decimal token ids, one field per record) and prepares them.
// Throws UsageError when the words of token:WORDS encode to nothing; Error naming the source and
// record for an empty record, an ids field that is not token ids, unmatched texts (without
// skip_unmatched: the first five record numbers, 1-based) or nothing left.
PreparedTexts prepare_texts(const std::vector<io::TextRecord>& records,
                            const io::Gpt2Tokenizer& tokenizer, const PrepareOptions& options,
                            const std::vector<std::string>& ids_fields = {});

// The `column` field of every row of the CSV `input` (the `ids` column `actlens corpus filter
// --window` writes), checked to be one per record (`n_records`). Throws UsageError (naming
// --ids-column) when `input` is not a .csv or lacks the column, Error when the row count differs.
std::vector<std::string> read_ids_column(const std::filesystem::path& input,
                                         const std::string& column, std::size_t n_records);

}  // namespace actlens::model
