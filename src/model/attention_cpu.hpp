#pragma once
// Causal self-attention for float32 on the CPU, one fused pass per (sequence, head): scores,
// mask, softmax and the weighted sum of values stay in cache, q/k/v are read in place from the
// fused qkv projection and z is written in place, so none of the [B, H, T, T] temporaries and
// transposed copies of the tensor-op formulation are made (they cost more than the products).
// Same arithmetic as Hugging Face's eager attention: softmax(q k^T * scale + mask) v, masked
// keys get probability exactly 0.
#include <torch/torch.h>

namespace actlens::model {

// qkv: [B, T, 3d] contiguous float32 CPU (q | k | v, heads of width d / n_head side by side);
// key_mask: [B, T] bool, true for real tokens. Query i attends to keys j <= i with key_mask.
// Returns z: [B, T, d] (heads side by side). When `pattern` is non-null it receives the
// probabilities [B, H, T, T].
torch::Tensor causal_attention_cpu(const torch::Tensor& qkv, const torch::Tensor& key_mask,
                                   std::int64_t n_head, float scale, torch::Tensor* pattern);

}  // namespace actlens::model
