#include "actlens/model/affine.hpp"

#ifdef ACTLENS_HAVE_DNNL
#include <dnnl.h>
#endif

#include <cstring>

#include "actlens/error.hpp"

namespace actlens::model {

bool affine_uses_onednn() {
#ifdef ACTLENS_HAVE_DNNL
  return true;
#else
  return false;
#endif
}

namespace {

// y = start + x @ w through oneDNN, where `prefill(dst, rows)` writes `start` into y ([rows,
// out]) and returns true (false: start from zero). An undefined tensor when this build or these
// tensors cannot take that path (the callers then use LibTorch).
template <class Prefill>
torch::Tensor sgemm_onto(const torch::Tensor& x, const torch::Tensor& w, Prefill prefill) {
#ifdef ACTLENS_HAVE_DNNL
  if (!(x.device().is_cpu() && x.scalar_type() == torch::kFloat32 &&
        w.scalar_type() == torch::kFloat32 && w.is_contiguous()))
    return {};
  const std::int64_t in = w.size(0), out = w.size(1);
  auto out_shape = x.sizes().vec();
  out_shape.back() = out;
  const torch::Tensor x2 = x.reshape({-1, in}).contiguous();
  const std::int64_t rows = x2.size(0);
  torch::Tensor y = torch::empty({rows, out}, x.options());
  const float beta = prefill(y.data_ptr<float>(), rows) ? 1.f : 0.f;
  if (rows > 0) {
    const dnnl_status_t st = dnnl_sgemm('N', 'N', rows, out, in, 1.f, x2.data_ptr<float>(), in,
                                        w.data_ptr<float>(), out, beta, y.data_ptr<float>(), out);
    if (st != dnnl_success)
      throw Error("oneDNN sgemm failed (status " + std::to_string(static_cast<int>(st)) + ")");
  }
  return y.view(out_shape);
#else
  (void)x;
  (void)w;
  (void)prefill;
  return {};
#endif
}

}  // namespace

torch::Tensor affine_add(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b,
                         const torch::Tensor& residual) {
  const std::int64_t out = w.size(1);
  if (residual.scalar_type() == torch::kFloat32 && b.defined()) {
    const torch::Tensor r = residual.contiguous();
    const torch::Tensor bc = b.contiguous();
    torch::Tensor y = sgemm_onto(x, w, [&](float* dst, std::int64_t rows) {
      const float* res = r.data_ptr<float>();
      const float* bias = bc.data_ptr<float>();
#pragma omp parallel for schedule(static)
      for (std::int64_t i = 0; i < rows; ++i)
        for (std::int64_t j = 0; j < out; ++j) dst[i * out + j] = res[i * out + j] + bias[j];
      return true;
    });
    if (y.defined()) return y;
  }
  return residual + affine(x, w, b);
}

torch::Tensor affine(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  const std::int64_t in = w.size(0), out = w.size(1);
  const torch::Tensor bc = b.defined() ? b.contiguous() : b;
  torch::Tensor y = sgemm_onto(x, w, [&](float* dst, std::int64_t rows) {
    if (!bc.defined()) return false;
    // Start from the bias in every row and let the product accumulate onto it (beta = 1).
    const float* src = bc.data_ptr<float>();
#pragma omp parallel for schedule(static)
    for (std::int64_t r = 0; r < rows; ++r)
      std::memcpy(dst + r * out, src, static_cast<std::size_t>(out) * sizeof(float));
    return true;
  });
  if (y.defined()) return y;
  auto out_shape = x.sizes().vec();
  out_shape.back() = out;
  const torch::Tensor x2 = x.reshape({-1, in});
  y = b.defined() ? torch::addmm(b, x2, w) : torch::mm(x2, w);
  return y.view(out_shape);
}

}  // namespace actlens::model
