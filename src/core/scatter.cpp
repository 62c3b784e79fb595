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
  if (n_ == 0) {  // the state only: precision and buffers stay ours
    n_ = other.n_;
    has_shift_ = other.has_shift_;
    shift_ = other.shift_;
    class_sums_ = other.class_sums_;
    class_counts_ = other.class_counts_;
    gram_ = other.gram_;
    return;
  }
  const auto n1 = static_cast<double>(n_), n2 = static_cast<double>(other.n_), n = n1 + n2;
  const Eigen::VectorXd c1 = total_sum() / n1, c2 = other.total_sum() / n2;  // mean - shift
  const Eigen::VectorXd delta = (other.shift_ + c2) - (shift_ + c1);         // m2 - m1
  const Eigen::VectorXd mean = shift_ + c1 + (n2 / n) * delta;
  // The new shift is the merged mean (float32-representable for the mixed path, as add's).
  Eigen::VectorXd shift = mean;
  if (precision_ == Precision::Mixed) shift = mean.cast<float>().cast<double>();
  const Eigen::VectorXd e = mean - shift;  // zero, or float32 rounding for the mixed path
  // Lower triangles, in place (no d x d temporaries: d reaches 4,608):
  // M = (G1 - n1 c1 c1^T) + (G2 - n2 c2 c2^T) + (n1 n2 / n) delta delta^T, about the mean, then
  // + n e e^T about the new shift. Each bracket is one side's own centred scatter.
  auto lower = gram_.selfadjointView<Eigen::Lower>();
  lower.rankUpdate(c1, -n1);
  gram_.triangularView<Eigen::Lower>() += other.gram_;
  lower.rankUpdate(c2, -n2);
  lower.rankUpdate(delta, n1 * n2 / n);
  if (e.squaredNorm() > 0) lower.rankUpdate(e, n);
  // Class sums about the new shift: sum (x - s) = sum (x - s_old) + n_c (s_old - s).
  const Eigen::RowVectorXd to1 = (shift_ - shift).transpose();
  const Eigen::RowVectorXd to2 = (other.shift_ - shift).transpose();
  for (std::size_t c = 0; c < class_counts_.size(); ++c) {
    const auto row = static_cast<Eigen::Index>(c);
    const auto nc1 = static_cast<double>(class_counts_[c]);
    const auto nc2 = static_cast<double>(other.class_counts_[c]);
    class_sums_.row(row) += nc1 * to1 + other.class_sums_.row(row) + nc2 * to2;
    class_counts_[c] += other.class_counts_[c];
  }
  shift_ = shift;
  n_ += other.n_;
}

ScatterState ScatterAccumulator::state() const {
  ScatterState s;
  s.n = n_;
  s.class_counts = class_counts_;
  s.shift = has_shift_ ? shift_ : Eigen::VectorXd::Zero(dim_);
  s.class_sums = class_sums_;
  s.gram = gram_.selfadjointView<Eigen::Lower>();
  return s;
}

ScatterAccumulator ScatterAccumulator::from_state(const ScatterState& state, Precision precision) {
  const auto d = state.shift.size();
  const auto c = static_cast<Eigen::Index>(state.class_counts.size());
  if (d <= 0 || c <= 0 || state.class_sums.rows() != c || state.class_sums.cols() != d ||
      state.gram.rows() != d || state.gram.cols() != d)
    throw std::invalid_argument("scatter state has inconsistent shapes");
  std::int64_t total = 0;
  for (auto k : state.class_counts) {
    if (k < 0) throw std::invalid_argument("scatter state has a negative class count");
    total += k;
  }
  if (state.n < 0 || total != state.n)
    throw std::invalid_argument("scatter state: class counts sum to " + std::to_string(total) +
                                ", not n = " + std::to_string(state.n));
  ScatterAccumulator acc(d, c, precision);
  if (state.n == 0) return acc;
  acc.n_ = state.n;
  acc.has_shift_ = true;
  acc.shift_ = state.shift;
  acc.class_sums_ = state.class_sums;
  acc.class_counts_ = state.class_counts;
  acc.gram_ = state.gram;  // only the lower triangle is read from here on
  return acc;
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
