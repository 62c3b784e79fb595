#pragma once
// The mixed-state presentation (MSP) of a hidden Markov process: the tree of all paths with
// non-zero probability, from the stationary distribution, with the Bayesian belief over hidden
// states after each path (eta' = eta T[x] / (eta T[x] 1)); its unique beliefs (rounded to 5
// decimals, as the seed's tuple(round(b, 5))) in a canonical order; the transformer inputs (all
// paths of one length) with per-position beliefs; the exact Bayes-optimal next-token loss.
#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "actlens/core/process.hpp"
#include "actlens/core/types.hpp"

namespace actlens::core {

struct MspOptions {
  int depth = 11;                      // paths of lengths 0..depth
  std::int64_t max_nodes = 5'000'000;  // refuse bigger trees (counted exactly, level by level)
};

// Nodes in breadth-first order: level by level, children of a node in increasing symbol order,
// so node 0 is the empty path and nodes of depth d are [level_start[d], level_start[d+1]).
struct MspTree {
  int depth = 0;
  std::vector<std::int64_t> parent;       // [n_nodes], -1 for the root
  std::vector<int> symbol;                // [n_nodes], last symbol of the path, -1 for the root
  std::vector<double> probability;        // [n_nodes], P(path) under the stationary process
  RowMatrixXd beliefs;                    // [n_nodes, n_states]
  std::vector<std::int64_t> level_start;  // [depth + 2]

  // Unique beliefs: two beliefs are the same when llround(1e5 * b_i) agree for every i (the
  // seed's round(b, 5) but for exact decimal ties). Index k = order of first appearance in the
  // breadth-first order above; the stored vector is that first node's exact belief.
  std::vector<int> unique_index;          // [n_nodes] -> index into unique_beliefs
  RowMatrixXd unique_beliefs;             // [n_unique, n_states]
  std::vector<std::string> unique_names;  // "State <name>" for one-hot beliefs, else "belief k"

  std::int64_t n_nodes() const { return static_cast<std::int64_t>(parent.size()); }
  std::int64_t n_unique() const { return unique_beliefs.rows(); }
  int path_depth(std::int64_t node) const;
  std::vector<int> path(std::int64_t node) const;  // symbols from the first to the last
};

// Throws std::invalid_argument naming "depth" (negative, or a tree over max_nodes: the message
// gives the count reached and the bound |symbols|^depth) or "max_nodes".
MspTree build_msp(const Process& p, const MspOptions& opt);

// The transformer inputs: every path of exactly `length` symbols (tree nodes of that depth, in
// tree order), with the belief after each prefix: position t holds the belief after x_1..x_{t+1}.
struct MspInputs {
  SymbolMatrix tokens;              // [n_inputs, length]
  std::vector<double> beliefs;      // [n_inputs, length, n_states], C order
  SymbolMatrix belief_indices;      // [n_inputs, length], into tree.unique_beliefs
  std::vector<double> probability;  // [n_inputs]
};
// Throws std::invalid_argument("length: ...") unless 1 <= length <= tree.depth.
MspInputs msp_inputs(const MspTree& tree, int length);

// The Bayes-optimal next-token cross-entropy, in nats. per_context[k] = H(X_{k+1} | X_1..X_k) =
// E_{paths of length k}[-log P(x_{k+1} | x_1..x_k)] under the stationary process, for
// k = 0..n_ctx (k = 0 is H(X_1)); mean = the mean of per_context[1..n_ctx], the loss of a model
// that reads n_ctx tokens and predicts the next after each of them (targets x_2..x_{n_ctx+1}).
struct BayesLoss {
  std::vector<double> per_context;  // [n_ctx + 1]
  double mean = 0;
};
// Throws std::invalid_argument("n_ctx: ...") unless 1 <= n_ctx <= tree.depth.
BayesLoss bayes_optimal_loss(const Process& p, const MspTree& tree, int n_ctx);

}  // namespace actlens::core
