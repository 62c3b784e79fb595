// actlens steer, text mode: add a steering vector (times each multiplier) to a GPT-2 model's
// activations at TransformerLens hook points and report how the next-token distribution of each
// prompt moves. The vector per hook is the contrastive mean difference of two labelled text sets
// (the mean activation over --positive texts minus that over --negative texts, each text first
// aggregated over its tokens as `actlens capture --aggregate` does), or is read from --vector.
//
// The math (the contrastive vector, the edit m * v[hook] at every position, next-token
// probabilities, top-k and KL) is model/steering.hpp's; this file reads the flags and inputs,
// calls it, writes next_tokens.csv / steering_vectors.npy / run.json and prints the table.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "actlens/error.hpp"
#include "actlens/io/content_hash.hpp"
#include "actlens/io/csv.hpp"
#include "actlens/io/gpt2_tokenizer.hpp"
#include "actlens/io/json_file.hpp"
#include "actlens/io/keyword_filter.hpp"
#include "actlens/io/npy.hpp"
#include "actlens/io/shape.hpp"
#include "actlens/io/text_corpus.hpp"
#include "actlens/model/capture.hpp"
#include "actlens/model/gpt2.hpp"
#include "actlens/model/steering.hpp"
#include "actlens/report/interrupt.hpp"
#include "actlens/report/output_dir.hpp"
#include "actlens/report/progress.hpp"
#include "actlens/report/run_info.hpp"
#include "actlens/report/writers.hpp"
#include "cli_common.hpp"
#include "command.hpp"
#include "steer_options.hpp"
#include "torch_commands.hpp"

namespace actlens::cli {
namespace fs = std::filesystem;

namespace {

// Shortest "%.Ng" that reads back as the same float (9 digits at most).
std::string format_float(float v) {
  char buf[32];
  for (int prec = 6; prec <= 9; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, static_cast<double>(v));
    if (std::strtof(buf, nullptr) == v) break;
  }
  return buf;
}

// "+2", "-8", "0", "+0.5"
std::string format_multiplier(double m) {
  return (m > 0 ? "+" : "") + report::format_double(m);
}

// Hooks whose activation is not [batch, T, d_model] cannot take a d_model vector.
void check_steerable(const std::vector<std::string>& hooks) {
  for (const auto& h : hooks) {
    std::string what;
    if (h.size() > 18 && h.compare(h.size() - 18, 18, ".attn.hook_pattern") == 0)
      what = "[batch, heads, T, T] attention probabilities";
    else if ((h.size() > 13 && h.compare(h.size() - 13, 13, ".mlp.hook_pre") == 0) ||
             (h.size() > 14 && h.compare(h.size() - 14, 14, ".mlp.hook_post") == 0))
      what = "[batch, T, d_mlp] MLP neurons";
    if (!what.empty())
      throw UsageError("--hooks: " + h + " cannot be steered: its activation is " + what +
                       ", not [batch, T, d_model]; steer hook_embed, hook_pos_embed, "
                       "blocks.L.{hook_resid_pre, hook_attn_out, hook_resid_mid, hook_mlp_out, "
                       "hook_resid_post}, ln_final.hook_normalized or hook_final");
  }
}

// A token as the table shows it: quoted, control characters escaped, at most `width` characters
// (padded to `width` when `pad`).
std::string display_token(const std::string& utf8, std::size_t width, bool pad = true) {
  std::string s = "'";
  std::size_t chars = 1;
  for (std::size_t i = 0; i < utf8.size();) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    std::string piece;
    std::size_t len = 1;
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      if (c == '\n')
        piece = "\\n";
      else if (c == '\t')
        piece = "\\t";
      else if (c == '\r')
        piece = "\\r";
      else {
        std::snprintf(buf, sizeof buf, "\\x%02x", c);
        piece = buf;
      }
    } else {
      len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
      piece = utf8.substr(i, len);
    }
    const std::size_t piece_chars = c < 0x20 || c == 0x7f ? piece.size() : 1;
    if (chars + piece_chars + 1 > width) {
      s += "~";
      ++chars;
      break;
    }
    s += piece;
    chars += piece_chars;
    i += len;
  }
  s += "'";
  ++chars;
  if (pad && chars < width) s.append(width - chars, ' ');
  return s;
}

struct TextSet {
  std::vector<model::CaptureText> texts;
  std::size_t n_records = 0, n_truncated = 0;
  std::int64_t n_tokens = 0, width = 0;
};

// Reads and tokenizes --positive / --negative texts; `flag` names the flag in errors.
TextSet read_texts(const fs::path& path, const std::string& flag, const std::string& text_column,
                   const io::Gpt2Tokenizer& tok, std::size_t max_length,
                   const model::Aggregation& agg) {
  if (!fs::exists(path)) throw Error(path.string() + ": no such file; check " + flag);
  io::TextCorpusOptions tco;
  tco.text_column = text_column;
  const auto records = io::read_text_corpus(path, tco);
  if (records.empty()) throw Error(path.string() + ": holds no texts (" + flag + ")");
  const auto candidates = agg.kind == model::Aggregation::Kind::Token
                              ? model::word_token_sequences(tok, agg.words)
                              : std::vector<std::vector<std::int32_t>>{};
  if (agg.kind == model::Aggregation::Kind::Token && candidates.empty())
    throw UsageError("--aggregate " + agg.spec() + ": the words encode to no tokens");
  TextSet s;
  s.n_records = records.size();
  std::vector<std::size_t> unmatched;
  for (std::size_t i = 0; i < records.size(); ++i) {
    model::CaptureText t;
    t.ids = tok.encode(records[i].text);
    if (t.ids.empty())
      throw Error(path.string() + ": record " + std::to_string(i + 1) +
                  " is empty (no tokens); remove it or give it text");
    if (t.ids.size() > max_length) {
      t.ids.resize(max_length);
      ++s.n_truncated;
    }
    if (agg.kind == model::Aggregation::Kind::Position) {
      if (static_cast<std::int64_t>(t.ids.size()) > agg.position) t.match = {agg.position, 1};
    } else if (agg.kind == model::Aggregation::Kind::Token) {
      t.match = model::find_first_match(t.ids, candidates);
    }
    if ((agg.kind == model::Aggregation::Kind::Position ||
         agg.kind == model::Aggregation::Kind::Token) &&
        t.match.begin < 0)
      unmatched.push_back(i);
    s.n_tokens += static_cast<std::int64_t>(t.ids.size());
    s.width = std::max(s.width, static_cast<std::int64_t>(t.ids.size()));
    s.texts.push_back(std::move(t));
  }
  if (!unmatched.empty()) {
    std::string list;
    for (std::size_t k = 0; k < unmatched.size() && k < 5; ++k)
      list += (k ? ", " : "") + std::to_string(unmatched[k] + 1);
    throw Error(path.string() + ": " + std::to_string(unmatched.size()) + " record(s) (" + list +
                (unmatched.size() > 5 ? ", ..." : "") +
                (agg.kind == model::Aggregation::Kind::Position
                     ? ") have no token at index " + std::to_string(agg.position)
                     : ") contain none of the words of --aggregate " + agg.spec()) +
                "; remove them or choose another --aggregate");
  }
  if (s.n_truncated)
    spdlog::warn("{}: {} text(s) longer than {} tokens (the model's n_positions) were cut",
                 path.string(), s.n_truncated, max_length);
  return s;
}

// --vector FILE: [d] for every hook or [n_hooks, d], one row per hook in forward order. Returns
// [n_hooks, d] float32.
torch::Tensor read_vector_file(const fs::path& path, const std::vector<std::string>& hooks,
                               std::int64_t d) {
  if (!fs::exists(path)) throw Error(path.string() + ": no such file; check --vector");
  const io::Array a = io::read_npy(path);
  const auto n = static_cast<std::int64_t>(hooks.size());
  const bool one = a.shape.size() == 1 && a.shape[0] == d;
  const bool per_hook = a.shape.size() == 2 && a.shape[0] == n && a.shape[1] == d;
  if (!one && !per_hook)
    throw Error(path.string() + ": shape " + io::shape_str(a.shape) + " does not fit " +
                std::to_string(n) + " hook(s) of d_model " + std::to_string(d) + ": expected " +
                io::shape_str({d}) + " (one vector for every hook) or " + io::shape_str({n, d}) +
                " (one row per hook, in forward order: " + hooks.front() + (n > 1 ? ", ..." : "") +
                ")");
  if (a.dtype == io::DType::Bool)
    throw Error(path.string() + ": holds booleans; a steering vector is float");
  const std::vector<double> v = io::to_double_vector(a);
  for (std::size_t i = 0; i < v.size(); ++i)
    if (!std::isfinite(v[i]))
      throw Error(path.string() + ": element " +
                  (one ? std::to_string(i)
                       : "[" + std::to_string(i / static_cast<std::size_t>(d)) + ", " +
                             std::to_string(i % static_cast<std::size_t>(d)) + "]") +
                  " is " + (std::isnan(v[i]) ? "NaN" : "Inf") +
                  "; a steering vector must be finite");
  torch::Tensor rows = torch::empty({n, d}, torch::kFloat32);
  auto ra = rows.accessor<float, 2>();
  for (std::int64_t h = 0; h < n; ++h)
    for (std::int64_t j = 0; j < d; ++j)
      ra[h][j] = static_cast<float>(v[static_cast<std::size_t>((one ? 0 : h) * d + j)]);
  return rows;
}

struct Prompt {
  std::string text, where;  // `where` names it in errors: "--prompt 2", "FILE: record 3"
  std::vector<std::int32_t> ids;
};

// The flags of text mode, each alone and together (before anything is read).
void check_text_flags(const SteerOptions& o) {
  if (!o.from.empty() || !o.to.empty() || o.depth != 0 || o.length != 0)
    throw UsageError(
        "--from, --to, --depth and --length belong to belief mode (an `actlens train` checkpoint "
        "or --process); with a GPT-2 folder give --positive and --negative, or --vector");
  const bool from_file = !o.vector.empty();
  const bool has_pos = !o.positive.empty(), has_neg = !o.negative.empty();
  if (from_file && (has_pos || has_neg))
    throw UsageError(
        "give the steering vector either with --vector or with --positive and --negative, "
        "not both");
  if (!from_file && has_pos != has_neg)
    throw UsageError(std::string(has_pos ? "--positive needs --negative"
                                         : "--negative needs "
                                           "--positive") +
                     " (the vector is their mean difference), or give --vector");
  if (!from_file && !has_pos)
    throw UsageError(
        "no steering vector: give --positive and --negative texts (their mean difference), or "
        "--vector FILE.npy");
  if (o.prompts.empty() && o.prompts_file.empty())
    throw UsageError("no prompt: give --prompt TEXT (repeatable) or --prompts-file FILE");
  for (std::size_t i = 0; i < o.prompts.size(); ++i)
    if (o.prompts[i].empty()) throw UsageError("--prompt " + std::to_string(i + 1) + " is empty");
  if (o.multipliers.empty()) throw UsageError("--multipliers: give at least one");
  for (double m : o.multipliers)
    if (!std::isfinite(m)) throw UsageError("--multipliers: every value must be finite");
  if (o.top_k < 1) throw UsageError("--top-k " + std::to_string(o.top_k) + ": must be >= 1");
}

// config.json of the --model folder.
model::Gpt2Config read_model_config(const SteerOptions& o) {
  if (o.model.empty()) throw UsageError("--model is required");
  return model::Gpt2Config::from_folder(o.model, "is --model a Hugging Face model folder?");
}

// --prompt values, then the records of --prompts-file, tokenized.
std::vector<Prompt> read_prompts(const SteerOptions& o, const io::Gpt2Tokenizer& tok,
                                 std::size_t max_length, report::RunInfo& info) {
  std::vector<Prompt> prompts;
  for (std::size_t i = 0; i < o.prompts.size(); ++i)
    prompts.push_back({o.prompts[i], "--prompt " + std::to_string(i + 1), {}});
  if (!o.prompts_file.empty()) {
    const fs::path pf = o.prompts_file;
    if (!fs::exists(pf)) throw Error(pf.string() + ": no such file; check --prompts-file");
    io::TextCorpusOptions tco;
    tco.text_column = o.text_column;
    const auto records = io::read_text_corpus(pf, tco);
    if (records.empty()) throw Error(pf.string() + ": holds no prompts (--prompts-file)");
    for (std::size_t i = 0; i < records.size(); ++i) {
      if (records[i].text.empty())
        throw Error(pf.string() + ": record " + std::to_string(i + 1) + " is an empty prompt");
      prompts.push_back({records[i].text, pf.string() + ": record " + std::to_string(i + 1), {}});
    }
    info.add_input("prompts", pf, std::to_string(records.size()) + " prompts", fs::file_size(pf),
                   io::hash_file(pf));
  }
  for (auto& p : prompts) {
    p.ids = tok.encode(p.text);
    if (p.ids.empty()) throw Error(p.where + ": the prompt encodes to no tokens");
    if (p.ids.size() > max_length)
      throw Error(p.where + ": the prompt has " + std::to_string(p.ids.size()) +
                  " tokens, more than the model's n_positions (" + std::to_string(max_length) +
                  "); shorten it");
  }
  return prompts;
}

// A token id as text; ids beyond the tokenizer (a padded vocabulary) as "<id N>".
std::string token_text(const io::Gpt2Tokenizer& tok, std::int64_t id) {
  try {
    return io::utf8_lossy(tok.token_bytes(static_cast<std::int32_t>(id)));
  } catch (const Error&) {
    return "<id " + std::to_string(id) + ">";
  }
}

using Results = std::vector<std::vector<model::NextTokens>>;  // [prompt][multiplier]

void write_next_tokens(const fs::path& file, const std::vector<Prompt>& prompts,
                       const std::vector<double>& mults, const Results& results,
                       const io::Gpt2Tokenizer& tok) {
  std::vector<std::vector<std::string>> rows;
  for (std::size_t p = 0; p < prompts.size(); ++p)
    for (std::size_t j = 0; j < mults.size(); ++j) {
      const model::NextTokens& nt = results[p][j];
      for (std::size_t q = 0; q < nt.ids.size(); ++q)
        rows.push_back({std::to_string(p), io::utf8_lossy(prompts[p].text),
                        report::format_double(mults[j]), std::to_string(q + 1),
                        std::to_string(nt.ids[q]), token_text(tok, nt.ids[q]),
                        format_float(nt.probs[q]), format_float(nt.logits[q])});
    }
  report::write_csv(
      file,
      {"prompt_index", "prompt", "multiplier", "rank", "token_id", "token", "probability", "logit"},
      rows);
}

// run.json's per-prompt summary: the top token and the KL of each multiplier.
nlohmann::json prompt_summary(const std::vector<Prompt>& prompts, const std::vector<double>& mults,
                              const Results& results, const io::Gpt2Tokenizer& tok) {
  nlohmann::json all = nlohmann::json::array();
  for (std::size_t p = 0; p < prompts.size(); ++p) {
    nlohmann::json per = nlohmann::json::array();
    for (std::size_t j = 0; j < mults.size(); ++j) {
      const model::NextTokens& nt = results[p][j];
      per.push_back({{"multiplier", mults[j]},
                     {"top_token_id", nt.ids.front()},
                     {"top_token", token_text(tok, nt.ids.front())},
                     {"top_probability", nt.probs.front()},
                     {"kl_from_unsteered", nt.kl}});
    }
    all.push_back({{"index", p},
                   {"prompt", io::utf8_lossy(prompts[p].text)},
                   {"n_tokens", prompts[p].ids.size()},
                   {"next_tokens", per}});
  }
  return all;
}

// run.json's summary.vector_source: where the vector came from.
nlohmann::json vector_source(const SteerOptions& o, const TextSet& pos, const TextSet& neg,
                             const model::Aggregation& agg) {
  if (!o.vector.empty()) return {{"kind", "file"}, {"vector", o.vector}};
  return {{"kind", "contrastive"},
          {"positive", o.positive},
          {"negative", o.negative},
          {"n_positive", pos.texts.size()},
          {"n_negative", neg.texts.size()},
          {"positive_tokens", pos.n_tokens},
          {"negative_tokens", neg.n_tokens},
          {"truncated", pos.n_truncated + neg.n_truncated},
          {"aggregate", agg.spec()},
          {"formula", "mean over positive texts - mean over negative texts"}};
}

// hook -> |vector| of vectors [n_hooks, d] float32, summed in float64.
nlohmann::json vector_norms(const torch::Tensor& vectors, const std::vector<std::string>& hooks) {
  nlohmann::json norms = nlohmann::json::object();
  const auto va = vectors.accessor<float, 2>();
  for (std::size_t h = 0; h < hooks.size(); ++h) {
    const auto r = static_cast<std::int64_t>(h);
    double s = 0;
    for (std::int64_t j = 0; j < vectors.size(1); ++j)
      s += static_cast<double>(va[r][j]) * va[r][j];
    norms[hooks[h]] = std::sqrt(s);
    spdlog::debug("{}: steering vector norm {:.6g}", hooks[h], std::sqrt(s));
  }
  return norms;
}

// The table on stdout: top-k next tokens, unsteered vs each multiplier, and the KL row.
void print_table(const std::vector<Prompt>& prompts, const std::vector<double>& mults,
                 const Results& results, const io::Gpt2Tokenizer& tok, std::int64_t k) {
  constexpr std::size_t kTok = 14;
  const std::size_t n_prompts = prompts.size(), n_mult = mults.size();
  auto print_line = [](std::string l) {
    while (!l.empty() && l.back() == ' ') l.pop_back();
    std::printf("%s\n", l.c_str());
  };
  for (std::size_t p = 0; p < n_prompts; ++p) {
    std::printf("%sprompt %zu of %zu (%zu tokens): %s\n", p ? "\n" : "", p + 1, n_prompts,
                prompts[p].ids.size(),
                display_token(io::utf8_lossy(prompts[p].text), 72, false).c_str());
    std::string head = "rank ";
    for (std::size_t j = 0; j < n_mult; ++j) {
      std::string h = j == 0 ? "unsteered" : "m=" + format_multiplier(mults[j]);
      if (h.size() < kTok + 8) h.append(kTok + 8 - h.size(), ' ');
      head += " " + h;
    }
    print_line(head);
    for (std::int64_t q = 0; q < k; ++q) {
      std::string line;
      char buf[16];
      std::snprintf(buf, sizeof buf, "%4lld ", static_cast<long long>(q + 1));
      line = buf;
      for (std::size_t j = 0; j < n_mult; ++j) {
        const model::NextTokens& nt = results[p][j];
        std::snprintf(buf, sizeof buf, "%.4f",
                      static_cast<double>(nt.probs[static_cast<std::size_t>(q)]));
        line += " " + display_token(token_text(tok, nt.ids[static_cast<std::size_t>(q)]), kTok) +
                " " + buf + " ";
      }
      print_line(line);
    }
    std::string kl_line = "KL   ";
    for (std::size_t j = 1; j < n_mult; ++j) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%*s%.4f ", static_cast<int>(kTok + 2), "", results[p][j].kl);
      kl_line += (j == 1 ? std::string(kTok + 9, ' ') : "") + buf;
    }
    print_line(kl_line);
  }
  if (n_mult > 1)
    std::printf(
        "\nKL: divergence of the steered next-token distribution from the unsteered one "
        "(nats)\n");
  std::fflush(stdout);
}

}  // namespace

int run_gpt2_steer(const SteerOptions& o, Command& cmd) {
  check_text_flags(o);
  const model::Aggregation agg = model::Aggregation::parse(o.aggregate);
  const torch::ScalarType dtype = model::parse_dtype(o.dtype);
  const torch::Device device = model::parse_device(o.device);
  model::check_dtype_on_device(dtype, device);

  report::RunInfo& info = cmd.start();
  info.start("prepare");
  const fs::path model_dir = o.model;
  const fs::path tok_dir = o.tokenizer.empty() ? model_dir : fs::path(o.tokenizer);
  const model::Gpt2Config cfg = read_model_config(o);
  const int n_layers = static_cast<int>(cfg.n_layer);
  const std::int64_t d = cfg.n_embd;
  if (o.top_k > cfg.vocab_size)
    throw UsageError("--top-k " + std::to_string(o.top_k) + ": the model has only " +
                     std::to_string(cfg.vocab_size) + " tokens");
  const auto layers =
      o.layers == "all" ? std::vector<int>{} : parse_layers(o.layers, n_layers, "--layers");
  const auto hooks = model::resolve_hooks(o.hooks, n_layers, layers);
  check_steerable(hooks);
  const auto tok = io::Gpt2Tokenizer::from_folder(tok_dir);
  const auto max_length = static_cast<std::size_t>(cfg.n_positions);
  // multipliers: the unsteered baseline first, then the given ones (without repeats)
  std::vector<double> mults = {0.0};
  for (double m : o.multipliers)
    if (std::find(mults.begin(), mults.end(), m) == mults.end()) mults.push_back(m);
  const std::vector<Prompt> prompts = read_prompts(o, tok, max_length, info);
  const bool from_file = !o.vector.empty();
  TextSet pos, neg;
  torch::Tensor vectors;  // [n_hooks, d] float32
  if (!from_file) {
    pos = read_texts(o.positive, "--positive", o.text_column, tok, max_length, agg);
    neg = read_texts(o.negative, "--negative", o.text_column, tok, max_length, agg);
    info.add_input("positive", o.positive, std::to_string(pos.texts.size()) + " texts",
                   fs::file_size(o.positive), io::hash_file(o.positive));
    info.add_input("negative", o.negative, std::to_string(neg.texts.size()) + " texts",
                   fs::file_size(o.negative), io::hash_file(o.negative));
  } else {
    vectors = read_vector_file(o.vector, hooks, d);
    info.add_input("vector", o.vector, "steering vector", fs::file_size(o.vector),
                   io::hash_file(o.vector));
  }
  report::OutputDir& out = cmd.output();
  info.stop("prepare");

  info.start("load_model");
  torch::InferenceMode guard;  // weights and every tensor after them: no autograd bookkeeping
  const auto m = model::Gpt2Model::load(model_dir, {device, dtype});
  info.stop("load_model");
  spdlog::info(
      "{}: {} layers, d_model {}, {} heads on {} ({}); {} prompt(s), {} hook(s), {} "
      "multiplier(s) besides the unsteered run",
      model_dir.string(), cfg.n_layer, cfg.n_embd, cfg.n_head, device.str(),
      model::dtype_name(dtype), prompts.size(), hooks.size(), mults.size() - 1);

  if (!from_file) {  // the vector: mean over --positive minus mean over --negative
    info.start("vectors");
    model::CaptureOptions copt;
    copt.batch_size = o.batch_size;
    copt.pad_id = tok.eos_id();
    copt.pattern_width = std::max(pos.width, neg.width);
    report::Progress progress("vectors", pos.texts.size() + neg.texts.size(), true);
    vectors =
        model::contrastive_vectors(m, pos.texts, neg.texts, hooks, agg, copt, [&](std::size_t k) {
          report::check_interrupted();
          progress.advance(k);
        });
    progress.finish();
    info.stop("vectors");
  }
  const nlohmann::json norms = vector_norms(vectors, hooks);

  // steered forward passes: rows (prompt, multiplier); a prompt's rows run together
  info.start("forward");
  std::vector<std::vector<std::int32_t>> ids;
  for (const auto& p : prompts) ids.push_back(p.ids);
  report::Progress progress("steer", prompts.size() * mults.size(), true);
  report::check_interrupted();
  const Results results = model::steered_next_tokens(
      m, ids, hooks, vectors, mults, {o.top_k, o.batch_size, tok.eos_id()}, [&](std::size_t rows) {
        progress.advance(static_cast<std::uint64_t>(rows));
        report::check_interrupted();
      });
  progress.finish();
  info.stop("forward");

  info.start("write");
  write_steering_vectors(out.path() / "steering_vectors.npy", vectors);
  write_next_tokens(out.path() / "next_tokens.csv", prompts, mults, results, tok);
  info.stop("write");
  info.section("resolved") = {{"mode", "text"},
                              {"tokenizer", tok_dir.string()},
                              {"aggregate", agg.spec()},
                              {"device", device.str()},
                              {"dtype", model::dtype_name(dtype)},
                              {"threads", at::get_num_threads()}};
  info.summary() = {
      {"mode", "text"},
      {"model", cfg.to_json()},
      {"hooks", hooks},
      {"d_model", d},
      {"multipliers", mults},
      {"vector_source", vector_source(o, pos, neg, agg)},
      {"vector_norms", norms},
      {"n_prompts", prompts.size()},
      {"n_hooks", hooks.size()},
      {"n_multipliers", mults.size()},
      {"top_k", o.top_k},
      {"files",
       {{"steering_vectors.npy", "[n_hooks, d_model] float32, rows in the order of summary.hooks"},
        {"next_tokens.csv",
         "top-k next tokens per prompt and multiplier (multiplier 0: unsteered)"}}},
      {"prompts", prompt_summary(prompts, mults, results, tok)},
      {"libtorch", TORCH_VERSION}};
  const int rc = cmd.finish();
  print_table(prompts, mults, results, tok, o.top_k);
  return rc;
}

}  // namespace actlens::cli
