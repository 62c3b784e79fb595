#pragma once
// Role vectors seen through a fitted LDA, as the role-activation seed's plot_pc shows them: each
// role's mean activation (from the pipeline's pca file) scaled like the activations were and
// projected on the LDA components, the roles at either end of each component, and how each
// component lines up with the pca file's own principal components.
#include <cstddef>
#include <vector>

#include <Eigen/Core>

#include "actlens/core/scaler.hpp"
#include "actlens/core/scatter.hpp"

namespace actlens::core {

struct RoleProjection {
  RowMatrixXd scaled;       // [n, d] the role vectors after the scaler
  Eigen::VectorXd norms;    // [n] |scaled row r|; with unit components, projections(r, i) /
                            // norms[r] is the cosine of role r with component i
  RowMatrixXd projections;  // [n, k] scaled * components^T
};

// vectors: [n, d] role vectors (float32, as the pca file stores them), widened to float64;
// scaler: the one fitted on the activations the LDA saw (the seed applies it to the role vectors
// too); components: [k, d] LDA components (LdaResult::components). Throws std::invalid_argument
// when the widths differ.
RoleProjection project_roles(const RowMatrixXf& vectors, const FittedScaler& scaler,
                             const RowMatrixXd& components);

// The rows at either end of one column of a projection matrix.
struct ComponentExtremes {
  std::vector<Eigen::Index> lowest;   // [m] rows with the smallest values, smallest first
  std::vector<Eigen::Index> highest;  // [m] rows with the largest values, largest first
};

// For each column i of projections [n, k]: the m = min(count, n) lowest and highest rows. Ties
// keep row order in the ascending order (a stable sort): among equal values the lower row comes
// first in `lowest` and last in `highest`. With 2m > n the two lists share rows.
std::vector<ComponentExtremes> extreme_rows(const RowMatrixXd& projections, std::size_t count);

// [k, p]: components.row(i) . pcs.row(j) / |pcs.row(j)|, 0 where pcs.row(j) is zero: the cosine
// of each unit-norm component [k, d] with each principal component [p, d]. Throws
// std::invalid_argument when the widths differ.
RowMatrixXd component_cosines(const RowMatrixXd& components, const RowMatrixXd& pcs);

}  // namespace actlens::core
