#pragma once
// y = x @ W + b, the one matrix product every layer of the models here is made of.
// float32 on CPU goes to oneDNN's sgemm when the build has it (about 1.7x the GFLOP/s of the
// OpenBLAS behind Debian's LibTorch on AVX-512); everything else (CUDA, bf16/fp16) is
// torch::addmm.
#include <torch/torch.h>

namespace actlens::model {

// x: [..., in]; w: [in, out] (Hugging Face Conv1D layout); b: [out] or undefined.
// Returns [..., out] in x's dtype and device.
torch::Tensor affine(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b);

// residual + x @ W + b in one pass over the output (the residual stream's add fused into the
// product). residual: [..., out] like the result.
torch::Tensor affine_add(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b,
                         const torch::Tensor& residual);

// True when float32 CPU products use oneDNN (for run.json and the benchmark notes).
bool affine_uses_onednn();

}  // namespace actlens::model
