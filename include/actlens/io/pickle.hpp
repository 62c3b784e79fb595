#pragma once
// A safe reader of Python pickles (protocols 0-5) as torch.save writes them. It builds a tree of
// values and NEVER calls anything. Every global a pickle names (GLOBAL, STACK_GLOBAL, INST) must
// be on an explicit allow-list of data types (see kAllowedGlobals in pickle.cpp, and
// is_allowed_global below): torch tensor/storage records, numpy arrays/dtypes/scalars,
// OrderedDict and a few builtins, and the fitted objects the persona pipeline saves (sklearn PCA
// and scalers). Any other global is refused, whatever it is, before anything else happens.
// The data-only globals are interpreted here (OrderedDict, torch tensor rebuild, numpy
// array/dtype/scalar, _codecs.encode for protocol-2 bytes); REDUCE/NEWOBJ/BUILD on the other
// allowed classes become opaque Object records (module, name, args, state).
// A pickle is also refused when it declares a protocol above 5, and when it would build more
// than a memory budget of values (a few opcodes can copy a big memoized value many times).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "actlens/io/array.hpp"

namespace actlens::io::pickle {

struct Value;
using ValuePtr = std::shared_ptr<Value>;

struct None {};
struct Bytes {
  std::vector<std::byte> data;
};
struct List {
  std::vector<ValuePtr> items;
};
struct Tuple {
  std::vector<ValuePtr> items;
};
struct Dict {  // insertion order kept (Python dicts and OrderedDict)
  std::vector<std::pair<ValuePtr, ValuePtr>> items;
};
struct Global {  // a class or function named by the pickle, never imported
  std::string module, name;
};
// Any object built from a global that is not one of the data-only ones: its constructor
// arguments and the state BUILD gave it (usually a dict of attributes, e.g. sklearn's PCA).
struct Object {
  Global cls;
  std::vector<ValuePtr> args;
  ValuePtr state;                                         // may be null
  std::vector<ValuePtr> list_items;                       // APPEND(S) on the object
  std::vector<std::pair<ValuePtr, ValuePtr>> dict_items;  // SETITEM(S) on the object
};
// A torch storage named by a persistent id: bytes live in zip entry "<prefix>/data/<key>".
struct Storage {
  std::string key;
  DType dtype = DType::F32;
  std::int64_t numel = 0;
  std::string location;
};
struct Tensor {  // torch._utils._rebuild_tensor_v2
  std::shared_ptr<Storage> storage;
  std::int64_t offset = 0;  // in elements
  std::vector<std::int64_t> shape, stride;
};
struct NdArray {  // numpy array rebuilt from its pickled state (data copied out of the pickle)
  Array array;
};
struct NpDType {  // numpy.dtype('f8', ...) with its byte order from BUILD
  std::string code;
  char order = '=';
};

struct Value {
  std::variant<None, bool, std::int64_t, double, std::string, Bytes, List, Tuple, Dict, Global,
               Object, std::shared_ptr<Storage>, Tensor, NdArray, NpDType>
      v;

  template <class T>
  bool is() const {
    return std::holds_alternative<T>(v);
  }
  template <class T>
  const T& as() const {
    return std::get<T>(v);
  }
  template <class T>
  T& as() {
    return std::get<T>(v);
  }

  // Short type name for messages: "dict", "tensor", "object sklearn.decomposition._pca.PCA"...
  std::string type_name() const;
  // For a Dict (or an Object with dict state/items): the value of string key `key`, or nullptr.
  ValuePtr get(const std::string& key) const;
  // Items of a List or Tuple; throws actlens::Error otherwise.
  const std::vector<ValuePtr>& sequence() const;
};

// Resolves persistent ids (torch storages). Receives the pid tuple's items.
using PersistentLoader = std::function<ValuePtr(const std::vector<ValuePtr>& pid)>;

// What load() may build, by default: an approximate count of the bytes its values take (values,
// container slots, copied strings and arrays). torch.save data needs a small fraction of this
// (a few hundred bytes per tensor, plus the numpy arrays of fitted sklearn objects).
inline constexpr std::uint64_t kDefaultMaxMemory = std::uint64_t{1} << 30;

// Parses `data` (a whole pickle). `what` names the source in errors ("roles/pirate.pt").
// Throws actlens::Error on a malformed or truncated pickle, an unknown opcode, a protocol above
// 5, a global that is not on the allow-list, or a pickle building more than `max_memory` bytes.
ValuePtr load(const std::byte* data, std::size_t size, const std::string& what,
              const PersistentLoader& persistent_load = {},
              std::uint64_t max_memory = kDefaultMaxMemory);

// The dtype of a torch storage class name ("BFloat16Storage" -> BF16); false if unsupported.
bool torch_storage_dtype(const std::string& name, DType& out);

// True when a global (module + name, as the pickle spells them) is on the allow-list of data
// types; a pickle naming any other global is refused.
bool is_allowed_global(const std::string& module, const std::string& name);

}  // namespace actlens::io::pickle
