#include "actlens/core/signs.hpp"

namespace actlens::core {

void normalize_signs(RowMatrixXd& rows) {
  for (Eigen::Index i = 0; i < rows.rows(); ++i) {
    Eigen::Index j = 0;
    rows.row(i).cwiseAbs().maxCoeff(&j);
    if (rows(i, j) < 0) rows.row(i) *= -1.0;
  }
}

}  // namespace actlens::core
