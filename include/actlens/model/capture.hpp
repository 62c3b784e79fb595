#pragma once
// Capture: run a model on tokenized texts and keep, for each requested hook point, one
// aggregated row per text (or every token's row). Batches are formed from texts sorted by length
// (less padding); results land at each text's original index, so they do not depend on the batch
// size or on how texts were grouped.
//
// Aggregations over the token positions 0..n-1 of a text (n = its token count; padding never
// enters):
//   final      position n-1, as the seeds' `mask.sum(1) - 1` with right padding
//   mean, sum  mean / sum over the positions
//   max        elementwise maximum over the positions
//   all        every position's row; texts are concatenated and `offsets` [n_texts + 1] marks
//              where each one starts
//   token:W1,W2,...  the positions of the first occurrence of any of the words (their tokens
//              with a leading space, as the GED seed's encode(' him'), or without); a word of
//              several tokens gives the mean over its positions; the earliest match wins, the
//              longest when two start at the same token
// attn.hook_pattern rows are [n_heads, T_max] per query position: the key axis is zero-padded to
// T_max, the longest text of the whole input, so every text's row has one shape.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "actlens/io/gpt2_tokenizer.hpp"
#include "actlens/model/gpt2.hpp"

namespace actlens::model {

struct Aggregation {
  enum class Kind { Final, Mean, Max, Sum, All, Token, Position };
  Kind kind = Kind::Final;
  std::vector<std::string> words;  // Kind::Token
  std::int64_t position = 0;       // Kind::Position: the row at this token index (0-based)

  // "final" | "mean" | "max" | "sum" | "all" | "token:him,her" | "position:5"; throws UsageError
  // otherwise.
  static Aggregation parse(const std::string& spec);
  std::string spec() const;
};

struct TokenMatch {
  std::int64_t begin = -1;  // first token of the match; -1 when the text has none
  std::int64_t length = 0;
};

// Token-id sequences that count as a word for token:W: encode(" " + W) and encode(W), without
// duplicates or empty sequences.
std::vector<std::vector<std::int32_t>> word_token_sequences(const io::Gpt2Tokenizer& tokenizer,
                                                            const std::vector<std::string>& words);
// The earliest (then longest) occurrence of any candidate in `ids`.
TokenMatch find_first_match(const std::vector<std::int32_t>& ids,
                            const std::vector<std::vector<std::int32_t>>& candidates);

struct CaptureText {
  std::vector<std::int32_t> ids;  // 1 <= size <= n_positions
  TokenMatch match;               // used by token:W and position:N
};

struct HookOutput {
  std::vector<std::int64_t> row_shape;  // [d] or [n_heads, T_max] (attn.hook_pattern)
  std::int64_t rows = 0;                // texts, or tokens for `all`
  std::vector<float> data;              // rows * prod(row_shape), C order
  std::vector<std::int64_t> offsets;    // `all` only: [n_texts + 1]
};

struct CaptureOptions {
  std::int64_t batch_size = 16;
  std::int64_t pad_id = 0;         // token id put in padded positions (masked out)
  std::int64_t pattern_width = 0;  // T_max for attn.hook_pattern rows
};

// Width of one row of `hook` (without the aggregation): [d], [d_mlp] or [n_heads, T_max].
std::vector<std::int64_t> hook_row_shape(const std::string& hook, const Gpt2Config& cfg,
                                         std::int64_t pattern_width);

// Runs `model` on `texts` and aggregates every hook in `hooks` (names from resolve_hooks).
// `progress(n)` is called after each batch with the number of texts it held, and may throw to
// stop (e.g. on Ctrl-C). Must be called under torch::InferenceMode.
std::map<std::string, HookOutput> capture(const Gpt2Model& model,
                                          const std::vector<CaptureText>& texts,
                                          const std::vector<std::string>& hooks,
                                          const Aggregation& aggregation,
                                          const CaptureOptions& options,
                                          const std::function<void(std::size_t)>& progress = {});

}  // namespace actlens::model
