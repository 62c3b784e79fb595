#pragma once
// The weights of a Hugging Face model folder as LibTorch tensors, read with actlens's own
// readers: model.safetensors, pytorch_model.bin (torch.save zip, through the safe pickle reader:
// nothing in it is executed), or a sharded checkpoint (*.index.json naming the shard of each
// weight). Tensors keep the stored dtype and live on the CPU.
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "actlens/io/array.hpp"

namespace actlens::model {

struct Checkpoint {
  std::vector<std::filesystem::path> files;  // the weight files read
  std::map<std::string, torch::Tensor> tensors;
};

// Reads the weight files io::hf_weights resolves (the first of model.safetensors,
// model.safetensors.index.json, pytorch_model.bin, pytorch_model.bin.index.json; every shard of
// an index, in its order). Throws actlens::Error naming the folder when it is not one or holds no
// weights (and what was looked for), or naming the file when one is missing or unreadable.
Checkpoint load_hf_checkpoint(const std::filesystem::path& dir);

// One weight file as name -> tensor: `.safetensors` by its extension, anything else as a
// torch.save zip (a state dict; non-tensor entries are skipped). Throws naming the file.
std::map<std::string, torch::Tensor> load_state_dict_file(const std::filesystem::path& file);

// Writes `tensors` (in this order) as torch.save(state_dict) does: a zip that Python's
// torch.load reads with weights_only=True and load_state_dict_file reads back. Atomic; tensors
// are copied to the CPU. (torch::pickle_save's output is neither: it tags the dict for
// TorchScript.) Throws actlens::Error naming the file.
void save_state_dict_file(const std::filesystem::path& file,
                          const std::vector<std::pair<std::string, torch::Tensor>>& tensors);

// A CPU tensor holding a copy of `a` (same dtype and shape). Throws for dtypes LibTorch lacks.
torch::Tensor to_tensor(const io::Array& a);

}  // namespace actlens::model
