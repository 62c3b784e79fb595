#include "actlens/core/scatter.hpp"

#include <stdexcept>
#include <string>

#include "lapack.hpp"

namespace actlens::core {

ScatterAccumulator::ScatterAccumulator(Eigen::Index dim, Eigen::Index n_classes,
                                       Precision precision)
    : dim_(dim),
      precision_(precision),
      shift_(Eigen::VectorXd::Zero(dim)),
      sum_(Eigen::VectorXd::Zero(dim)),
      class_sums_(RowMatrixXd::Zero(n_classes, dim)),
      class_counts_(static_cast<std::size_t>(n_classes), 0),
      gram_(Eigen::MatrixXd::Zero(dim, dim)) {
  if (dim <= 0) throw std::invalid_argument("dim must be positive");
  if (n_classes <= 0) throw std::invalid_argument("n_classes must be positive");
}

void ScatterAccumulator::add(const Eigen::Ref<const RowMatrixXf>& x,
                             std::span<const int> class_ids) {
  if (x.cols() != dim_)
    throw std::invalid_argument("chunk has " + std::to_string(x.cols()) + " columns, expected " +
                                std::to_string(dim_));
  if (precision_ == Precision::Mixed) return add_mixed(x, class_ids);
  buffer_ = x.cast<double>();
  add_shifted(buffer_, class_ids);
}

void ScatterAccumulator::add_mixed(const Eigen::Ref<const RowMatrixXf>& x,
                                   std::span<const int> class_ids) {
  const Eigen::Index n = x.rows();
  if (static_cast<std::size_t>(n) != class_ids.size())
    throw std::invalid_argument("class_ids has " + std::to_string(class_ids.size()) +
                                " entries for " + std::to_string(n) + " rows");
  if (n == 0) return;
  if (!has_shift_) {
    // The first chunk's mean, rounded to float32, keeps the float32 products well centred.
    shift_ = x.cast<double>().colwise().mean().transpose().cast<float>().cast<double>();
    has_shift_ = true;
  }
  const Eigen::RowVectorXf shift_f = shift_.transpose().cast<float>();
  constexpr Eigen::Index kBlock = 1024;
  gram_f_.resize(dim_, dim_);
  for (Eigen::Index b = 0; b < n; b += kBlock) {
    const Eigen::Index m = std::min(kBlock, n - b);
    buffer_f_ = x.middleRows(b, m).rowwise() - shift_f;
    lapack::ssyrk_lower(buffer_f_.data(), lapack::to_int(dim_), lapack::to_int(m), gram_f_.data());
    gram_.triangularView<Eigen::Lower>() += gram_f_.cast<double>();
  }
  buffer_ = x.cast<double>().rowwise() - shift_.transpose();
  add_class_sums(buffer_, class_ids);
}

void ScatterAccumulator::add(const Eigen::Ref<const RowMatrixXd>& x,
                             std::span<const int> class_ids) {
  if (x.cols() != dim_)
    throw std::invalid_argument("chunk has " + std::to_string(x.cols()) + " columns, expected " +
                                std::to_string(dim_));
  buffer_ = x;
  add_shifted(buffer_, class_ids);
}

void ScatterAccumulator::add_shifted(RowMatrixXd& rows, std::span<const int> class_ids) {
  const Eigen::Index n = rows.rows();
  if (static_cast<std::size_t>(n) != class_ids.size())
    throw std::invalid_argument("class_ids has " + std::to_string(class_ids.size()) +
                                " entries for " + std::to_string(n) + " rows");
  if (n == 0) return;
  if (!has_shift_) {
    shift_ = rows.row(0).transpose();
    has_shift_ = true;
  }
  rows.rowwise() -= shift_.transpose();
  add_class_sums(rows, class_ids);
  // The O(n d^2) part: one BLAS rank-k update of the lower triangle.
  lapack::syrk_lower_add(rows.data(), lapack::to_int(dim_), lapack::to_int(n), gram_.data());
}

void ScatterAccumulator::add_class_sums(const RowMatrixXd& rows, std::span<const int> class_ids) {
  const Eigen::Index n = rows.rows();
  const auto n_classes = static_cast<int>(class_counts_.size());
  for (Eigen::Index i = 0; i < n; ++i) {
    const int c = class_ids[static_cast<std::size_t>(i)];
    if (c < 0 || c >= n_classes)
      throw std::invalid_argument("class id " + std::to_string(c) + " out of range [0, " +
                                  std::to_string(n_classes) + ")");
    class_sums_.row(c) += rows.row(i);
    ++class_counts_[static_cast<std::size_t>(c)];
  }
  sum_ += rows.colwise().sum().transpose();
  n_ += n;
}

void ScatterAccumulator::merge(const ScatterAccumulator& other) {
  if (other.dim_ != dim_ || other.class_counts_.size() != class_counts_.size())
    throw std::invalid_argument("cannot merge accumulators of different shapes");
  if (other.n_ == 0) return;
  if (n_ == 0) {
    *this = other;
    return;
  }
  // Re-express the other's sums about our shift: x - s1 = (x - s2) + delta.
  const Eigen::VectorXd delta = other.shift_ - shift_;
  const auto n2 = static_cast<double>(other.n_);
  Eigen::MatrixXd g2 = other.gram_.selfadjointView<Eigen::Lower>();
  g2 += other.sum_ * delta.transpose() + delta * other.sum_.transpose() +
        n2 * delta * delta.transpose();
  gram_.triangularView<Eigen::Lower>() += g2;
  sum_ += other.sum_ + n2 * delta;
  for (std::size_t c = 0; c < class_counts_.size(); ++c) {
    const auto nc = static_cast<double>(other.class_counts_[c]);
    class_sums_.row(static_cast<Eigen::Index>(c)) +=
        other.class_sums_.row(static_cast<Eigen::Index>(c)) + nc * delta.transpose();
    class_counts_[c] += other.class_counts_[c];
  }
  n_ += other.n_;
}

ScatterStats ScatterAccumulator::finalize() const {
  if (n_ == 0) throw std::invalid_argument("no samples were accumulated");
  ScatterStats s;
  s.n = n_;
  s.class_counts = class_counts_;
  const Eigen::VectorXd centre = sum_ / static_cast<double>(n_);  // mean - shift
  s.mean = shift_ + centre;
  s.class_means = class_sums_;
  for (Eigen::Index c = 0; c < class_sums_.rows(); ++c) {
    const auto nc = class_counts_[static_cast<std::size_t>(c)];
    if (nc > 0) s.class_means.row(c) = shift_.transpose() + class_sums_.row(c) / double(nc);
    else s.class_means.row(c) = s.mean.transpose();
  }
  // S_T = sum (x - s)(x - s)^T - n (mean - s)(mean - s)^T
  s.total_scatter = gram_.selfadjointView<Eigen::Lower>();
  s.total_scatter.noalias() -= static_cast<double>(n_) * centre * centre.transpose();
  return s;
}

ScatterStats scale_stats(const ScatterStats& raw, const Eigen::VectorXd& mean,
                         const Eigen::VectorXd& scale) {
  ScatterStats s = raw;
  const Eigen::ArrayXd inv = scale.array().inverse();
  s.mean = ((raw.mean - mean).array() * inv).matrix();
  s.class_means = raw.class_means;
  s.class_means.rowwise() -= mean.transpose();
  s.class_means.array().rowwise() *= inv.transpose();
  s.total_scatter = inv.matrix().asDiagonal() * raw.total_scatter * inv.matrix().asDiagonal();
  return s;
}

}  // namespace actlens::core
