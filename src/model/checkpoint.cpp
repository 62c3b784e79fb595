#include "actlens/model/checkpoint.hpp"

#include <cstring>

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/pickler.h>

#include "actlens/error.hpp"
#include "actlens/io/atomic_file.hpp"
#include "actlens/io/hf_folder.hpp"
#include "actlens/io/safetensors.hpp"
#include "actlens/io/torch_file.hpp"

namespace actlens::model {
namespace fs = std::filesystem;
namespace {

torch::ScalarType scalar_type(io::DType t) {
  switch (t) {
    case io::DType::F64:
      return torch::kFloat64;
    case io::DType::F32:
      return torch::kFloat32;
    case io::DType::F16:
      return torch::kFloat16;
    case io::DType::BF16:
      return torch::kBFloat16;
    case io::DType::I64:
      return torch::kInt64;
    case io::DType::I32:
      return torch::kInt32;
    case io::DType::I16:
      return torch::kInt16;
    case io::DType::I8:
      return torch::kInt8;
    case io::DType::U8:
      return torch::kUInt8;
    case io::DType::Bool:
      return torch::kBool;
  }
  throw Error("unsupported dtype");
}

void read_safetensors(const fs::path& file, Checkpoint& ck) {
  const auto st = io::SafetensorsFile::open(file);
  for (const auto& key : st.keys()) ck.tensors[key] = to_tensor(st.read(key));
  ck.files.push_back(file);
}

void read_torch_bin(const fs::path& file, Checkpoint& ck) {
  const auto tf = io::TorchFile::open(file);
  const auto& root = tf.root();
  if (!root || !root->is<io::pickle::Dict>())
    throw Error(file.string() + ": expected a state dict (name -> tensor), found " +
                (root ? root->type_name() : std::string("nothing")));
  for (const auto& [k, v] : root->as<io::pickle::Dict>().items) {
    if (!k || !k->is<std::string>()) continue;
    const auto& name = k->as<std::string>();
    if (!v || !v->is<io::pickle::Tensor>()) continue;  // e.g. _metadata entries
    ck.tensors[name] = to_tensor(tf.read(v->as<io::pickle::Tensor>()));
  }
  ck.files.push_back(file);
}

// What torch::pickle_save writes (torch.save's zip format), less the TorchScript type tag on the
// dict (torch.jit._pickle.restore_type_tag) that Python's torch.load(weights_only=True) refuses.
std::vector<char> torch_save_bytes(const c10::Dict<std::string, at::Tensor>& sd) {
  std::vector<char> pickle;
  torch::jit::Pickler pickler(
      [&](const char* p, std::size_t n) { pickle.insert(pickle.end(), p, p + n); }, nullptr,
      nullptr, nullptr, nullptr, /*tag_aggregates=*/false);
  pickler.protocol();
  pickler.pushIValue(c10::IValue(sd));
  pickler.stop();
  std::vector<char> out;
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* p, std::size_t n) {
    const char* c = static_cast<const char*>(p);
    out.insert(out.end(), c, c + n);
    return n;
  });
  writer.writeRecord("data.pkl", pickle.data(), pickle.size());
  // The pickler names storages by their index in tensorData(): archive/data/<i>.
  const auto& tensors = pickler.tensorData();
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const auto td = torch::jit::getWriteableTensorData(tensors[i]);
    writer.writeRecord("data/" + std::to_string(i), td.data(), td.sizeInBytes());
  }
  writer.writeEndOfFile();
  return out;
}

}  // namespace

torch::Tensor to_tensor(const io::Array& a) {
  torch::Tensor t = torch::empty(a.shape, torch::TensorOptions().dtype(scalar_type(a.dtype)));
  if (!a.data.empty()) std::memcpy(t.data_ptr(), a.data.data(), a.data.size());
  return t;
}

std::map<std::string, torch::Tensor> load_state_dict_file(const fs::path& file) {
  Checkpoint ck;
  file.extension() == ".safetensors" ? read_safetensors(file, ck) : read_torch_bin(file, ck);
  return std::move(ck.tensors);
}

void save_state_dict_file(const fs::path& file,
                          const std::vector<std::pair<std::string, torch::Tensor>>& tensors) {
  c10::Dict<std::string, at::Tensor> sd;  // insertion-ordered, as Python's state_dict()
  for (const auto& [name, t] : tensors)
    sd.insert(name, t.detach().to(torch::kCPU).contiguous().clone());
  const std::vector<char> bytes = torch_save_bytes(sd);
  io::write_file_atomic(file, std::string_view(bytes.data(), bytes.size()));
}

Checkpoint load_hf_checkpoint(const fs::path& dir) {
  io::require_hf_folder(dir, "model");
  const io::HfWeights w = io::hf_weights(dir);
  Checkpoint ck;
  for (const auto& file : w.files) {
    // Checked here, not by hf_weights: readers of a single tensor do not need every shard.
    if (!w.index.empty() && !fs::exists(file))
      throw Error(file.string() + ": shard named by " + w.index.filename().string() +
                  " is missing");
    w.safetensors ? read_safetensors(file, ck) : read_torch_bin(file, ck);
  }
  return ck;
}

}  // namespace actlens::model
