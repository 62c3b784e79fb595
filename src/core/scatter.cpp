#include "actlens/core/scatter.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "lapack.hpp"

namespace actlens::core {

ScatterAccumulator::ScatterAccumulator(Eigen::Index dim, Eigen::Index n_classes,
                                       Precision precision)
    : dim_(dim),
      precision_(precision),
      shift_(Eigen::VectorXd::Zero(dim)),
      class_sums_(RowMatrixXd::Zero(n_classes, dim)),
      class_counts_(static_cast<std::size_t>(n_classes), 0),
      gram_(Eigen::MatrixXd::Zero(dim, dim)) {
  if (dim <= 0) throw std::invalid_argument("dim must be positive");
  if (n_classes <= 0) throw std::invalid_argument("n_classes must be positive");
}

namespace {

// out = x - shift (widened, then stored as Out's scalar) and class_sums[c] += x - shift in
// float64, in one pass. Threads split the columns, so no two threads touch the same class-sum
// entry; each thread walks all rows of its column block.
template <class In, class Out>
void centre_rows(const In& x, const Eigen::VectorXd& shift, Out& out, RowMatrixXd& class_sums,
                 std::span<const int> ids) {
  using Scalar = typename Out::Scalar;
  const Eigen::Index n = x.rows(), d = x.cols();
  out.resize(n, d);
  constexpr Eigen::Index kCols = 128;
  const Eigen::Index blocks = (d + kCols - 1) / kCols;
#pragma omp parallel for schedule(static)
  for (Eigen::Index b = 0; b < blocks; ++b) {
    const Eigen::Index j0 = b * kCols, j1 = std::min(d, j0 + kCols);
    for (Eigen::Index i = 0; i < n; ++i) {
      double* sums = class_sums.row(ids[static_cast<std::size_t>(i)]).data();
      const auto* in = x.row(i).data();
      Scalar* o = out.row(i).data();
      for (Eigen::Index j = j0; j < j1; ++j) {
        const double v = static_cast<double>(in[j]) - shift[j];
        o[j] = static_cast<Scalar>(v);
        sums[j] += v;
      }
    }
  }
}

template <class In>
Eigen::VectorXd chunk_mean(const In& x) {
  Eigen::VectorXd mean = Eigen::VectorXd::Zero(x.cols());
  for (Eigen::Index i = 0; i < x.rows(); ++i) mean += x.row(i).template cast<double>().transpose();
  return mean / static_cast<double>(x.rows());
}

}  // namespace

void ScatterAccumulator::check_chunk(Eigen::Index rows, Eigen::Index cols,
                                     std::span<const int> class_ids) const {
  if (cols != dim_)
    throw std::invalid_argument("chunk has " + std::to_string(cols) + " columns, expected " +
                                std::to_string(dim_));
  if (static_cast<std::size_t>(rows) != class_ids.size())
    throw std::invalid_argument("class_ids has " + std::to_string(class_ids.size()) +
                                " entries for " + std::to_string(rows) + " rows");
  const auto n_classes = static_cast<int>(class_counts_.size());
  for (int c : class_ids)
    if (c < 0 || c >= n_classes)
      throw std::invalid_argument("class id " + std::to_string(c) + " out of range [0, " +
                                  std::to_string(n_classes) + ")");
}

void ScatterAccumulator::count(std::span<const int> class_ids) {
  for (int c : class_ids) ++class_counts_[static_cast<std::size_t>(c)];
  n_ += static_cast<std::int64_t>(class_ids.size());
}

void ScatterAccumulator::add(const Eigen::Ref<const RowMatrixXf>& x,
                             std::span<const int> class_ids) {
  check_chunk(x.rows(), x.cols(), class_ids);
  if (x.rows() == 0) return;
  if (!has_shift_) {
    // The first chunk's mean (float32-representable for the mixed path) keeps the products
    // well centred, so the final correction n (mean - shift)(mean - shift)^T is small.
    shift_ = chunk_mean(x).cast<float>().cast<double>();
    has_shift_ = true;
  }
  if (precision_ == Precision::Float64) {
    centre_rows(x, shift_, buffer_, class_sums_, class_ids);
    // The O(n d^2) part: one BLAS rank-k update of the lower triangle.
    lapack::syrk_lower_add(buffer_.data(), lapack::to_int(dim_), lapack::to_int(x.rows()),
                           gram_.data());
  } else {
    centre_rows(x, shift_, buffer_f_, class_sums_, class_ids);
    constexpr Eigen::Index kBlock = 1024;  // float32 sums stay short; each block adds in float64
    gram_f_.resize(dim_, dim_);
    for (Eigen::Index b = 0; b < x.rows(); b += kBlock) {
      const Eigen::Index m = std::min(kBlock, x.rows() - b);
      lapack::ssyrk_lower(buffer_f_.row(b).data(), lapack::to_int(dim_), lapack::to_int(m),
                          gram_f_.data());
      gram_.triangularView<Eigen::Lower>() += gram_f_.cast<double>();
    }
  }
  count(class_ids);
}

void ScatterAccumulator::add(const Eigen::Ref<const RowMatrixXd>& x,
                             std::span<const int> class_ids) {
  check_chunk(x.rows(), x.cols(), class_ids);
  if (x.rows() == 0) return;
  if (precision_ == Precision::Mixed) {
    const RowMatrixXf xf = x.cast<float>();
    add(xf, class_ids);
    return;
  }
  if (!has_shift_) {
    shift_ = chunk_mean(x);
    has_shift_ = true;
  }
  centre_rows(x, shift_, buffer_, class_sums_, class_ids);
  lapack::syrk_lower_add(buffer_.data(), lapack::to_int(dim_), lapack::to_int(x.rows()),
                         gram_.data());
  count(class_ids);
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
  const Eigen::VectorXd sum2 = other.total_sum();
  Eigen::MatrixXd g2 = other.gram_.selfadjointView<Eigen::Lower>();
  g2 += sum2 * delta.transpose() + delta * sum2.transpose() + n2 * delta * delta.transpose();
  gram_.triangularView<Eigen::Lower>() += g2;
  for (std::size_t c = 0; c < class_counts_.size(); ++c) {
    const auto nc = static_cast<double>(other.class_counts_[c]);
    class_sums_.row(static_cast<Eigen::Index>(c)) +=
        other.class_sums_.row(static_cast<Eigen::Index>(c)) + nc * delta.transpose();
    class_counts_[c] += other.class_counts_[c];
  }
  n_ += other.n_;
}

Eigen::VectorXd ScatterAccumulator::total_sum() const {
  // Every row belongs to a class, so the class sums add up to the total (C x d, cheap).
  return class_sums_.colwise().sum().transpose();
}

ScatterStats ScatterAccumulator::finalize() const {
  if (n_ == 0) throw std::invalid_argument("no samples were accumulated");
  ScatterStats s;
  s.n = n_;
  s.class_counts = class_counts_;
  const Eigen::VectorXd centre = total_sum() / static_cast<double>(n_);  // mean - shift
  s.mean = shift_ + centre;
  s.class_means = class_sums_;
  for (Eigen::Index c = 0; c < class_sums_.rows(); ++c) {
    const auto nc = class_counts_[static_cast<std::size_t>(c)];
    if (nc > 0)
      s.class_means.row(c) = shift_.transpose() + class_sums_.row(c) / double(nc);
    else
      s.class_means.row(c) = s.mean.transpose();
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
