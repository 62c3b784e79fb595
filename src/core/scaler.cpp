#include "actlens/core/scaler.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

namespace actlens::core {

ScalerKind parse_scaler(const std::string& name) {
  if (name == "none") return ScalerKind::None;
  if (name == "mean") return ScalerKind::Mean;
  if (name == "l2mean") return ScalerKind::L2Mean;
  if (name == "standard") return ScalerKind::Standard;
  throw std::invalid_argument("scaler '" + name + "' is not one of none, mean, l2mean, standard");
}

std::string scaler_name(ScalerKind kind) {
  switch (kind) {
    case ScalerKind::None:
      return "none";
    case ScalerKind::Mean:
      return "mean";
    case ScalerKind::L2Mean:
      return "l2mean";
    case ScalerKind::Standard:
      return "standard";
  }
  return "none";
}

FittedScaler fit_scaler(ScalerKind kind, double n, const Eigen::VectorXd& mean,
                        const Eigen::VectorXd& centered_sum_squares) {
  if (n <= 0) throw std::invalid_argument("cannot fit a scaler on zero samples");
  FittedScaler s;
  s.kind = kind;
  const Eigen::Index d = mean.size();
  s.mean = kind == ScalerKind::None ? Eigen::VectorXd::Zero(d) : mean;
  s.scale = Eigen::VectorXd::Ones(d);
  if (kind == ScalerKind::Standard) {
    // sklearn: population variance; a feature is constant when its variance is within rounding
    // of zero (sklearn.utils.extmath._is_constant_feature), and then keeps scale 1.
    const double eps = std::numeric_limits<double>::epsilon();
    for (Eigen::Index j = 0; j < d; ++j) {
      const double var = centered_sum_squares[j] / n;
      const double upper = n * eps * var + (n * mean[j] * eps) * (n * mean[j] * eps);
      const double sd = std::sqrt(var);
      s.scale[j] = (var <= upper || sd < 10 * eps) ? 1.0 : sd;
    }
  }
  return s;
}

void FittedScaler::transform(
    Eigen::Ref<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> x) const {
  if (kind == ScalerKind::None) return;
  if (x.cols() != mean.size())
    throw std::invalid_argument("scaler was fitted on " + std::to_string(mean.size()) +
                                " features but got " + std::to_string(x.cols()));
  x.rowwise() -= mean.transpose();
  if (kind == ScalerKind::Standard) {
    x.array().rowwise() /= scale.transpose().array();
  } else if (kind == ScalerKind::L2Mean) {
    for (Eigen::Index i = 0; i < x.rows(); ++i) x.row(i) /= std::max(x.row(i).norm(), 1e-12);
  }
}

}  // namespace actlens::core
