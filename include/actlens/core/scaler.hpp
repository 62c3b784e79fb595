#pragma once
// Feature scalers of the LDA seed, fitted on all samples: none, mean (x - mu), l2mean
// ((x - mu) / max(||x - mu||, 1e-12), per row) and standard ((x - mu) / sigma with the population
// sigma, ddof = 0, zero-variance features left unscaled: sklearn StandardScaler).
#include <string>

#include <Eigen/Core>

namespace actlens::core {

enum class ScalerKind { None, Mean, L2Mean, Standard };

// "none" | "mean" | "l2mean" | "standard"; throws std::invalid_argument otherwise.
ScalerKind parse_scaler(const std::string& name);
std::string scaler_name(ScalerKind kind);

struct FittedScaler {
  ScalerKind kind = ScalerKind::None;
  Eigen::VectorXd mean;   // [d]; zeros for None
  Eigen::VectorXd scale;  // [d]; ones unless Standard

  // Applies the scaler to each row of `x` ([n, d], row-major) in place.
  void transform(
      Eigen::Ref<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> x) const;
  // True when the scaler is affine per feature (everything but l2mean): then scatter matrices of
  // scaled data follow from those of the raw data without a second pass.
  bool is_affine() const { return kind != ScalerKind::L2Mean; }
};

// Fits from the sample count, the feature means and the centred sums of squares (diagonal of
// the total scatter), all from one streaming pass.
FittedScaler fit_scaler(ScalerKind kind, double n, const Eigen::VectorXd& mean,
                        const Eigen::VectorXd& centered_sum_squares);

}  // namespace actlens::core
