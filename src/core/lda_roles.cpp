#include "actlens/core/lda_roles.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <string>

namespace actlens::core {

RoleProjection project_roles(const RowMatrixXf& vectors, const FittedScaler& scaler,
                             const RowMatrixXd& components) {
  if (vectors.rows() > 0 && vectors.cols() != components.cols())
    throw std::invalid_argument("project_roles: role vectors have width " +
                                std::to_string(vectors.cols()) + ", components " +
                                std::to_string(components.cols()));
  RoleProjection out;
  out.scaled = vectors.cast<double>();
  scaler.transform(out.scaled);
  out.norms.resize(out.scaled.rows());
  for (Eigen::Index r = 0; r < out.scaled.rows(); ++r) out.norms[r] = out.scaled.row(r).norm();
  out.projections = out.scaled * components.transpose();
  return out;
}

std::vector<ComponentExtremes> extreme_rows(const RowMatrixXd& projections, std::size_t count) {
  std::vector<ComponentExtremes> out(static_cast<std::size_t>(projections.cols()));
  const auto n = static_cast<std::size_t>(projections.rows());
  const std::size_t m = std::min(count, n);
  for (Eigen::Index i = 0; i < projections.cols(); ++i) {
    std::vector<Eigen::Index> order(n);
    std::iota(order.begin(), order.end(), Eigen::Index{0});
    std::stable_sort(order.begin(), order.end(), [&](Eigen::Index a, Eigen::Index b) {
      return projections(a, i) < projections(b, i);
    });
    auto& e = out[static_cast<std::size_t>(i)];
    for (std::size_t t = 0; t < m; ++t) {
      e.lowest.push_back(order[t]);
      e.highest.push_back(order[n - 1 - t]);
    }
  }
  return out;
}

RowMatrixXd component_cosines(const RowMatrixXd& components, const RowMatrixXd& pcs) {
  if (components.cols() != pcs.cols())
    throw std::invalid_argument("component_cosines: components have width " +
                                std::to_string(components.cols()) + ", pcs " +
                                std::to_string(pcs.cols()));
  RowMatrixXd out(components.rows(), pcs.rows());
  for (Eigen::Index i = 0; i < components.rows(); ++i)
    for (Eigen::Index p = 0; p < pcs.rows(); ++p) {
      const double nrm = pcs.row(p).norm();
      out(i, p) = nrm > 0 ? components.row(i).dot(pcs.row(p)) / nrm : 0.0;
    }
  return out;
}

}  // namespace actlens::core
