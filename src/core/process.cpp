// Hidden Markov processes: built-ins, validation, stationary distribution, entropy rate, sampling.
#include "actlens/core/process.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <set>
#include <stdexcept>

#include <Eigen/Dense>

#include "actlens/core/msp.hpp"

namespace actlens::core {

namespace {

constexpr double kRowTolerance = 1e-9;

std::vector<std::string> index_names(int n) {
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i) names.push_back(std::to_string(i));
  return names;
}

void check_names(const std::vector<std::string>& names, const char* what) {
  std::set<std::string> seen;
  for (const auto& s : names)
    if (!seen.insert(s).second)
      throw std::invalid_argument(std::string(what) + ": '" + s + "' appears twice");
}

void check_probability(double v, const char* what) {
  if (!(v >= 0.0 && v <= 1.0))
    throw std::invalid_argument(std::string(what) + ": must be in [0, 1], got " +
                                std::to_string(v));
}

// Builds a definition from dense tensors given as rows.
ProcessDefinition definition(std::string name, std::vector<std::string> states,
                             std::vector<std::string> symbols) {
  ProcessDefinition d;
  d.name = std::move(name);
  d.state_names = std::move(states);
  d.symbol_names = std::move(symbols);
  const std::size_t s = d.state_names.size();
  d.transitions.assign(d.symbol_names.size(),
                       std::vector<std::vector<double>>(s, std::vector<double>(s, 0.0)));
  return d;
}

double entropy_nats(const double* p, int n) {
  double h = 0;
  for (int i = 0; i < n; ++i)
    if (p[i] > 0) h -= p[i] * std::log(p[i]);
  return h;
}

}  // namespace

Eigen::MatrixXd Process::transition_matrix() const {
  Eigen::MatrixXd m = Eigen::MatrixXd::Zero(n_states(), n_states());
  for (const auto& t : T) m += t;
  return m;
}

bool Process::is_unifilar() const {
  for (const auto& t : T)
    for (Eigen::Index i = 0; i < t.rows(); ++i) {
      int nonzero = 0;
      for (Eigen::Index j = 0; j < t.cols(); ++j) nonzero += t(i, j) > 0 ? 1 : 0;
      if (nonzero > 1) return false;
    }
  return true;
}

Process make_process(const ProcessDefinition& def) {
  const auto n_symbols = def.transitions.size();
  if (n_symbols == 0) throw std::invalid_argument("transitions: at least one symbol is needed");
  const auto n_states = def.transitions[0].size();
  if (n_states == 0) throw std::invalid_argument("transitions[0]: at least one state is needed");
  Process p;
  p.name = def.name;
  p.state_names =
      def.state_names.empty() ? index_names(static_cast<int>(n_states)) : def.state_names;
  p.symbol_names =
      def.symbol_names.empty() ? index_names(static_cast<int>(n_symbols)) : def.symbol_names;
  if (p.state_names.size() != n_states)
    throw std::invalid_argument("state_names: " + std::to_string(p.state_names.size()) +
                                " names for " + std::to_string(n_states) + " states");
  if (p.symbol_names.size() != n_symbols)
    throw std::invalid_argument("symbol_names: " + std::to_string(p.symbol_names.size()) +
                                " names for " + std::to_string(n_symbols) + " symbols");
  check_names(p.state_names, "state_names");
  check_names(p.symbol_names, "symbol_names");
  const auto ns = static_cast<Eigen::Index>(n_states);
  for (std::size_t x = 0; x < n_symbols; ++x) {
    const auto& rows = def.transitions[x];
    const std::string key = "transitions[" + std::to_string(x) + "]";
    if (rows.size() != n_states)
      throw std::invalid_argument(key + ": " + std::to_string(rows.size()) + " rows, expected " +
                                  std::to_string(n_states) + " (one per state)");
    Eigen::MatrixXd t(ns, ns);
    for (std::size_t i = 0; i < n_states; ++i) {
      if (rows[i].size() != n_states)
        throw std::invalid_argument(key + "[" + std::to_string(i) +
                                    "]: " + std::to_string(rows[i].size()) + " entries, expected " +
                                    std::to_string(n_states));
      for (std::size_t j = 0; j < n_states; ++j) {
        const double v = rows[i][j];
        if (!std::isfinite(v) || v < 0)
          throw std::invalid_argument(key + "[" + std::to_string(i) + "][" + std::to_string(j) +
                                      "]: probabilities must be finite and >= 0, got " +
                                      std::to_string(v));
        t(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = v;
      }
    }
    p.T.push_back(std::move(t));
  }
  const Eigen::MatrixXd m = p.transition_matrix();
  for (Eigen::Index i = 0; i < ns; ++i) {
    const double s = m.row(i).sum();
    if (std::abs(s - 1.0) > kRowTolerance) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.12g", s);
      throw std::invalid_argument(
          "row " + std::to_string(i) + " (state '" + p.state_names[static_cast<std::size_t>(i)] +
          "') of sum_x transitions[x] sums to " + buf + ", not 1 (tolerance 1e-9)");
    }
  }
  return p;
}

const std::vector<std::string>& builtin_process_names() {
  static const std::vector<std::string> names = {"rrxor", "mess3", "z1r", "golden_mean", "even"};
  return names;
}

Process builtin_process(const std::string& name, const BuiltinParams& params) {
  if (name == "rrxor") return rrxor();
  if (name == "mess3") return mess3(params.x, params.alpha);
  if (name == "z1r") return z1r(params.p);
  if (name == "golden_mean" || name == "golden-mean") return golden_mean(params.p);
  if (name == "even") return even_process(params.p);
  std::string known;
  for (const auto& n : builtin_process_names()) known += (known.empty() ? "" : ", ") + n;
  throw std::invalid_argument("process: unknown '" + name + "'; built-ins: " + known +
                              " (or a JSON file)");
}

Process rrxor() {
  auto d = definition("rrxor", {"S", "0", "1", "T", "F"}, {"0", "1"});
  enum { S, Z, O, Tr, F };
  auto& t = d.transitions;
  t[0][S][Z] = 0.5;
  t[1][S][O] = 0.5;
  t[0][Z][F] = 0.5;  // 0 xor 0 = 0
  t[1][Z][Tr] = 0.5;
  t[0][O][Tr] = 0.5;
  t[1][O][F] = 0.5;
  t[1][Tr][S] = 1.0;
  t[0][F][S] = 1.0;
  return make_process(d);
}

Process mess3(double x, double alpha) {
  if (!(x >= 0.0 && x <= 0.5))
    throw std::invalid_argument("x: must be in [0, 0.5], got " + std::to_string(x));
  check_probability(alpha, "alpha");
  auto d = definition("mess3", {"A", "B", "C"}, {"0", "1", "2"});
  const double b = (1 - alpha) / 2, y = 1 - 2 * x;
  const double ay = alpha * y, bx = b * x, by = b * y, ax = alpha * x;
  d.transitions[0] = {{ay, bx, bx}, {ax, by, bx}, {ax, bx, by}};
  d.transitions[1] = {{by, ax, bx}, {bx, ay, bx}, {bx, ax, by}};
  d.transitions[2] = {{by, bx, ax}, {bx, by, ax}, {bx, bx, ay}};
  return make_process(d);
}

Process z1r(double p) {
  check_probability(p, "p");
  auto d = definition("z1r", {"0", "1", "R"}, {"0", "1"});
  d.transitions[0][0][1] = 1.0;
  d.transitions[1][1][2] = 1.0;
  d.transitions[0][2][0] = p;
  d.transitions[1][2][0] = 1 - p;
  return make_process(d);
}

Process golden_mean(double p) {
  check_probability(p, "p");
  auto d = definition("golden_mean", {"A", "B"}, {"0", "1"});
  d.transitions[0][0][0] = p;
  d.transitions[1][0][1] = 1 - p;
  d.transitions[0][1][0] = 1.0;
  return make_process(d);
}

Process even_process(double p) {
  check_probability(p, "p");
  auto d = definition("even", {"A", "B"}, {"0", "1"});
  d.transitions[0][0][0] = p;
  d.transitions[1][0][1] = 1 - p;
  d.transitions[1][1][0] = 1.0;
  return make_process(d);
}

Eigen::VectorXd stationary_distribution(const Process& p) {
  const Eigen::Index n = p.n_states();
  Eigen::MatrixXd a(n + 1, n);
  a.topRows(n) = p.transition_matrix().transpose() - Eigen::MatrixXd::Identity(n, n);
  a.row(n).setOnes();
  Eigen::VectorXd b = Eigen::VectorXd::Zero(n + 1);
  b[n] = 1.0;
  Eigen::ColPivHouseholderQR<Eigen::MatrixXd> qr(a);
  qr.setThreshold(1e-10);
  if (qr.rank() < n)
    throw std::invalid_argument("process: the stationary distribution of '" + p.name +
                                "' is not unique (its chain is reducible)");
  Eigen::VectorXd pi = qr.solve(b);
  for (Eigen::Index i = 0; i < n; ++i) pi[i] = std::max(pi[i], 0.0);
  return pi / pi.sum();
}

EntropyRate entropy_rate(const Process& p, int depth, std::int64_t max_nodes) {
  EntropyRate r;
  if (p.is_unifilar()) {
    const Eigen::VectorXd pi = stationary_distribution(p);
    std::vector<double> row;
    for (int i = 0; i < p.n_states(); ++i) {
      row.clear();
      for (const auto& t : p.T)
        for (Eigen::Index j = 0; j < t.cols(); ++j) row.push_back(t(i, j));
      r.nats += pi[i] * entropy_nats(row.data(), static_cast<int>(row.size()));
    }
    return r;
  }
  if (depth < 0) throw std::invalid_argument("depth: must be >= 0");
  const MspTree tree = build_msp(p, {std::max(depth, 1), max_nodes});
  const BayesLoss loss = bayes_optimal_loss(p, tree, std::max(depth, 1));
  r.nats = loss.per_context[static_cast<std::size_t>(depth)];
  r.exact = false;
  r.depth = depth;
  return r;
}

SymbolMatrix sample_sequences(const Process& p, std::int64_t n, int length, std::uint64_t seed) {
  if (n < 0) throw std::invalid_argument("n: must be >= 0");
  if (length < 0) throw std::invalid_argument("length: must be >= 0");
  const Eigen::VectorXd pi = stationary_distribution(p);
  std::mt19937_64 rng(seed);
  auto uniform = [&rng] { return static_cast<double>(rng() >> 11) * 0x1.0p-53; };
  const int s = p.n_states(), a = p.n_symbols();
  SymbolMatrix out(n, length);
  for (std::int64_t r = 0; r < n; ++r) {
    double u = uniform(), c = 0;
    int state = s - 1;
    for (int i = 0; i < s; ++i) {
      c += pi[i];
      if (u < c) {
        state = i;
        break;
      }
    }
    for (int t = 0; t < length; ++t) {
      u = uniform();
      c = 0;
      int sym = -1, next = -1, last_sym = -1, last_next = -1;
      for (int x = 0; x < a && sym < 0; ++x)
        for (int j = 0; j < s; ++j) {
          const double q = p.T[static_cast<std::size_t>(x)](state, j);
          if (q <= 0) continue;
          last_sym = x;
          last_next = j;
          c += q;
          if (u < c) {
            sym = x;
            next = j;
            break;
          }
        }
      if (sym < 0) {  // rounding: the row sums to 1 - eps
        sym = last_sym;
        next = last_next;
      }
      out(r, t) = sym;
      state = next;
    }
  }
  return out;
}

}  // namespace actlens::core
