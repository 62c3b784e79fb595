#include "actlens/model/capture.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "actlens/error.hpp"

namespace actlens::model {
namespace {

using Kind = Aggregation::Kind;

bool is_pattern(const std::string& hook) {
  return hook.size() >= 17 && hook.compare(hook.size() - 17, 17, "attn.hook_pattern") == 0;
}

// One batch: which texts (original indices), their lengths and the padded tensors.
struct Batch {
  std::vector<std::size_t> index;
  std::vector<std::int64_t> length;
  torch::Tensor ids, mask;  // [b, T]
};

// Aggregates `act` (one hook's activation for `batch`) into `out`.
void aggregate(const std::string& hook, const torch::Tensor& act, const Batch& batch,
               const std::vector<CaptureText>& texts, const Aggregation& agg,
               std::int64_t pattern_width, HookOutput& out) {
  const auto b = static_cast<std::int64_t>(batch.index.size());
  torch::Tensor p = act;  // position-major: [b, T, row...]
  if (is_pattern(hook)) {
    // [b, H, T_q, T_k] -> [b, T_q, H, T_k], keys zero-padded to T_max
    p = act.transpose(1, 2);
    const std::int64_t tk = p.size(3);
    if (tk < pattern_width) p = torch::constant_pad_nd(p, {0, pattern_width - tk});
  }
  const std::int64_t row_numel = std::accumulate(out.row_shape.begin(), out.row_shape.end(),
                                                 std::int64_t{1}, std::multiplies<>());
  auto store = [&](const torch::Tensor& rows, std::int64_t first_row) {
    const torch::Tensor host = rows.to(torch::kCPU, torch::kFloat32).contiguous();
    std::memcpy(out.data.data() + first_row * row_numel, host.data_ptr<float>(),
                static_cast<std::size_t>(host.numel()) * sizeof(float));
  };
  const auto dev = p.device();
  const torch::Tensor lengths = torch::tensor(batch.length, torch::kInt64).to(dev);

  if (agg.kind == Kind::Final || agg.kind == Kind::Mean || agg.kind == Kind::Sum ||
      agg.kind == Kind::Max) {
    torch::Tensor rows;
    if (agg.kind == Kind::Final) {
      rows = p.index(
          {torch::arange(b, torch::TensorOptions().dtype(torch::kInt64).device(dev)), lengths - 1});
    } else {
      std::vector<std::int64_t> mshape = {b, p.size(1)};
      for (std::int64_t i = 2; i < p.dim(); ++i) mshape.push_back(1);
      const torch::Tensor m = batch.mask.to(dev).to(torch::kBool).view(mshape);
      if (agg.kind == Kind::Max) {
        rows = p.masked_fill(m.logical_not(), -std::numeric_limits<float>::infinity()).amax(1);
      } else {
        rows = p.masked_fill(m.logical_not(), 0).sum(1);
        if (agg.kind == Kind::Mean) {
          std::vector<std::int64_t> lshape = {b};
          for (std::int64_t i = 2; i < p.dim(); ++i) lshape.push_back(1);
          rows = rows / lengths.to(rows.scalar_type()).view(lshape);
        }
      }
    }
    const torch::Tensor host = rows.to(torch::kCPU, torch::kFloat32).contiguous();
    for (std::int64_t i = 0; i < b; ++i)
      std::memcpy(out.data.data() + static_cast<std::int64_t>(batch.index[i]) * row_numel,
                  host[i].data_ptr<float>(), static_cast<std::size_t>(row_numel) * sizeof(float));
    return;
  }
  for (std::int64_t i = 0; i < b; ++i) {
    const std::size_t t = batch.index[static_cast<std::size_t>(i)];
    if (agg.kind == Kind::All) {
      store(p[i].slice(0, 0, batch.length[static_cast<std::size_t>(i)]), out.offsets[t]);
    } else {  // Token, Position
      const auto& m = texts[t].match;
      store(p[i].slice(0, m.begin, m.begin + m.length).mean(0).unsqueeze(0),
            static_cast<std::int64_t>(t));
    }
  }
}

}  // namespace

Aggregation Aggregation::parse(const std::string& spec) {
  Aggregation a;
  if (spec == "final")
    a.kind = Kind::Final;
  else if (spec == "mean")
    a.kind = Kind::Mean;
  else if (spec == "max")
    a.kind = Kind::Max;
  else if (spec == "sum")
    a.kind = Kind::Sum;
  else if (spec == "all")
    a.kind = Kind::All;
  else if (spec.rfind("token:", 0) == 0) {
    a.kind = Kind::Token;
    std::size_t start = 6;
    while (start <= spec.size()) {
      const auto comma = spec.find(',', start);
      const auto end = comma == std::string::npos ? spec.size() : comma;
      std::string w = spec.substr(start, end - start);
      w.erase(0, w.find_first_not_of(' '));
      w.erase(w.find_last_not_of(' ') + 1);
      if (!w.empty()) a.words.push_back(w);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (a.words.empty())
      throw UsageError("--aggregate: 'token:' needs at least one word, e.g. token:him,her");
  } else if (spec.rfind("position:", 0) == 0) {
    a.kind = Kind::Position;
    const std::string n = spec.substr(9);
    try {
      std::size_t used = 0;
      a.position = std::stoll(n, &used);
      if (used != n.size() || a.position < 0) throw std::invalid_argument(n);
    } catch (const std::exception&) {
      throw UsageError("--aggregate: 'position:' needs a token index >= 0, e.g. position:5");
    }
  } else {
    throw UsageError("--aggregate: '" + spec +
                     "' is not one of final, mean, max, sum, all, token:WORD[,WORD...], "
                     "position:N");
  }
  return a;
}

std::string Aggregation::spec() const {
  switch (kind) {
    case Kind::Final:
      return "final";
    case Kind::Mean:
      return "mean";
    case Kind::Max:
      return "max";
    case Kind::Sum:
      return "sum";
    case Kind::All:
      return "all";
    case Kind::Position:
      return "position:" + std::to_string(position);
    case Kind::Token:
      break;
  }
  std::string s = "token:";
  for (std::size_t i = 0; i < words.size(); ++i) s += (i ? "," : "") + words[i];
  return s;
}

std::vector<std::vector<std::int32_t>> word_token_sequences(const io::Gpt2Tokenizer& tokenizer,
                                                            const std::vector<std::string>& words) {
  std::vector<std::vector<std::int32_t>> out;
  for (const auto& w : words)
    for (const auto& variant : {" " + w, w}) {
      auto ids = tokenizer.encode(variant);
      if (!ids.empty() && std::find(out.begin(), out.end(), ids) == out.end())
        out.push_back(std::move(ids));
    }
  return out;
}

TokenMatch find_first_match(const std::vector<std::int32_t>& ids,
                            const std::vector<std::vector<std::int32_t>>& candidates) {
  TokenMatch best;
  for (std::size_t p = 0; p < ids.size() && best.begin < 0; ++p)
    for (const auto& c : candidates) {
      if (c.size() > ids.size() - p) continue;
      if (!std::equal(c.begin(), c.end(), ids.begin() + static_cast<std::ptrdiff_t>(p))) continue;
      if (best.begin < 0 || static_cast<std::int64_t>(c.size()) > best.length)
        best = {static_cast<std::int64_t>(p), static_cast<std::int64_t>(c.size())};
    }
  return best;
}

std::vector<std::int64_t> hook_row_shape(const std::string& hook, const Gpt2Config& cfg,
                                         std::int64_t pattern_width) {
  if (is_pattern(hook)) return {cfg.n_head, pattern_width};
  if (hook.find(".mlp.hook_") != std::string::npos) return {cfg.d_mlp()};
  return {cfg.n_embd};
}

std::map<std::string, HookOutput> capture(const Gpt2Model& model,
                                          const std::vector<CaptureText>& texts,
                                          const std::vector<std::string>& hooks,
                                          const Aggregation& agg, const CaptureOptions& options,
                                          const std::function<void(std::size_t)>& progress) {
  if (options.batch_size < 1) throw UsageError("--batch-size must be >= 1");
  const auto& cfg = model.config();
  const int n_layers = static_cast<int>(cfg.n_layer);
  std::int64_t width = options.pattern_width;
  for (const auto& t : texts) {
    if (t.ids.empty()) throw Error("capture: a text has no tokens");
    width = std::max(width, static_cast<std::int64_t>(t.ids.size()));
    if ((agg.kind == Kind::Token || agg.kind == Kind::Position) && t.match.begin < 0)
      throw Error("capture: a text has no match for " + agg.spec());
  }

  std::map<std::string, HookOutput> out;
  int last_block = -1;
  for (const auto& h : hooks) {
    HookOutput& o = out[h];
    o.row_shape = hook_row_shape(h, cfg, width);
    const std::int64_t row_numel = std::accumulate(o.row_shape.begin(), o.row_shape.end(),
                                                   std::int64_t{1}, std::multiplies<>());
    if (agg.kind == Kind::All) {
      o.offsets.assign(texts.size() + 1, 0);
      for (std::size_t i = 0; i < texts.size(); ++i)
        o.offsets[i + 1] = o.offsets[i] + static_cast<std::int64_t>(texts[i].ids.size());
      o.rows = o.offsets.back();
    } else {
      o.rows = static_cast<std::int64_t>(texts.size());
    }
    o.data.assign(static_cast<std::size_t>(o.rows * row_numel), 0.f);
    last_block = std::max(last_block, std::min(hook_layer(h, n_layers), n_layers - 1));
  }
  if (std::any_of(hooks.begin(), hooks.end(),
                  [&](const std::string& h) { return hook_layer(h, n_layers) >= n_layers; }))
    last_block = n_layers - 1;
  last_block = std::max(last_block, 0);
  // Blocks after the deepest hook cannot change it, so they are not run (unless ln_final/
  // hook_final is asked for, which needs every block).
  const int run_to = last_block;

  // Longest texts first: batches of similar length waste little on padding.
  std::vector<std::size_t> order(texts.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return texts[a].ids.size() > texts[b].ids.size();
  });

  const auto bs = static_cast<std::size_t>(options.batch_size);
  for (std::size_t start = 0; start < order.size(); start += bs) {
    Batch batch;
    const std::size_t end = std::min(order.size(), start + bs);
    batch.index.assign(order.begin() + static_cast<std::ptrdiff_t>(start),
                       order.begin() + static_cast<std::ptrdiff_t>(end));
    const auto b = static_cast<std::int64_t>(batch.index.size());
    const auto T = static_cast<std::int64_t>(texts[batch.index.front()].ids.size());
    batch.ids = torch::full({b, T}, options.pad_id, torch::kInt64);
    batch.mask = torch::zeros({b, T}, torch::kInt64);
    auto* ids = batch.ids.data_ptr<std::int64_t>();
    auto* mask = batch.mask.data_ptr<std::int64_t>();
    for (std::int64_t i = 0; i < b; ++i) {
      const auto& t = texts[batch.index[static_cast<std::size_t>(i)]].ids;
      batch.length.push_back(static_cast<std::int64_t>(t.size()));
      for (std::size_t j = 0; j < t.size(); ++j) {
        ids[i * T + static_cast<std::int64_t>(j)] = t[j];
        mask[i * T + static_cast<std::int64_t>(j)] = 1;
      }
    }
    Hooks hk;
    for (const auto& h : hooks)
      hk.add_reader(h, [&, h](const torch::Tensor& a) {
        aggregate(h, a, batch, texts, agg, width, out.at(h));
      });
    model.forward(batch.ids, batch.mask, hk, run_to);
    if (progress) progress(batch.index.size());
  }
  return out;
}

}  // namespace actlens::model
