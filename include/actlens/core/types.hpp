#pragma once
// The matrix types every layer shares. Rows are samples: activations arrive row by row from the
// files (C order), so row-major storage lets a chunk be read straight into a matrix.
#include <Eigen/Core>

namespace actlens::core {

using RowMatrixXd = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowMatrixXf = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

}  // namespace actlens::core
