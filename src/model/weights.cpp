#include "actlens/model/weights.hpp"

#include <utility>

#include "actlens/error.hpp"
#include "actlens/io/shape.hpp"

namespace actlens::model {

WeightTaker::WeightTaker(std::map<std::string, torch::Tensor>& tensors, std::string file,
                         Options options)
    : tensors_(tensors), file_(std::move(file)), options_(std::move(options)) {}

torch::Tensor WeightTaker::take(const std::string& name, const std::vector<std::int64_t>& shape) {
  auto it = tensors_.find(name);
  if (it == tensors_.end() && !options_.alias_prefix.empty())
    it = tensors_.find(options_.alias_prefix + name);
  if (it == tensors_.end())
    throw Error(file_ + ": missing weight '" + name + "' (expected shape " + io::shape_str(shape) +
                " from config.json)");
  torch::Tensor t = std::move(it->second);
  tensors_.erase(it);
  if (!t.sizes().equals(shape))
    throw Error(file_ + ": weight '" + name + "' has shape " + io::shape_str(t.sizes().vec()) +
                " but config.json implies " + io::shape_str(shape));
  if (!t.is_floating_point())
    throw Error(file_ + ": weight '" + name + "' is not a floating-point tensor");
  if (!torch::isfinite(t).all().item<bool>())
    throw Error(file_ + ": weight '" + name + "' holds NaN or Inf" + options_.nonfinite_hint);
  return t;
}

}  // namespace actlens::model
