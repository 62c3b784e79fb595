#pragma once
// Hidden Markov processes as labelled transition tensors (seed belief-geometry-steering):
// T[x](i, j) = P(emit symbol x, go to state j | in state i). Built-ins (RRXOR, Mess3, Z1R,
// Golden Mean, Even) and processes given as already-parsed definitions (io/process_json.hpp reads
// them from JSON). Stationary distribution, entropy rate and seeded sampling.
// Errors: std::invalid_argument naming the parameter (core layer: no I/O, no logging).
#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>

namespace actlens::core {

// A process whose tensors are validated: every T[x] is [n_states, n_states], entries are finite
// and >= 0, and every row of sum_x T[x] sums to 1 within 1e-9.
struct Process {
  std::string name;
  std::vector<std::string> state_names;   // [n_states]
  std::vector<std::string> symbol_names;  // [n_symbols]
  std::vector<Eigen::MatrixXd> T;         // [n_symbols] of [n_states, n_states]

  int n_states() const { return static_cast<int>(state_names.size()); }
  int n_symbols() const { return static_cast<int>(symbol_names.size()); }
  // sum_x T[x]: the state-to-state transition matrix, [n_states, n_states], rows sum to 1.
  Eigen::MatrixXd transition_matrix() const;
  // True when every (state, symbol) leads to at most one next state (the presentation is
  // unifilar: the state is a function of the previous state and the symbol).
  bool is_unifilar() const;
};

// A process as written by a user: T[x][i][j] as nested vectors. State / symbol names may be
// empty (they default to "0", "1", ...).
struct ProcessDefinition {
  std::string name;
  std::vector<std::string> state_names, symbol_names;
  std::vector<std::vector<std::vector<double>>> transitions;  // [n_symbols][n_states][n_states]
};

// Validates `def` and builds the process. Throws std::invalid_argument naming the offending
// entry: "transitions[x][i][j]", "transitions[x]" (shape), "row i of sum_x T[x]" (sum), or
// "state_names" / "symbol_names" (count, duplicates).
Process make_process(const ProcessDefinition& def);

// Parameters of the built-ins (those that have any).
struct BuiltinParams {
  double x = 0.15;     // mess3
  double alpha = 0.6;  // mess3
  double p = 0.5;      // z1r (P(0) in state R), golden_mean and even (P(0) in A)
};

// The built-in names: rrxor, mess3, z1r, golden_mean (alias golden-mean), even.
const std::vector<std::string>& builtin_process_names();
// Throws std::invalid_argument("process: unknown '<name>'; built-ins: ...") or naming the
// parameter out of range (x in [0, 0.5], alpha in [0, 1], p in [0, 1]).
Process builtin_process(const std::string& name, const BuiltinParams& params = {});

// RRXOR: states S, 0, 1, T, F; S emits a fair bit b1 -> state b1; state b1 emits a fair bit b2 ->
// T if b1 xor b2 = 1 else F; T emits 1 -> S; F emits 0 -> S. Stationary (1/3, 1/6 x 4).
Process rrxor();
// Mess3 (Marzen & Crutchfield; epsilon-transformers' tensor): states A, B, C, symbols 0, 1, 2;
// with b = (1 - alpha) / 2, y = 1 - 2x: T[0] = [[ay, bx, bx], [ax, by, bx], [ax, bx, by]],
// T[1] = [[by, ax, bx], [bx, ay, bx], [bx, ax, by]], T[2] = [[by, bx, ax], [bx, by, ax],
// [bx, bx, ay]] (ay = alpha*y etc.).
Process mess3(double x = 0.15, double alpha = 0.6);
// Zero-one-random: states 0, 1, R; 0 emits 0 -> 1; 1 emits 1 -> R; R emits 0 (p) or 1 (1-p) -> 0.
Process z1r(double p = 0.5);
// Golden mean (no two consecutive 1s; epsilon-transformers' GoldenMean at p = 0.5): A emits 0 (p)
// -> A or 1 (1-p) -> B; B emits 0 -> A.
Process golden_mean(double p = 0.5);
// Even process (1s come in even blocks): A emits 0 (p) -> A or 1 (1-p) -> B; B emits 1 -> A.
Process even_process(double p = 0.5);

// The stationary distribution pi = pi * sum_x T[x], sum(pi) = 1 (a least-squares solve of the
// stacked system [M^T - I; 1^T] pi = [0; 1] by column-pivoting QR). Throws std::invalid_argument
// ("process: ...") when it is not unique (a reducible chain).
Eigen::VectorXd stationary_distribution(const Process& p);

// Entropy rate in nats. For a unifilar presentation it is exact: sum_i pi_i H(P(x | i)).
// Otherwise (e.g. Mess3) it is the upper bound H(X_{k+1} | X_1..X_k) at k = `depth`, from the
// mixed-state presentation (exact = false), refusing trees over `max_nodes` as build_msp does.
struct EntropyRate {
  double nats = 0;
  bool exact = true;
  int depth = 0;  // k of the bound when !exact
};
EntropyRate entropy_rate(const Process& p, int depth = 10, std::int64_t max_nodes = 5'000'000);

// `n` sequences of `length` symbols, each starting in a state drawn from the stationary
// distribution. Deterministic for a seed: one std::mt19937_64(seed); each draw takes one 64-bit
// word u, uses (u >> 11) * 2^-53 in [0, 1), and picks the first category whose cumulative
// probability exceeds it (the start state over pi; then each step over the pairs (x, j) of the
// current row in the order x = 0.., j = 0..). Returns [n, length] symbols, row-major.
using SymbolMatrix = Eigen::Matrix<std::int64_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
SymbolMatrix sample_sequences(const Process& p, std::int64_t n, int length, std::uint64_t seed);

}  // namespace actlens::core
