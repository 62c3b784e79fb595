// libFuzzer target: io::pickle::load on arbitrary bytes (the data.pkl of a torch.save file).
// Feeds: the whole input as one pickle, with a persistent-id loader shaped like TorchFile's
// (('storage', <global>, key, location, numel) -> a Storage record, anything else rejected), then
// walks the resulting tree (type names, dict lookups, sequences) a bounded depth deep.
// Failure: anything but a returned tree or actlens::Error / UsageError / std::invalid_argument:
// a crash, a sanitizer report, another exception, a hang or unbounded memory.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "actlens/io/pickle.hpp"
#include "fuzz_common.hpp"

namespace {

using namespace actlens::io;

// Each node once (pickles may share or even nest a value in itself through the memo).
void walk(const pickle::ValuePtr& v, int depth, std::unordered_set<const pickle::Value*>& seen) {
  if (!v || depth > 32 || !seen.insert(v.get()).second) return;
  (void)v->type_name();
  (void)v->get("key");
  if (v->is<pickle::List>() || v->is<pickle::Tuple>()) {
    for (const auto& item : v->sequence()) walk(item, depth + 1, seen);
  } else if (v->is<pickle::Dict>()) {
    for (const auto& [k, val] : v->as<pickle::Dict>().items) {
      walk(k, depth + 1, seen);
      walk(val, depth + 1, seen);
    }
  } else if (v->is<pickle::Object>()) {
    const auto& o = v->as<pickle::Object>();
    for (const auto& a : o.args) walk(a, depth + 1, seen);
    walk(o.state, depth + 1, seen);
    for (const auto& a : o.list_items) walk(a, depth + 1, seen);
    for (const auto& [k, val] : o.dict_items) {
      walk(k, depth + 1, seen);
      walk(val, depth + 1, seen);
    }
  } else if (v->is<pickle::NdArray>()) {
    const auto& a = v->as<pickle::NdArray>().array;
    (void)to_double_vector(a);
  }
}

pickle::ValuePtr load_storage(const std::vector<pickle::ValuePtr>& pid) {
  if (pid.size() < 5 || !pid[0]->is<std::string>() || pid[0]->as<std::string>() != "storage" ||
      !pid[1]->is<pickle::Global>() || !pid[2]->is<std::string>() || !pid[4]->is<std::int64_t>())
    throw actlens::Error("fuzz: unsupported persistent id");
  auto s = std::make_shared<pickle::Storage>();
  s->key = pid[2]->as<std::string>();
  if (!pickle::torch_storage_dtype(pid[1]->as<pickle::Global>().name, s->dtype))
    throw actlens::Error("fuzz: unsupported storage type");
  s->numel = pid[4]->as<std::int64_t>();
  auto v = std::make_shared<pickle::Value>();
  v->v = s;
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  actlens::fuzz::expect_ok_or_rejected([&] {
    const auto root =
        pickle::load(reinterpret_cast<const std::byte*>(data), size, "fuzz.pkl", load_storage);
    std::unordered_set<const pickle::Value*> seen;
    walk(root, 0, seen);
  });
  return 0;
}
