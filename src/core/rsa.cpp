#include "actlens/core/rsa.hpp"

#include <cmath>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>

namespace actlens::core {

RowMatrixXd cosine_matrix(const Eigen::Ref<const RowMatrixXd>& e) {
  RowMatrixXd en = e;
  for (Eigen::Index i = 0; i < en.rows(); ++i) {
    const double norm = en.row(i).norm();
    if (!(norm > 0) || !std::isfinite(norm))
      throw std::invalid_argument("row " + std::to_string(i) +
                                  " has zero length: its cosine similarity is undefined");
    en.row(i) /= norm;
  }
  RowMatrixXd c(en.rows(), en.rows());
  c.noalias() = en * en.transpose();  // one GEMM (BLAS); the two triangles agree to rounding
  // Exact symmetry, as E E^T is symmetric in exact arithmetic: copy the upper triangle down.
  c.triangularView<Eigen::StrictlyLower>() = c.transpose();
  return c;
}

Eigen::VectorXd upper_triangle(const Eigen::Ref<const RowMatrixXd>& m) {
  const Eigen::Index n = m.rows();
  Eigen::VectorXd v(n * (n - 1) / 2);
  Eigen::Index k = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    v.segment(k, n - i - 1) = m.row(i).segment(i + 1, n - i - 1).transpose();
    k += n - i - 1;
  }
  return v;
}

CorrelationMethod parse_correlation_method(const std::string& name) {
  if (name == "pearson") return CorrelationMethod::Pearson;
  if (name == "spearman") return CorrelationMethod::Spearman;
  if (name == "kendall") return CorrelationMethod::Kendall;
  throw std::invalid_argument("correlation method '" + name +
                              "': use pearson, spearman or kendall");
}

const char* to_string(CorrelationMethod m) {
  switch (m) {
    case CorrelationMethod::Spearman:
      return "spearman";
    case CorrelationMethod::Kendall:
      return "kendall";
    case CorrelationMethod::Pearson:
      break;
  }
  return "pearson";
}

Correlation correlate(const Eigen::Ref<const Eigen::VectorXd>& x,
                      const Eigen::Ref<const Eigen::VectorXd>& y, CorrelationMethod method) {
  switch (method) {
    case CorrelationMethod::Spearman:
      return spearmanr(x, y);
    case CorrelationMethod::Kendall:
      return kendalltau(x, y);
    case CorrelationMethod::Pearson:
      break;
  }
  return pearsonr(x, y);
}

namespace {

// SplitMix64: a well-mixed 64-bit seed per permutation from (seed, k).
std::uint64_t splitmix(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Fisher-Yates with an unbiased bounded draw (Lemire's method), identical on every platform
// (std::uniform_int_distribution is implementation-defined).
void shuffle(std::vector<Eigen::Index>& v, std::mt19937_64& rng) {
  __extension__ using u128 = unsigned __int128;  // GCC/Clang: 64x64 -> 128-bit product
  for (std::size_t i = v.size(); i > 1; --i) {
    const std::uint64_t bound = i;
    u128 m = static_cast<u128>(rng()) * bound;
    if (static_cast<std::uint64_t>(m) < bound) {
      const std::uint64_t threshold = (0 - bound) % bound;
      while (static_cast<std::uint64_t>(m) < threshold) m = static_cast<u128>(rng()) * bound;
    }
    std::swap(v[i - 1], v[static_cast<std::size_t>(m >> 64)]);
  }
}

}  // namespace

RsaScore rsa(const Eigen::Ref<const RowMatrixXd>& a, const Eigen::Ref<const RowMatrixXd>& b,
             CorrelationMethod method, std::int64_t permutations, std::uint64_t seed) {
  const Eigen::Index n = a.rows();
  if (a.cols() != n || b.rows() != n || b.cols() != n)
    throw std::invalid_argument(
        "rsa: the two similarity matrices must be square and of the same "
        "size (got " +
        std::to_string(a.rows()) + "x" + std::to_string(a.cols()) + " and " +
        std::to_string(b.rows()) + "x" + std::to_string(b.cols()) + ")");
  if (n < 3)
    throw std::invalid_argument("rsa: needs at least 3 items (got " + std::to_string(n) + ")");
  if (permutations < 0) throw std::invalid_argument("permutations must be >= 0");
  const Eigen::VectorXd ua = upper_triangle(a);
  RsaScore s;
  s.correlation = correlate(ua, upper_triangle(b), method);
  s.permutations = permutations;
  if (permutations == 0) return s;
  std::int64_t at_least = 0;
  const Eigen::Index m = ua.size();
#pragma omp parallel for schedule(dynamic, 8) reduction(+ : at_least)
  for (std::int64_t k = 0; k < permutations; ++k) {
    std::mt19937_64 rng(splitmix(seed ^ splitmix(static_cast<std::uint64_t>(k))));
    std::vector<Eigen::Index> perm(static_cast<std::size_t>(n));
    std::iota(perm.begin(), perm.end(), Eigen::Index{0});
    shuffle(perm, rng);
    Eigen::VectorXd ub(m);
    Eigen::Index t = 0;
    for (Eigen::Index i = 0; i < n; ++i)
      for (Eigen::Index j = i + 1; j < n; ++j)
        ub[t++] = b(perm[static_cast<std::size_t>(i)], perm[static_cast<std::size_t>(j)]);
    double r = 0;
    try {
      r = correlate(ua, ub, method).r;
    } catch (const std::invalid_argument&) {
      r = 0;  // cannot happen for a permutation of a non-constant vector; be safe in OpenMP
    }
    if (r >= s.correlation.r) ++at_least;
  }
  s.permutation_p = static_cast<double>(1 + at_least) / static_cast<double>(1 + permutations);
  return s;
}

Selectivity selectivity_index(const Eigen::Ref<const RowMatrixXd>& c,
                              const std::vector<int>& group) {
  const Eigen::Index n = c.rows();
  if (c.cols() != n || static_cast<Eigen::Index>(group.size()) != n)
    throw std::invalid_argument("selectivity: " + std::to_string(group.size()) +
                                " group labels for a " + std::to_string(n) + "x" +
                                std::to_string(c.cols()) + " matrix");
  int g_count = 0;
  for (const int g : group) {
    if (g < 0) throw std::invalid_argument("selectivity: negative group index");
    g_count = std::max(g_count, g + 1);
  }
  if (g_count < 2)
    throw std::invalid_argument("selectivity: needs at least two groups (got " +
                                std::to_string(g_count) + ")");
  RowMatrixXd sum = RowMatrixXd::Zero(g_count, g_count);
  Eigen::MatrixXd count = Eigen::MatrixXd::Zero(g_count, g_count);
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index j = i + 1; j < n; ++j) {
      int ga = group[static_cast<std::size_t>(i)], gb = group[static_cast<std::size_t>(j)];
      if (ga > gb) std::swap(ga, gb);
      sum(ga, gb) += c(i, j);
      count(ga, gb) += 1;
    }
  Selectivity s;
  s.within.resize(g_count);
  s.between = RowMatrixXd::Zero(g_count, g_count);
  for (int a = 0; a < g_count; ++a) {
    if (count(a, a) == 0)
      throw std::invalid_argument("selectivity: group " + std::to_string(a) +
                                  " has fewer than two items, so no within-group pair");
    s.within[a] = sum(a, a) / count(a, a);
    s.between(a, a) = s.within[a];
    for (int b = a + 1; b < g_count; ++b) {
      if (count(a, b) == 0)
        throw std::invalid_argument("selectivity: group " + std::to_string(b) + " is empty");
      s.between(a, b) = s.between(b, a) = sum(a, b) / count(a, b);
    }
  }
  s.numerator = s.within.mean();
  double den = 0;
  for (int a = 0; a < g_count; ++a)
    for (int b = a + 1; b < g_count; ++b) den += s.between(a, b);
  s.denominator = den / (g_count * (g_count - 1) / 2.0);
  s.index = s.numerator / s.denominator;
  return s;
}

}  // namespace actlens::core
