// libFuzzer target: io::TorchFile (torch.save zip files: zip + data.pkl + lazily read storages).
// Feeds: the input as a .pt file; opens it, walks the object tree (bounded depth) and, for every
// tensor or numpy array, reads it whole (to_array / read) and reads the first row as float32.
// Tensors whose dense size passes 64 MiB are not read (a stride-0 view of a small storage may
// legitimately expand that far; that is the caller's memory to spend, not a reader bug).
// Failure: anything but success or actlens::Error / UsageError / std::invalid_argument: a crash,
// a sanitizer report, another exception, a hang or unbounded memory.
#include <cstddef>
#include <cstdint>
#include <unordered_set>
#include <vector>

#include "actlens/io/torch_file.hpp"
#include "fuzz_common.hpp"

namespace {

using namespace actlens::io;

constexpr std::uint64_t kMaxBytes = 64u << 20;

void read_tensor(const TorchFile& f, const pickle::Tensor& t) {
  if (!t.storage) return;
  std::uint64_t bytes = 0;
  try {
    bytes = checked_nbytes(t.storage->dtype, t.shape, "fuzz tensor");
  } catch (const actlens::Error&) {
    return;  // bad shapes are the reader's to reject below
  }
  if (bytes > kMaxBytes) return;
  actlens::fuzz::expect_ok_or_rejected([&] { (void)f.read(t); });
  if (!t.shape.empty() && t.shape[0] > 0) {
    const auto numel = checked_numel(t.shape, "fuzz tensor");
    std::vector<float> row(static_cast<std::size_t>(numel / t.shape[0]) + 1);
    actlens::fuzz::expect_ok_or_rejected([&] { f.read_slice_float(t, 0, row.data()); });
    actlens::fuzz::expect_ok_or_rejected(
        [&] { f.read_slice_float(t, t.shape[0] - 1, row.data()); });
  }
}

// Each node once (pickles may share or even nest a value in itself through the memo).
void walk(const TorchFile& f, const pickle::ValuePtr& v, int depth,
          std::unordered_set<const pickle::Value*>& seen) {
  if (!v || depth > 16 || !seen.insert(v.get()).second) return;
  if (v->is<pickle::Tensor>()) {
    read_tensor(f, v->as<pickle::Tensor>());
    const auto& t = v->as<pickle::Tensor>();
    bool small = true;
    try {
      small = t.storage && checked_nbytes(t.storage->dtype, t.shape, "fuzz tensor") <= kMaxBytes;
    } catch (const actlens::Error&) {
    }
    if (small) actlens::fuzz::expect_ok_or_rejected([&] { (void)to_array(f, v, "fuzz value"); });
    return;
  }
  if (v->is<pickle::NdArray>()) {
    actlens::fuzz::expect_ok_or_rejected([&] { (void)to_array(f, v, "fuzz value"); });
    return;
  }
  if (v->is<pickle::List>() || v->is<pickle::Tuple>()) {
    for (const auto& item : v->sequence()) walk(f, item, depth + 1, seen);
  } else if (v->is<pickle::Dict>()) {
    for (const auto& kv : v->as<pickle::Dict>().items) walk(f, kv.second, depth + 1, seen);
  } else if (v->is<pickle::Object>()) {
    const auto& o = v->as<pickle::Object>();
    for (const auto& a : o.args) walk(f, a, depth + 1, seen);
    walk(f, o.state, depth + 1, seen);
    for (const auto& kv : o.dict_items) walk(f, kv.second, depth + 1, seen);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = actlens::fuzz::write_file("input.pt", data, size);
  actlens::fuzz::expect_ok_or_rejected([&] {
    const auto file = TorchFile::open(path);
    (void)is_numeric(file.root());
    std::unordered_set<const pickle::Value*> seen;
    walk(file, file.root(), 0, seen);
  });
  return 0;
}
