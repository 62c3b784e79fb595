#pragma once
// Taking a model's weights out of a loaded state dict, one checked tensor at a time: every model
// loader (GPT-2, HookedTransformer) refuses a missing, misshapen, non-float or non-finite weight
// with the same one-line messages, naming the checkpoint file and the weight.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace actlens::model {

class WeightTaker {
 public:
  struct Options {
    // Tried as alias_prefix + name when `name` itself is absent (GPT2LMHeadModel checkpoints
    // prefix every key with "transformer."); empty: only the exact name.
    std::string alias_prefix;
    // Appended to the NaN/Inf message, e.g. "; the checkpoint is corrupt".
    std::string nonfinite_hint;
  };

  // `tensors`: the state dict (name -> tensor), which take() empties as it goes, so that what is
  // left afterwards (rest()) is what the model did not use. `file` names the checkpoint in every
  // message.
  WeightTaker(std::map<std::string, torch::Tensor>& tensors, std::string file, Options options);

  // Removes and returns the weight `name` as stored (dtype and device unchanged; the caller
  // converts). `shape` is what config.json implies. Throws actlens::Error:
  //   "<file>: missing weight '<name>' (expected shape [a, b] from config.json)"
  //   "<file>: weight '<name>' has shape [a, b] but config.json implies [c, d]"
  //   "<file>: weight '<name>' is not a floating-point tensor"
  //   "<file>: weight '<name>' holds NaN or Inf" + nonfinite_hint
  torch::Tensor take(const std::string& name, const std::vector<std::int64_t>& shape);

  // The weights not taken yet.
  const std::map<std::string, torch::Tensor>& rest() const { return tensors_; }
  const std::string& file() const { return file_; }

 private:
  std::map<std::string, torch::Tensor>& tensors_;
  std::string file_;
  Options options_;
};

}  // namespace actlens::model
