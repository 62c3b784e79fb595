#pragma once
// Loading helpers for the PCA / GED / stats fixtures (tests/reference/make_{pca,ged,stats}_
// fixtures.py) and the comparisons the tolerances call for.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "../unit/test_paths.hpp"
#include "actlens/core/types.hpp"
#include "actlens/io/npy.hpp"

namespace actlens::test {

inline core::RowMatrixXd load_matrix(const std::filesystem::path& p) {
  return io::to_double_matrix(io::read_npy(p), p.string());
}

inline Eigen::VectorXd load_vector(const std::filesystem::path& p) {
  const auto v = io::to_double_vector(io::read_npy(p));
  return Eigen::Map<const Eigen::VectorXd>(v.data(), static_cast<Eigen::Index>(v.size()));
}

// Row `l` of a [L, ...] array file, flattened: one layer's vector of a per-layer fixture.
inline Eigen::VectorXd load_row(const std::filesystem::path& p, Eigen::Index l) {
  const core::RowMatrixXd m = [&] {
    const io::Array a = io::read_npy(p);
    const auto v = io::to_double_vector(a);
    const Eigen::Index rows = a.shape.at(0);
    const Eigen::Index cols = static_cast<Eigen::Index>(v.size()) / rows;
    return core::RowMatrixXd(Eigen::Map<const core::RowMatrixXd>(v.data(), rows, cols));
  }();
  return m.row(l).transpose();
}

// |a - b| <= rel |b| (p-values: only where b > 1e-300, below which doubles lose precision).
inline bool close_rel(double a, double b, double rel) {
  return std::fabs(a - b) <= rel * std::fabs(b);
}

// Cosine of two vectors.
inline double cosine(const Eigen::VectorXd& a, const Eigen::VectorXd& b) {
  return a.dot(b) / (a.norm() * b.norm());
}

}  // namespace actlens::test
