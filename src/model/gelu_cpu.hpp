#pragma once
// gelu_new (tanh approximation) for float32 CPU tensors through libmvec's vector tanhf; LibTorch
// 1.13's own gelu was ~6x slower per core here and the largest cost after the products.
#include <torch/torch.h>

namespace actlens::model {

// Returns gelu_new(x), or an undefined tensor when the CPU has neither AVX-512 nor AVX2+FMA
// (the caller then uses torch::gelu).
torch::Tensor gelu_tanh_cpu(const torch::Tensor& x);

}  // namespace actlens::model
