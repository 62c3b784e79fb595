#include "attention_cpu.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <Eigen/Core>

namespace actlens::model {

torch::Tensor causal_attention_cpu(const torch::Tensor& qkv, const torch::Tensor& key_mask,
                                   std::int64_t n_head, float scale, torch::Tensor* pattern) {
  using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using CMap = Eigen::Map<const RowMat, 0, Eigen::OuterStride<>>;
  using MMap = Eigen::Map<RowMat, 0, Eigen::OuterStride<>>;
  const std::int64_t B = qkv.size(0), T = qkv.size(1), d = qkv.size(2) / 3, H = n_head;
  const std::int64_t dh = d / H;
  const torch::Tensor mask = key_mask.to(torch::kBool).contiguous();
  torch::Tensor z = torch::empty({B, T, d}, qkv.options());
  if (pattern) *pattern = torch::empty({B, H, T, T}, qkv.options());
  const float* src = qkv.data_ptr<float>();
  const bool* m = mask.data_ptr<bool>();
  float* out = z.data_ptr<float>();
  float* pat = pattern ? pattern->data_ptr<float>() : nullptr;

#pragma omp parallel
  {
    RowMat s(T, T);
#pragma omp for schedule(static)
    for (std::int64_t bh = 0; bh < B * H; ++bh) {
      const std::int64_t b = bh / H, h = bh % H;
      const float* base = src + b * T * 3 * d + h * dh;
      const CMap q(base, T, dh, Eigen::OuterStride<>(3 * d));
      const CMap k(base + d, T, dh, Eigen::OuterStride<>(3 * d));
      const CMap v(base + 2 * d, T, dh, Eigen::OuterStride<>(3 * d));
      s.noalias() = q * k.transpose();  // [T, T]
      const bool* mb = m + b * T;
      for (std::int64_t i = 0; i < T; ++i) {
        float* row = s.row(i).data();
        float mx = -std::numeric_limits<float>::infinity();
        for (std::int64_t j = 0; j <= i; ++j)
          if (mb[j]) mx = std::max(mx, row[j] * scale);
        if (mx == -std::numeric_limits<float>::infinity()) {
          // No key to attend to (not possible with right padding): Hugging Face's softmax of
          // all-equal masked scores is uniform over the row.
          std::fill(row, row + T, 1.0f / static_cast<float>(T));
          continue;
        }
        // exp over keys 0..i at once (Eigen vectorizes it), then masked keys and j > i are 0.
        auto seg = s.row(i).head(i + 1).array();
        seg = (seg * scale - mx).exp();
        for (std::int64_t j = 0; j <= i; ++j)
          if (!mb[j]) row[j] = 0.f;
        std::fill(row + i + 1, row + T, 0.f);
        seg /= seg.sum();
      }
      MMap zo(out + b * T * d + h * dh, T, dh, Eigen::OuterStride<>(d));
      zo.noalias() = s * v;  // [T, dh]
      if (pat) std::copy(s.data(), s.data() + T * T, pat + bh * T * T);
    }
  }
  return z;
}

}  // namespace actlens::model
