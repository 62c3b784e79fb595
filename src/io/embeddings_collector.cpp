// The requested words and the rows found for them. See embeddings_detail.hpp.
#include <algorithm>
#include <cstring>

#include "actlens/error.hpp"
#include "embeddings_detail.hpp"

namespace actlens::io::embeddings_detail {

Collector::Collector(const std::vector<std::string>& query, std::int64_t dim)
    : all_(query.empty()), dim_(dim) {
  for (const auto& w : query) {
    if (w.empty()) throw UsageError("the word list holds an empty word; remove it");
    slots_.try_emplace(w, Slot{});
  }
}

std::int64_t Collector::take_row(std::string_view word, std::int64_t where, const std::string& file,
                                 const char* at, const std::string& suffix) {
  auto it = slots_.find(word);
  if (it == slots_.end()) {
    if (!all_) return -1;
    it = slots_.emplace(std::string(word), Slot{}).first;
  }
  if (it->second.where >= 0)
    throw Error(file + ": word " + squote(word) + " appears " + at + " " +
                std::to_string(it->second.where) + " and " + std::to_string(where) + suffix +
                "; remove the duplicate row so the word has one vector");
  it->second.where = where;
  it->second.row = rows_++;
  if (all_) order_.emplace_back(word);
  values_.resize(static_cast<std::size_t>(rows_ * dim_));
  return rows_ - 1;
}

Embeddings Collector::finish(const std::vector<std::string>& query, bool skip_missing,
                             const std::string& file,
                             const std::unordered_map<std::string, std::string>& reasons) const {
  Embeddings e;
  e.dim = dim_;
  if (all_) {
    e.words = order_;
    e.vectors.resize(rows_, dim_);
    if (rows_ * dim_ > 0) std::memcpy(e.vectors.data(), values_.data(), values_.size() * 8);
    return e;
  }
  std::vector<std::int64_t> rows;
  for (const auto& w : query) {
    const Slot& s = slots_.find(w)->second;
    if (s.where >= 0) {
      e.words.push_back(w);
      rows.push_back(s.row);
    } else if (std::find(e.missing.begin(), e.missing.end(), w) == e.missing.end()) {
      e.missing.push_back(w);
      const auto r = reasons.find(w);
      e.missing_reasons.push_back(r != reasons.end() ? r->second : "not in the vocabulary");
    }
  }
  if (!e.missing.empty() && !skip_missing) {
    const std::size_t n_query = slots_.size();
    std::string list;
    for (std::size_t i = 0; i < e.missing.size() && i < kListedMissing; ++i) {
      if (i > 0) list += ", ";
      list += squote(e.missing[i]);
      if (e.missing_reasons[i] != "not in the vocabulary")
        list += " (" + e.missing_reasons[i] + ")";
    }
    if (e.missing.size() > kListedMissing)
      list += " and " + std::to_string(e.missing.size() - kListedMissing) + " more";
    throw Error(file + ": " + std::to_string(e.missing.size()) + " of " + std::to_string(n_query) +
                " words not found: " + list +
                "; check their spelling and case, or drop them with --skip-missing");
  }
  e.vectors.resize(static_cast<Eigen::Index>(rows.size()), dim_);
  for (std::size_t i = 0; i < rows.size(); ++i)
    std::memcpy(e.vectors.row(static_cast<Eigen::Index>(i)).data(), values_.data() + rows[i] * dim_,
                static_cast<std::size_t>(dim_) * 8);
  return e;
}

}  // namespace actlens::io::embeddings_detail
