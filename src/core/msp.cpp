// The mixed-state presentation: belief tree, unique beliefs, transformer inputs, Bayes loss.
#include "actlens/core/msp.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <stdexcept>

namespace actlens::core {

namespace {

// Belief key: llround(1e5 * b_i) per state (the seed's round(b, 5)).
std::vector<std::int64_t> belief_key(const Eigen::Ref<const Eigen::RowVectorXd>& b) {
  std::vector<std::int64_t> k(static_cast<std::size_t>(b.size()));
  for (Eigen::Index i = 0; i < b.size(); ++i)
    k[static_cast<std::size_t>(i)] = std::llround(b[i] * 1e5);
  return k;
}

std::string pow_text(int base, int exp) {
  double v = std::pow(static_cast<double>(base), exp);
  if (v < 1e15) return std::to_string(static_cast<long long>(v));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

}  // namespace

int MspTree::path_depth(std::int64_t node) const {
  const auto it = std::upper_bound(level_start.begin(), level_start.end(), node);
  return static_cast<int>(it - level_start.begin()) - 1;
}

std::vector<int> MspTree::path(std::int64_t node) const {
  std::vector<int> p;
  for (std::int64_t n = node; n > 0; n = parent[static_cast<std::size_t>(n)])
    p.push_back(symbol[static_cast<std::size_t>(n)]);
  std::reverse(p.begin(), p.end());
  return p;
}

MspTree build_msp(const Process& p, const MspOptions& opt) {
  if (opt.depth < 0)
    throw std::invalid_argument("depth: must be >= 0, got " + std::to_string(opt.depth));
  if (opt.max_nodes < 1) throw std::invalid_argument("max_nodes: must be >= 1");
  const int s = p.n_states(), a = p.n_symbols();
  const Eigen::VectorXd pi = stationary_distribution(p);

  // Grow level by level; refuse as soon as the count passes the limit.
  std::vector<Eigen::RowVectorXd> beliefs = {pi.transpose()};
  MspTree t;
  t.depth = opt.depth;
  t.parent = {-1};
  t.symbol = {-1};
  t.probability = {1.0};
  t.level_start = {0, 1};
  Eigen::RowVectorXd v(s);
  for (int d = 1; d <= opt.depth; ++d) {
    const std::int64_t begin = t.level_start[static_cast<std::size_t>(d - 1)];
    const std::int64_t end = t.level_start[static_cast<std::size_t>(d)];
    for (std::int64_t n = begin; n < end; ++n) {
      for (int x = 0; x < a; ++x) {
        v.noalias() = beliefs[static_cast<std::size_t>(n)] * p.T[static_cast<std::size_t>(x)];
        const double z = v.sum();
        if (!(z > 0)) continue;
        if (t.n_nodes() >= opt.max_nodes)
          throw std::invalid_argument(
              "depth: the mixed-state tree of '" + p.name + "' to depth " +
              std::to_string(opt.depth) + " has more than " + std::to_string(opt.max_nodes) +
              " nodes (the limit; reached at depth " + std::to_string(d) + ", at most " +
              pow_text(a, opt.depth) + " paths of length " + std::to_string(opt.depth) +
              "); lower the depth or raise the node limit");
        t.parent.push_back(n);
        t.symbol.push_back(x);
        t.probability.push_back(t.probability[static_cast<std::size_t>(n)] * z);
        beliefs.push_back(v / z);
      }
    }
    t.level_start.push_back(t.n_nodes());
  }

  const std::int64_t nn = t.n_nodes();
  t.beliefs.resize(nn, s);
  for (std::int64_t n = 0; n < nn; ++n) t.beliefs.row(n) = beliefs[static_cast<std::size_t>(n)];
  beliefs.clear();

  std::map<std::vector<std::int64_t>, int> index;
  std::vector<std::int64_t> first;
  t.unique_index.resize(static_cast<std::size_t>(nn));
  for (std::int64_t n = 0; n < nn; ++n) {
    auto key = belief_key(t.beliefs.row(n));
    auto [it, added] = index.emplace(std::move(key), static_cast<int>(first.size()));
    if (added) first.push_back(n);
    t.unique_index[static_cast<std::size_t>(n)] = it->second;
  }
  t.unique_beliefs.resize(static_cast<Eigen::Index>(first.size()), s);
  for (std::size_t k = 0; k < first.size(); ++k) {
    const auto r = static_cast<Eigen::Index>(k);
    t.unique_beliefs.row(r) = t.beliefs.row(first[k]);
    const auto key = belief_key(t.unique_beliefs.row(r));
    int hot = -1, nonzero = 0;
    for (int i = 0; i < s; ++i)
      if (key[static_cast<std::size_t>(i)] != 0) {
        ++nonzero;
        hot = i;
      }
    if (nonzero == 1 && key[static_cast<std::size_t>(hot)] == 100000)
      t.unique_names.push_back("State " + p.state_names[static_cast<std::size_t>(hot)]);
    else
      t.unique_names.push_back("belief " + std::to_string(k));
  }
  return t;
}

MspInputs msp_inputs(const MspTree& tree, int length) {
  if (length < 1 || length > tree.depth)
    throw std::invalid_argument("length: must be in [1, " + std::to_string(tree.depth) +
                                "] (the tree's depth), got " + std::to_string(length));
  const std::int64_t begin = tree.level_start[static_cast<std::size_t>(length)];
  const std::int64_t end = tree.level_start[static_cast<std::size_t>(length) + 1];
  const std::int64_t n = end - begin;
  const Eigen::Index s = tree.beliefs.cols();
  MspInputs in;
  in.tokens.resize(n, length);
  in.belief_indices.resize(n, length);
  in.beliefs.resize(static_cast<std::size_t>(n * length * s));
  in.probability.resize(static_cast<std::size_t>(n));
  for (std::int64_t r = 0; r < n; ++r) {
    const std::int64_t leaf = begin + r;
    in.probability[static_cast<std::size_t>(r)] = tree.probability[static_cast<std::size_t>(leaf)];
    std::int64_t node = leaf;
    for (int t = length - 1; t >= 0; --t) {
      in.tokens(r, t) = tree.symbol[static_cast<std::size_t>(node)];
      in.belief_indices(r, t) = tree.unique_index[static_cast<std::size_t>(node)];
      double* dst = in.beliefs.data() + (r * length + t) * s;
      for (Eigen::Index i = 0; i < s; ++i) dst[i] = tree.beliefs(node, i);
      node = tree.parent[static_cast<std::size_t>(node)];
    }
  }
  return in;
}

BayesLoss bayes_optimal_loss(const Process& p, const MspTree& tree, int n_ctx) {
  if (n_ctx < 1 || n_ctx > tree.depth)
    throw std::invalid_argument("n_ctx: must be in [1, " + std::to_string(tree.depth) +
                                "] (the tree's depth), got " + std::to_string(n_ctx));
  BayesLoss out;
  out.per_context.assign(static_cast<std::size_t>(n_ctx) + 1, 0.0);
  const int a = p.n_symbols();
  Eigen::VectorXd emit(a);
  std::vector<Eigen::VectorXd> row_sums;  // T[x] 1
  for (const auto& t : p.T) row_sums.push_back(t.rowwise().sum());
  for (int k = 0; k <= n_ctx; ++k) {
    double h = 0;
    for (std::int64_t n = tree.level_start[static_cast<std::size_t>(k)];
         n < tree.level_start[static_cast<std::size_t>(k) + 1]; ++n) {
      double hn = 0;
      for (int x = 0; x < a; ++x) {
        const double q = tree.beliefs.row(n).dot(row_sums[static_cast<std::size_t>(x)]);
        if (q > 0) hn -= q * std::log(q);
      }
      h += tree.probability[static_cast<std::size_t>(n)] * hn;
    }
    out.per_context[static_cast<std::size_t>(k)] = h;
  }
  double sum = 0;
  for (int k = 1; k <= n_ctx; ++k) sum += out.per_context[static_cast<std::size_t>(k)];
  out.mean = sum / n_ctx;
  return out;
}

}  // namespace actlens::core
