#include "actlens/io/gpt2_tokenizer.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <functional>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <shared_mutex>
#include <unordered_map>
#include <utility>

#include "actlens/error.hpp"
#include "actlens/io/hf_folder.hpp"
#include "actlens/io/json_file.hpp"

namespace actlens::io {

namespace {

// GPT-2's pre-tokenizer (encoder.py):
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// with \s spelled out as the 25 characters of Unicode's White_Space property, which is what
// Python's `regex` (encoder.py, the slow tokenizer) and Oniguruma (the tokenizers package) match.
// PCRE2 10.42's \s also takes U+180E MONGOLIAN VOWEL SEPARATOR (a space before Unicode 6.3). The
// "other" branch must stay ONE character class: a group such as (?:[...]|\x{180E})+ makes the JIT
// keep a backtracking frame per character and fail on long punctuation runs.
constexpr std::string_view kSpace =
    R"(\t-\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})";

std::string pretokenizer_pattern() {
  const std::string s(kSpace);
  return R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^)" + s + R"(\p{L}\p{N}]+)" + "|[" + s +
         "]+(?![^" + s + "])|[" + s + "]+";
}

// Pre-tokens whose BPE result is remembered (most text repeats a few thousand words); beyond
// this the cache stops growing, so memory stays bounded on adversarial input.
constexpr std::size_t kMaxCacheEntries = 1 << 18;

// UTF-8 of one code point (< 0x110000).
std::string utf8(char32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (cp >> 18));
    s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

// encoder.py's bytes_to_unicode(): printable Latin-1 bytes stand for themselves, the other 68
// (controls, space, soft hyphen...) for U+0100 upwards in byte order, so that every vocabulary
// entry is printable text without spaces.
std::array<char32_t, 256> byte_to_codepoint() {
  std::array<char32_t, 256> map{};
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
    map[static_cast<std::size_t>(b)] = printable ? static_cast<char32_t>(b) : next++;
  }
  return map;
}

// Length of the valid UTF-8 sequence at text[i], or 0 if there is none (overlong forms,
// surrogates and code points above U+10FFFF are invalid, as PCRE2 and Python have them).
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) return 1;
  std::size_t len = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + len > text.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < len; ++k)
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  return len;
}

// Throws unless `text` is valid UTF-8, naming the first bad byte.
void check_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    // Fast path over ASCII, the bulk of most text.
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    const std::size_t len = utf8_sequence_length(text, i);
    if (len == 0) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(text[i]));
      throw Error("text to tokenize is not valid UTF-8 (byte " + std::to_string(i) + " is " + hex +
                  "); convert it to UTF-8 first");
    }
    i += len;
  }
}

// The whole file as bytes; errors name the path.
std::string read_all(const std::filesystem::path& path, const std::string& kind) {
  return read_text_file(path, kind, kMaxJsonBytes);
}

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

struct Merge {
  std::int32_t left, right, merged;  // ids of the two tokens and of their concatenation
};

std::uint64_t pair_key(std::int32_t left, std::int32_t right) {
  return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) |
         static_cast<std::uint32_t>(right);
}

}  // namespace

struct Gpt2Tokenizer::Impl {
  std::unordered_map<std::string, std::int32_t, StringHash, std::equal_to<>> id_of_text;
  std::vector<std::string> texts;         // id -> vocabulary string
  std::vector<std::string> bytes;         // id -> the bytes it stands for
  std::vector<bool> present;              // id -> in the vocabulary (ids may have gaps)
  std::array<std::int32_t, 256> byte_id;  // byte -> id of its one-byte token
  std::vector<Merge> merges;              // by rank
  std::unordered_map<std::uint64_t, std::int32_t> ranks;  // pair_key(left, right) -> rank
  std::int32_t eos = 0;
  pcre2_code* regex = nullptr;

  mutable std::shared_mutex cache_mutex;
  mutable std::unordered_map<std::string, std::vector<std::int32_t>, StringHash, std::equal_to<>>
      cache;

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() { pcre2_code_free(regex); }

  void compile_regex();
  void encode_piece(std::string_view piece, pcre2_match_data* match,
                    std::vector<std::int32_t>& out) const;
  void bpe(std::string_view word, std::vector<std::int32_t>& out) const;
  std::vector<std::int32_t> bpe_uncached(std::string_view word) const;
  std::vector<std::int32_t> encode(std::string_view text, bool specials) const;
};

void Gpt2Tokenizer::Impl::compile_regex() {
  const std::string pattern = pretokenizer_pattern();
  int code = 0;
  PCRE2_SIZE offset = 0;
  regex = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                        PCRE2_UTF | PCRE2_UCP, &code, &offset, nullptr);
  if (regex == nullptr) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(code, msg, sizeof msg);
    throw Error("internal error: the GPT-2 pre-tokenizer regex does not compile (" +
                std::string(reinterpret_cast<const char*>(msg)) + "); check the PCRE2 install");
  }
  // JIT makes matching several times faster; without it (a PCRE2 built without JIT) the
  // interpreter gives the same matches.
  pcre2_jit_compile(regex, PCRE2_JIT_COMPLETE);
}

std::vector<std::int32_t> Gpt2Tokenizer::Impl::encode(std::string_view text, bool specials) const {
  check_utf8(text);
  std::vector<std::int32_t> out;
  out.reserve(text.size() / 3 + 1);
  // One match block per call: PCRE2 match data must not be shared between threads.
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> match(
      pcre2_match_data_create_from_pattern(regex, nullptr), &pcre2_match_data_free);
  if (!match) throw Error("out of memory while tokenizing");
  if (!specials) {
    encode_piece(text, match.get(), out);
    return out;
  }
  // Hugging Face splits added tokens out of the raw text before pre-tokenizing, so the regex
  // never sees across a "<|endoftext|>" (which matters for the spaces in front of it).
  std::size_t start = 0;
  for (;;) {
    const std::size_t hit = text.find(kEndOfText, start);
    encode_piece(text.substr(start, hit == std::string_view::npos ? hit : hit - start), match.get(),
                 out);
    if (hit == std::string_view::npos) break;
    out.push_back(eos);
    start = hit + kEndOfText.size();
  }
  return out;
}

void Gpt2Tokenizer::Impl::encode_piece(std::string_view piece, pcre2_match_data* match,
                                       std::vector<std::int32_t>& out) const {
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(piece.data());
  PCRE2_SIZE at = 0;
  while (at < piece.size()) {
    // The text was checked once up front: checking again at every offset would be quadratic.
    const int rc =
        pcre2_match(regex, subject, piece.size(), at, PCRE2_NO_UTF_CHECK, match, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;  // cannot happen: every character matches some branch
    if (rc < 0) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(rc, msg, sizeof msg);
      throw Error("tokenizing failed in the PCRE2 regex (" +
                  std::string(reinterpret_cast<const char*>(msg)) + ")");
    }
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match);
    const PCRE2_SIZE begin = ovector[0], end = ovector[1];
    if (end <= begin) break;  // cannot happen: no branch matches the empty string
    bpe(piece.substr(begin, end - begin), out);
    at = end;
  }
}

void Gpt2Tokenizer::Impl::bpe(std::string_view word, std::vector<std::int32_t>& out) const {
  if (word.size() == 1) {
    out.push_back(byte_id[static_cast<unsigned char>(word[0])]);
    return;
  }
  {
    std::shared_lock lock(cache_mutex);
    if (auto it = cache.find(word); it != cache.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<std::int32_t> ids = bpe_uncached(word);
  out.insert(out.end(), ids.begin(), ids.end());
  std::unique_lock lock(cache_mutex);
  if (cache.size() < kMaxCacheEntries) cache.try_emplace(std::string(word), std::move(ids));
}

// encoder.py's bpe(): while any adjacent pair has a merge, take the pair of lowest rank and merge
// all its occurrences left to right (non-overlapping: "a a a" -> "aa a"). Done with a heap of
// (rank, position) over a linked list, so a long word costs O(n log n) instead of encoder.py's
// O(n * merges); popping every entry of the lowest rank at once, in position order, is exactly
// encoder.py's left-to-right pass.
std::vector<std::int32_t> Gpt2Tokenizer::Impl::bpe_uncached(std::string_view word) const {
  const auto n = static_cast<std::int32_t>(word.size());
  std::vector<std::int32_t> sym(word.size()), next(word.size()), prev(word.size());
  std::vector<bool> alive(word.size(), true);
  for (std::int32_t i = 0; i < n; ++i) {
    sym[i] = byte_id[static_cast<unsigned char>(word[i])];
    next[i] = i + 1 < n ? i + 1 : -1;
    prev[i] = i - 1;
  }
  using Entry = std::pair<std::int32_t, std::int32_t>;  // (rank, left position)
  std::vector<Entry> heap;
  const auto push = [&](std::int32_t left) {
    if (left < 0 || next[left] < 0) return;
    if (auto it = ranks.find(pair_key(sym[left], sym[next[left]])); it != ranks.end()) {
      heap.emplace_back(it->second, left);
      std::push_heap(heap.begin(), heap.end(), std::greater<>{});
    }
  };
  for (std::int32_t i = 0; i + 1 < n; ++i) push(i);

  std::vector<std::int32_t> batch, merged_at;
  while (!heap.empty()) {
    const std::int32_t rank = heap.front().first;
    batch.clear();
    while (!heap.empty() && heap.front().first == rank) {
      std::pop_heap(heap.begin(), heap.end(), std::greater<>{});
      batch.push_back(heap.back().second);
      heap.pop_back();
    }
    // Entries go stale when a neighbour merged after they were pushed; symbols only grow, so a
    // stale entry never becomes valid again and the check below is enough.
    const auto [left_id, right_id, merged] = merges[static_cast<std::size_t>(rank)];
    merged_at.clear();
    for (const std::int32_t p : batch) {  // ascending positions
      if (!alive[p] || sym[p] != left_id || next[p] < 0 || sym[next[p]] != right_id) continue;
      const std::int32_t q = next[p];
      sym[p] = merged;
      alive[q] = false;
      next[p] = next[q];
      if (next[q] >= 0) prev[next[q]] = p;
      merged_at.push_back(p);
    }
    for (const std::int32_t p : merged_at) {
      push(prev[p]);
      push(p);
    }
  }
  std::vector<std::int32_t> ids;
  for (std::int32_t i = 0; i >= 0; i = next[i]) ids.push_back(sym[i]);
  return ids;
}

Gpt2Tokenizer Gpt2Tokenizer::from_folder(const std::filesystem::path& dir) {
  if (!std::filesystem::is_directory(dir))
    throw Error(dir.string() + ": no such folder; give the folder that holds the tokenizer files");
  if (const auto t = find_hf_tokenizer(dir)) return from_files(t->vocab, t->merges);
  throw Error(dir.string() +
              ": no vocab.json + merges.txt (Hugging Face) or encoder.json + vocab.bpe (OpenAI) "
              "here; copy both files of the GPT-2 tokenizer into this folder");
}

Gpt2Tokenizer Gpt2Tokenizer::from_files(const std::filesystem::path& vocab_json,
                                        const std::filesystem::path& merges_path) {
  auto impl = std::make_shared<Impl>();
  const std::string vocab_where = vocab_json.string() + ": ";

  // ---- vocabulary: {"token": id} ----
  const nlohmann::json vocab = read_json_file(vocab_json, "a vocab.json / encoder.json file");
  if (!vocab.is_object() || vocab.empty())
    throw Error(vocab_where +
                "expected a non-empty JSON object {\"token\": id}; give the vocab.json or "
                "encoder.json of a GPT-2 style tokenizer");
  std::int32_t max_id = -1;
  for (const auto& [text, value] : vocab.items()) {
    if (!value.is_number_integer() || value.get<std::int64_t>() < 0 ||
        value.get<std::int64_t>() >= std::numeric_limits<std::int32_t>::max())
      throw Error(vocab_where + "token \"" + text + "\" has id " + value.dump() +
                  ", expected a non-negative integer; the vocabulary file is damaged");
    const auto id = value.get<std::int32_t>();
    impl->id_of_text.emplace(text, id);
    max_id = std::max(max_id, id);
  }
  impl->texts.resize(static_cast<std::size_t>(max_id) + 1);
  impl->present.assign(impl->texts.size(), false);
  for (const auto& [text, id] : impl->id_of_text) {
    if (impl->present[id])
      throw Error(vocab_where + "tokens \"" + impl->texts[id] + "\" and \"" + text +
                  "\" share id " + std::to_string(id) + "; the vocabulary file is damaged");
    impl->present[id] = true;
    impl->texts[id] = text;
  }
  // Hugging Face appends a special token the vocabulary lacks after the last id.
  if (auto it = impl->id_of_text.find(kEndOfText); it != impl->id_of_text.end()) {
    impl->eos = it->second;
  } else {
    impl->eos = max_id + 1;
    impl->texts.emplace_back(kEndOfText);
    impl->present.push_back(true);
    impl->id_of_text.emplace(kEndOfText, impl->eos);
  }

  // Byte values of every token (the inverse of bytes_to_unicode). A character outside the table
  // (only in hand-added tokens) stands for its own UTF-8, as Hugging Face's decoder keeps it.
  const std::array<char32_t, 256> to_cp = byte_to_codepoint();
  std::unordered_map<char32_t, char> from_cp;
  for (int b = 0; b < 256; ++b) from_cp[to_cp[static_cast<std::size_t>(b)]] = static_cast<char>(b);
  impl->bytes.resize(impl->texts.size());
  for (std::size_t id = 0; id < impl->texts.size(); ++id) {
    const std::string& t = impl->texts[id];
    std::string& out = impl->bytes[id];
    for (std::size_t i = 0; i < t.size();) {
      const std::size_t len = utf8_sequence_length(t, i);
      if (len == 0)
        throw Error(vocab_where + "token id " + std::to_string(id) +
                    " is not valid UTF-8; the vocabulary file is damaged");
      const auto b0 = static_cast<unsigned char>(t[i]);
      char32_t cp = len == 1 ? b0 : b0 & (0xFF >> (len + 1));
      for (std::size_t k = 1; k < len; ++k)
        cp = (cp << 6) | (static_cast<unsigned char>(t[i + k]) & 0x3F);
      if (auto it = from_cp.find(cp); it != from_cp.end())
        out += it->second;
      else
        out.append(t, i, len);
      i += len;
    }
  }
  for (int b = 0; b < 256; ++b) {
    const std::string text = utf8(to_cp[static_cast<std::size_t>(b)]);
    auto it = impl->id_of_text.find(text);
    if (it == impl->id_of_text.end()) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", b);
      throw Error(vocab_where + "no token for byte " + hex + " (\"" + text +
                  "\"); a byte-level BPE vocabulary has all 256, give the one of a GPT-2 style "
                  "tokenizer");
    }
    impl->byte_id[static_cast<std::size_t>(b)] = it->second;
  }

  // ---- merges: "left right" per line, by rank ----
  const std::string merges_where = merges_path.string() + ": ";
  const std::string text = read_all(merges_path, "a merges.txt / vocab.bpe file");
  std::size_t line_no = 0;
  for (std::size_t start = 0; start < text.size();) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + start, end - start);
    start = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    // As the tokenizers package reads it: a "#version" header and blank lines are skipped.
    if (line.empty() || (line_no == 1 && line.starts_with("#version"))) continue;
    const std::size_t space = line.find(' ');
    const std::string where = merges_where + "line " + std::to_string(line_no) + " (\"" +
                              std::string(line.substr(0, 60)) + "\") ";
    if (space == 0 || space == std::string_view::npos || space + 1 == line.size() ||
        line.find(' ', space + 1) != std::string_view::npos)
      throw Error(where +
                  "is not two tokens separated by one space; the merges file is damaged, "
                  "download it again");
    const std::string_view left = line.substr(0, space), right = line.substr(space + 1);
    const auto id_of = [&](std::string_view token) {
      auto it = impl->id_of_text.find(token);
      if (it == impl->id_of_text.end())
        throw Error(where + "uses \"" + std::string(token) + "\", which is not in " +
                    vocab_json.string() + "; give the vocabulary and merges of the same tokenizer");
      return it->second;
    };
    const std::int32_t l = id_of(left), r = id_of(right);
    const std::int32_t merged = id_of(std::string(left) + std::string(right));
    const auto rank = static_cast<std::int32_t>(impl->merges.size());
    impl->merges.push_back(Merge{l, r, merged});
    // A repeated pair takes its last rank, as encoder.py's dict and the tokenizers package do.
    impl->ranks.insert_or_assign(pair_key(l, r), rank);
  }

  impl->compile_regex();
  return Gpt2Tokenizer(std::move(impl));
}

std::vector<std::int32_t> Gpt2Tokenizer::encode(std::string_view utf8_text) const {
  return impl_->encode(utf8_text, /*specials=*/true);
}

std::vector<std::int32_t> Gpt2Tokenizer::encode_ordinary(std::string_view utf8_text) const {
  return impl_->encode(utf8_text, /*specials=*/false);
}

namespace {
void check_id(std::int32_t id, const std::vector<bool>& present) {
  if (id < 0 || static_cast<std::size_t>(id) >= present.size() || !present[id])
    throw Error("token id " + std::to_string(id) + " is not in the vocabulary (ids 0.." +
                std::to_string(present.size() - 1) + "); check the ids given to decode");
}
}  // namespace

std::string Gpt2Tokenizer::decode(const std::vector<std::int32_t>& ids) const {
  std::string out;
  for (const std::int32_t id : ids) {
    check_id(id, impl_->present);
    out += impl_->bytes[id];
  }
  return out;
}

std::string Gpt2Tokenizer::token_text(std::int32_t id) const {
  check_id(id, impl_->present);
  return impl_->texts[id];
}

std::string Gpt2Tokenizer::token_bytes(std::int32_t id) const {
  check_id(id, impl_->present);
  return impl_->bytes[id];
}

std::optional<std::int32_t> Gpt2Tokenizer::token_id(std::string_view token_text) const {
  if (auto it = impl_->id_of_text.find(token_text); it != impl_->id_of_text.end())
    return it->second;
  return std::nullopt;
}

std::int32_t Gpt2Tokenizer::eos_id() const {
  return impl_->eos;
}

std::size_t Gpt2Tokenizer::vocab_size() const {
  return impl_->texts.size();
}

std::size_t Gpt2Tokenizer::merge_count() const {
  return impl_->merges.size();
}

}  // namespace actlens::io
