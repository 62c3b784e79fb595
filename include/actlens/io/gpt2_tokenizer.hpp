#pragma once
// GPT-2's byte-level BPE tokenizer, byte-exact with OpenAI's encoder.py and Hugging Face's
// GPT2Tokenizer (checked against both by tests/reference/make_tokenizer_fixtures.py).
//
// encode(): the text is cut at every "<|endoftext|>" (one id, as Hugging Face's default
// split_special_tokens=False does; encode_ordinary() treats it as plain text, as encoder.py
// does), each piece is split by GPT-2's pre-tokenizer regex (PCRE2, Unicode properties), every
// pre-token's UTF-8 bytes are mapped to vocabulary characters with bytes_to_unicode() and merged
// by BPE rank. Invalid UTF-8 is an actlens::Error (the Python tokenizers only ever see decoded
// str, so there is no behaviour to copy; failing beats guessing a replacement). decode() returns
// the exact bytes back, which may end inside a multi-byte character when ids were cut mid-way
// (Hugging Face would replace those bytes with U+FFFD).
//
// Unicode: letters and numbers are classed by PCRE2's tables (Unicode 14 in Debian 12's 10.42),
// so a character assigned later (e.g. CJK Extension H, Kawi) may split differently than in the
// Python packages (Unicode 15-17); whitespace is Unicode's White_Space property, as theirs.
//
// Objects are cheap to copy (shared, immutable tables) and every method is safe to call from
// several threads at once.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace actlens::io {

class Gpt2Tokenizer {
 public:
  // The special token Hugging Face's GPT2Tokenizer registers (eos = bos = unk).
  static constexpr std::string_view kEndOfText = "<|endoftext|>";

  // A Hugging Face model folder (vocab.json + merges.txt) or OpenAI's files (encoder.json +
  // vocab.bpe), looked for in that order.
  static Gpt2Tokenizer from_folder(const std::filesystem::path& dir);
  // vocab_json: {"token": id, ...} (vocab.json / encoder.json); merges: one "left right" pair per
  // line by rank, after an optional "#version" line (merges.txt / vocab.bpe).
  static Gpt2Tokenizer from_files(const std::filesystem::path& vocab_json,
                                  const std::filesystem::path& merges);

  // Token ids of `utf8_text`; "<|endoftext|>" anywhere in it becomes eos_id().
  std::vector<std::int32_t> encode(std::string_view utf8_text) const;
  // The same with "<|endoftext|>" tokenized as ordinary text ("<", "|", "end", ...).
  std::vector<std::int32_t> encode_ordinary(std::string_view utf8_text) const;
  // The bytes the ids stand for, concatenated. An id outside the vocabulary is an Error.
  std::string decode(const std::vector<std::int32_t>& ids) const;

  // The vocabulary string of `id` ("Ġworld"), and the bytes it stands for (" world").
  std::string token_text(std::int32_t id) const;
  std::string token_bytes(std::int32_t id) const;
  // The id of a vocabulary string, if there is one.
  std::optional<std::int32_t> token_id(std::string_view token_text) const;

  // The id of "<|endoftext|>" (50256 in GPT-2). When the vocabulary lacks it, it is appended
  // after the largest id, as Hugging Face adds a missing special token.
  std::int32_t eos_id() const;
  // One past the largest id, "<|endoftext|>" included (50257 for GPT-2): the number of rows an
  // embedding table needs. Equal to the number of tokens for the usual gap-free vocabulary.
  std::size_t vocab_size() const;
  // The number of merges read (50000 for GPT-2).
  std::size_t merge_count() const;

 private:
  struct Impl;
  explicit Gpt2Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace actlens::io
