// The pickle virtual machine, restricted to building data. See pickle.hpp for the safety rules.
#include "actlens/io/pickle.hpp"

#include <array>
#include <cmath>
#include <cstring>
#include <unordered_map>

#include "actlens/error.hpp"

namespace actlens::io::pickle {
namespace {

// The allow-list: the only globals (classes and functions named by GLOBAL, STACK_GLOBAL or
// INST) a pickle may name. Anything else, from os.system to a harmless-looking class of some other
// package, is refused before it is even recorded, as PyTorch's weights_only unpickler does.
// Nothing on the list is ever imported or called: the data-only ones are interpreted by this
// file (reduce/build below), the others only name what an opaque record is.
// Entries are exact "module", "name" pairs; a name starting with '*' matches that suffix.
struct AllowedGlobal {
  const char* module;
  const char* name;
};
constexpr AllowedGlobal kAllowedGlobals[] = {
    // torch tensors: the rebuild functions torch.save writes for each tensor, parameter and
    // tensor subclass (read as a plain tensor), and the classes those records name.
    {"torch._utils", "_rebuild_tensor_v2"},
    {"torch._utils", "_rebuild_tensor"},
    {"torch._utils", "_rebuild_parameter"},
    {"torch._utils", "_rebuild_parameter_with_state"},
    {"torch._tensor", "_rebuild_from_type_v2"},
    {"torch", "Tensor"},
    {"torch.nn.parameter", "Parameter"},
    {"torch", "Size"},
    // torch storages, named by the persistent id of every tensor (FloatStorage, BFloat16Storage...
    // and the typed/untyped classes of torch >= 2); their bytes are zip entries, never pickled.
    {"torch", "*Storage"},
    {"torch.storage", "UntypedStorage"},
    {"torch.storage", "TypedStorage"},
    // torch dtypes, as torch.save writes them for a dtype attribute (inert names).
    {"torch", "float64"},
    {"torch", "float32"},
    {"torch", "float16"},
    {"torch", "bfloat16"},
    {"torch", "int64"},
    {"torch", "int32"},
    {"torch", "int16"},
    {"torch", "int8"},
    {"torch", "uint8"},
    {"torch", "bool"},
    // Python containers and plain values: OrderedDict, sets (read as lists), bytes spelled the
    // protocol-2 way (_codecs.encode, bytearray, bytes), complex and slice (opaque records), and
    // copyreg._reconstructor with its `object` base, which protocols 0/1 write for any object
    // (the class it names must itself be on this list).
    {"collections", "OrderedDict"},
    {"builtins", "set"},
    {"builtins", "frozenset"},
    {"builtins", "bytearray"},
    {"builtins", "bytes"},
    {"builtins", "complex"},
    {"builtins", "slice"},
    {"builtins", "object"},
    {"__builtin__", "set"},
    {"__builtin__", "frozenset"},
    {"__builtin__", "bytearray"},
    {"__builtin__", "bytes"},
    {"__builtin__", "complex"},
    {"__builtin__", "slice"},
    {"__builtin__", "object"},
    {"_codecs", "encode"},
    {"copyreg", "_reconstructor"},
    {"copy_reg", "_reconstructor"},
    // numpy arrays, dtypes and scalars (numpy 1.x spells the module numpy.core, 2.x numpy._core),
    // and protocol-5 arrays (_frombuffer).
    {"numpy.core.multiarray", "_reconstruct"},
    {"numpy._core.multiarray", "_reconstruct"},
    {"numpy", "ndarray"},
    {"numpy", "dtype"},
    {"numpy.core.multiarray", "scalar"},
    {"numpy._core.multiarray", "scalar"},
    {"numpy", "_frombuffer"},
    {"numpy.core.numeric", "_frombuffer"},
    {"numpy._core.numeric", "_frombuffer"},
    // Opaque records (never called; their state is read as attributes): the fitted objects the
    // persona pipeline saves next to its tensors in pca/layer{L}_pos23.pt (a sklearn PCA, and a
    // sklearn StandardScaler or one of the pipeline's own scalers from utils/pca_utils.py).
    {"sklearn.decomposition._pca", "PCA"},
    {"sklearn.preprocessing._data", "StandardScaler"},
    {"utils.pca_utils", "MeanScaler"},
    {"utils.pca_utils", "L2MeanScaler"},
};

// PROTO arguments above this are refused: Python writes protocols 0 to 5.
constexpr std::uint64_t kHighestProtocol = 5;

// For the refusal message: what the allow-list holds, in words.
constexpr const char* kAllowedSummary =
    "torch tensors and storages, numpy arrays, Python containers, sklearn PCA/StandardScaler and "
    "the persona pipeline's scalers";

template <class F>
void for_each_child(Value& v, F&& f) {
  if (v.is<List>()) {
    for (auto& c : v.as<List>().items) f(c);
  } else if (v.is<Tuple>()) {
    for (auto& c : v.as<Tuple>().items) f(c);
  } else if (v.is<Dict>()) {
    for (auto& [k, x] : v.as<Dict>().items) {
      f(k);
      f(x);
    }
  } else if (v.is<Object>()) {
    auto& o = v.as<Object>();
    for (auto& c : o.args) f(c);
    f(o.state);
    for (auto& c : o.list_items) f(c);
    for (auto& [k, x] : o.dict_items) {
      f(k);
      f(x);
    }
  }
}

// Deletes values without recursion: a hostile pickle of deeply nested lists would otherwise
// overflow the stack when the tree is released (shared_ptr destruction recurses per level).
// A value's children are moved out before it is deleted, and the outermost deletion drains them.
struct IterativeDelete {
  void operator()(Value* v) const noexcept {
    thread_local std::vector<ValuePtr>* pending = nullptr;  // set while a deletion drains
    std::vector<ValuePtr> children;
    for_each_child(*v, [&](ValuePtr& c) {
      if (c) children.push_back(std::move(c));
    });
    delete v;  // shallow now
    if (pending) {
      for (auto& c : children) pending->push_back(std::move(c));
      return;
    }
    pending = &children;
    while (!children.empty()) {
      ValuePtr c = std::move(children.back());
      children.pop_back();
      c.reset();  // when this was the last owner, its children join `children`
    }
    pending = nullptr;
  }
};

ValuePtr make(auto&& x) {
  auto v = ValuePtr(new Value(), IterativeDelete{});
  v->v = std::forward<decltype(x)>(x);
  return v;
}

std::string qualified(const Global& g) {
  return g.module + "." + g.name;
}

bool is_global(const ValuePtr& v, const char* module, const char* name) {
  if (!v || !v->is<Global>()) return false;
  const auto& g = v->as<Global>();
  return g.name == name && g.module == module;
}

bool is_numpy(const Global& g, const char* name) {
  return g.name == name &&
         (g.module == "numpy.core.multiarray" || g.module == "numpy._core.multiarray" ||
          g.module == "numpy.core.numeric" || g.module == "numpy._core.numeric" ||
          g.module == "numpy");
}

// numpy dtype codes ('f8', '<f4', 'b1'...) to our dtypes; false when not representable.
bool numpy_code_to_dtype(std::string code, DType& out) {
  if (!code.empty() && (code[0] == '<' || code[0] == '>' || code[0] == '|' || code[0] == '='))
    code.erase(0, 1);
  static const std::unordered_map<std::string, DType> kMap = {
      {"f8", DType::F64},  {"f4", DType::F32}, {"f2", DType::F16}, {"i8", DType::I64},
      {"i4", DType::I32},  {"i2", DType::I16}, {"i1", DType::I8},  {"u1", DType::U8},
      {"b1", DType::Bool}, {"?", DType::Bool}};
  auto it = kMap.find(code);
  if (it == kMap.end()) return false;
  out = it->second;
  return true;
}

bool storage_type_to_dtype(const std::string& name, DType& out) {
  static const std::unordered_map<std::string, DType> kMap = {
      {"DoubleStorage", DType::F64},    {"FloatStorage", DType::F32}, {"HalfStorage", DType::F16},
      {"BFloat16Storage", DType::BF16}, {"LongStorage", DType::I64},  {"IntStorage", DType::I32},
      {"ShortStorage", DType::I16},     {"CharStorage", DType::I8},   {"ByteStorage", DType::U8},
      {"BoolStorage", DType::Bool}};
  auto it = kMap.find(name);
  if (it == kMap.end()) return false;
  out = it->second;
  return true;
}

// A name read from the file, safe to print on one line: control bytes become '?', and a very long
// name is cut.
std::string printable(const std::string& s) {
  constexpr std::size_t kMax = 200;
  std::string out;
  for (char c : s.substr(0, kMax)) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7f ? '?' : c);
  }
  if (s.size() > kMax) out += "...";
  return out;
}

void byteswap_elements(std::vector<std::byte>& data, std::size_t elem) {
  if (elem <= 1) return;
  for (std::size_t i = 0; i + elem <= data.size(); i += elem)
    for (std::size_t a = 0, b = elem - 1; a < b; ++a, --b) std::swap(data[i + a], data[i + b]);
}

class Machine {
 public:
  Machine(const std::byte* data, std::size_t size, const std::string& what,
          const PersistentLoader& persistent_load, std::uint64_t max_memory)
      : p_(reinterpret_cast<const unsigned char*>(data)),
        n_(size),
        what_(what),
        persistent_load_(persistent_load),
        max_memory_(max_memory) {}

  // Runs the opcodes, then refuses a value that contains itself (see check_acyclic).
  ValuePtr run() {
    ValuePtr result = run_ops();
    check_acyclic();
    done_ = true;
    return result;
  }
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;
  // A failed load may have left reference cycles among the values it built (shared_ptr never
  // frees those): empty every container so all of them are freed.
  ~Machine() {
    if (!done_)
      for (auto& v : containers_) clear_children(*v);
  }

 private:
  ValuePtr run_ops();

  // Containers whose children can be filled after creation (APPEND, SETITEM, BUILD, memo
  // references): the only places a cycle can form.
  static bool is_container(const Value& v) {
    return v.is<List>() || v.is<Tuple>() || v.is<Dict>() || v.is<Object>();
  }
  static void clear_children(Value& v) {
    if (v.is<List>()) v.as<List>().items.clear();
    if (v.is<Tuple>()) v.as<Tuple>().items.clear();
    if (v.is<Dict>()) v.as<Dict>().items.clear();
    if (v.is<Object>()) {
      auto& o = v.as<Object>();
      o.args.clear();
      o.state.reset();
      o.list_items.clear();
      o.dict_items.clear();
    }
  }
  template <class F>
  static void for_each_child(const Value& v, F&& f) {
    auto each = [&](const std::vector<ValuePtr>& xs) {
      for (const auto& x : xs)
        if (x) f(x.get());
    };
    if (v.is<List>()) each(v.as<List>().items);
    if (v.is<Tuple>()) each(v.as<Tuple>().items);
    if (v.is<Dict>())
      for (const auto& [k, x] : v.as<Dict>().items) {
        if (k) f(k.get());
        if (x) f(x.get());
      }
    if (v.is<Object>()) {
      const auto& o = v.as<Object>();
      each(o.args);
      if (o.state) f(o.state.get());
      each(o.list_items);
      for (const auto& [k, x] : o.dict_items) {
        if (k) f(k.get());
        if (x) f(x.get());
      }
    }
  }
  // A list appended to itself (`l.append(l)`, which Python can pickle) or a dict holding itself
  // would never be freed and would send any walk over the tree into an endless loop; torch.save
  // data never contains one. Iterative depth-first search with three colours.
  void check_acyclic() {
    std::unordered_map<const Value*, char> colour;  // absent: new, 1: on the path, 2: done
    colour.reserve(containers_.size());
    std::vector<std::pair<const Value*, std::vector<const Value*>>> path;
    for (const auto& start : containers_) {
      if (colour.count(start.get())) continue;
      auto push = [&](const Value* v) {
        std::vector<const Value*> kids;
        for_each_child(*v, [&](const Value* c) {
          if (is_container(*c)) kids.push_back(c);
        });
        colour[v] = 1;
        path.emplace_back(v, std::move(kids));
      };
      push(start.get());
      while (!path.empty()) {
        auto& [v, kids] = path.back();
        if (kids.empty()) {
          colour[v] = 2;
          path.pop_back();
          continue;
        }
        const Value* c = kids.back();
        kids.pop_back();
        const auto it = colour.find(c);
        if (it == colour.end())
          push(c);
        else if (it->second == 1)
          fail("a " + c->type_name() +
               " contains itself (a recursive structure); torch.save data never does, the "
               "file is corrupt or hostile");
      }
    }
  }
  [[noreturn]] void fail(const std::string& msg) const {
    throw Error(what_ + ": " + msg + " (at byte " + std::to_string(pos_) + " of the pickle)");
  }
  [[noreturn]] void truncated() const {
    throw Error(what_ + ": truncated or corrupt pickle (unexpected end of data at byte " +
                std::to_string(pos_) + "); re-create the file");
  }

  void need(std::size_t k) const {
    if (k > n_ - pos_) truncated();
  }
  std::uint64_t read_uint(std::size_t k) {
    need(k);
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < k; ++i) v |= std::uint64_t(p_[pos_ + i]) << (8 * i);
    pos_ += k;
    return v;
  }
  std::string read_bytes(std::uint64_t k) {
    if (k > n_ - pos_) truncated();
    charge(k);
    std::string s(reinterpret_cast<const char*>(p_ + pos_), static_cast<std::size_t>(k));
    pos_ += static_cast<std::size_t>(k);
    return s;
  }
  std::string read_line() {
    std::size_t start = pos_;
    while (pos_ < n_ && p_[pos_] != '\n') ++pos_;
    if (pos_ >= n_) truncated();
    charge(pos_ - start);
    std::string s(reinterpret_cast<const char*>(p_ + start), pos_ - start);
    ++pos_;
    return s;
  }

  ValuePtr pop() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back()))
      fail("corrupt pickle (stack underflow)");
    ValuePtr v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  ValuePtr& top() {
    if (stack_.empty()) fail("corrupt pickle (stack underflow)");
    return stack_.back();
  }
  std::vector<ValuePtr> pop_mark() {
    if (marks_.empty()) fail("corrupt pickle (no MARK on the stack)");
    std::size_t m = marks_.back();
    marks_.pop_back();
    if (m > stack_.size()) fail("corrupt pickle (stack underflow below MARK)");
    std::vector<ValuePtr> items(std::make_move_iterator(stack_.begin() + static_cast<long>(m)),
                                std::make_move_iterator(stack_.end()));
    stack_.resize(m);
    return items;
  }

  ValuePtr make_global(std::string module, std::string name) {
    if (!is_allowed_global(module, name))
      throw Error(what_ + ": refusing to unpickle global '" + printable(module + "." + name) +
                  "' (not on the allow-list of data types: " + kAllowedSummary +
                  "); nothing was executed; re-save the data as plain tensors, arrays and dicts");
    return mk(Global{std::move(module), std::move(name)});
  }

  // Memory accounting: every value built, every slot filled and every byte copied is charged, so
  // a small pickle cannot make the reader build an unbounded tree (a few opcodes can fetch a big
  // memoized list or byte string and copy it again and again).
  void charge(std::uint64_t bytes) const {
    used_ += bytes;
    if (used_ > max_memory_)
      fail("pickle builds more than " + std::to_string(max_memory_ >> 20) +
           " MiB of values; it is corrupt or hostile (torch.save data is far smaller)");
  }
  void charge_slots(std::size_t n) const { charge(std::uint64_t{n} * kSlotCost); }
  template <class T>
  ValuePtr mk(T&& x) const {
    charge(kValueCost);
    ValuePtr v = make(std::forward<T>(x));
    if (is_container(*v)) containers_.push_back(v);
    return v;
  }

  void append_to(ValuePtr& target, std::vector<ValuePtr> items) {
    if (target->is<List>()) {
      auto& l = target->as<List>().items;
      l.insert(l.end(), items.begin(), items.end());
    } else if (target->is<Object>()) {
      auto& l = target->as<Object>().list_items;
      l.insert(l.end(), items.begin(), items.end());
    } else {
      fail("corrupt pickle (APPEND to a " + target->type_name() + ")");
    }
  }
  void setitems(ValuePtr& target, std::vector<ValuePtr> kv) {
    if (kv.size() % 2) fail("corrupt pickle (odd number of SETITEMS values)");
    std::vector<std::pair<ValuePtr, ValuePtr>>* dst = nullptr;
    if (target->is<Dict>())
      dst = &target->as<Dict>().items;
    else if (target->is<Object>())
      dst = &target->as<Object>().dict_items;
    else
      fail("corrupt pickle (SETITEM on a " + target->type_name() + ")");
    // Python semantics: a repeated key replaces the earlier value, keeping its position. Small
    // dicts are searched; big ones get an index of their string keys, so that a dict of many
    // keys costs linear time, not quadratic.
    KeyIndex* index = nullptr;
    if (dst->size() + kv.size() / 2 > kIndexedDictSize) {
      auto [it, fresh] = key_index_.try_emplace(target.get());
      index = &it->second;
      if (fresh) {
        index->owner = target;  // keeps the dict alive, so its address stays its own
        for (std::size_t j = 0; j < dst->size(); ++j)
          if ((*dst)[j].first->is<std::string>())
            index->keys.emplace((*dst)[j].first->as<std::string>(), j);
      }
    }
    for (std::size_t i = 0; i < kv.size(); i += 2) {
      bool replaced = false;
      if (kv[i]->is<std::string>()) {
        const std::string& key = kv[i]->as<std::string>();
        if (index) {
          charge_slots(2);
          auto [it, fresh] = index->keys.try_emplace(key, dst->size());
          if (!fresh) {
            (*dst)[it->second].second = kv[i + 1];
            replaced = true;
          }
        } else {
          for (auto& item : *dst) {
            if (item.first->is<std::string>() && item.first->as<std::string>() == key) {
              item.second = kv[i + 1];
              replaced = true;
              break;
            }
          }
        }
      }
      if (!replaced) dst->emplace_back(kv[i], kv[i + 1]);
    }
  }

  ValuePtr reduce(const ValuePtr& callable, const std::vector<ValuePtr>& args);
  ValuePtr numpy_scalar(const std::vector<ValuePtr>& args);
  ValuePtr numpy_frombuffer(const std::vector<ValuePtr>& args);
  void build(ValuePtr& obj, const ValuePtr& state);
  static std::int64_t as_int(const ValuePtr& v, const char* what_field, const Machine& m) {
    if (!v || !v->is<std::int64_t>())
      m.fail(std::string("corrupt tensor record (") + what_field + " is not an integer)");
    return v->as<std::int64_t>();
  }
  std::vector<std::int64_t> int_tuple(const ValuePtr& v, const char* what_field) const {
    if (!v || !(v->is<Tuple>() || v->is<List>()))
      fail(std::string("corrupt record (") + what_field + " is not a tuple)");
    charge(sizeof(std::int64_t) * v->sequence().size());
    std::vector<std::int64_t> out;
    for (const auto& x : v->sequence()) out.push_back(as_int(x, what_field, *this));
    return out;
  }
  ValuePtr long_from_bytes(const std::string& b) const;
  std::string raw_unicode_escape_to_utf8(const std::string& s) const;

  // Approximate heap cost of one value (the Value, its control block, a slot) and of one pointer
  // slot in a container, the stack or the memo.
  static constexpr std::uint64_t kValueCost = sizeof(Value) + 64;
  static constexpr std::uint64_t kSlotCost = 32;

  const unsigned char* p_;
  std::size_t n_;
  std::size_t pos_ = 0;
  const std::string& what_;
  const PersistentLoader& persistent_load_;
  std::uint64_t max_memory_;
  mutable std::uint64_t used_ = 0;
  mutable std::vector<ValuePtr> containers_;  // every container built (check_acyclic, ~Machine)
  bool done_ = false;
  std::vector<ValuePtr> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, ValuePtr> memo_;
  // String key -> position, for dicts (and objects' SETITEMS) past kIndexedDictSize items.
  static constexpr std::size_t kIndexedDictSize = 32;
  struct KeyIndex {
    ValuePtr owner;
    std::unordered_map<std::string, std::size_t> keys;
  };
  std::unordered_map<const Value*, KeyIndex> key_index_;
};

// UNICODE (protocol 0) holds raw-unicode-escape text: each byte is a Latin-1 code point, and
// \uXXXX / \UXXXXXXXX (after an odd number of backslashes) escape the others. Returns UTF-8.
std::string Machine::raw_unicode_escape_to_utf8(const std::string& s) const {
  std::string out;
  auto put = [&](std::uint32_t cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  };
  std::size_t i = 0;
  while (i < s.size()) {
    if (s[i] != '\\') {
      put(static_cast<unsigned char>(s[i++]));
      continue;
    }
    std::size_t run = 0;
    while (i < s.size() && s[i] == '\\') {
      ++run;
      ++i;
    }
    if (run % 2 == 0 || i >= s.size() || (s[i] != 'u' && s[i] != 'U')) {
      out.append(run, '\\');
      continue;
    }
    out.append(run - 1, '\\');
    const std::size_t digits = s[i] == 'u' ? 4 : 8;
    ++i;
    if (s.size() - i < digits) fail("corrupt pickle (truncated \\u escape in UNICODE)");
    std::uint32_t cp = 0;
    for (std::size_t k = 0; k < digits; ++k, ++i) {
      const char c = s[i];
      std::uint32_t d;
      if (c >= '0' && c <= '9')
        d = static_cast<std::uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        d = static_cast<std::uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        d = static_cast<std::uint32_t>(c - 'A' + 10);
      else
        fail("corrupt pickle (bad \\u escape in UNICODE)");
      cp = cp * 16 + d;
    }
    if (cp > 0x10FFFF) fail("corrupt pickle (\\U escape out of range in UNICODE)");
    put(cp);
  }
  return out;
}

ValuePtr Machine::long_from_bytes(const std::string& b) const {
  if (b.empty()) return mk(std::int64_t{0});
  if (b.size() <= 8) {
    std::uint64_t u = 0;
    for (std::size_t i = 0; i < b.size(); ++i) u |= std::uint64_t(std::uint8_t(b[i])) << (8 * i);
    if (b.size() < 8 && (std::uint8_t(b.back()) & 0x80)) u |= ~std::uint64_t{0} << (8 * b.size());
    return mk(static_cast<std::int64_t>(u));
  }
  // Wider than 64 bits: keep an approximate value (such integers only appear in opaque state).
  double v = 0;
  for (std::size_t i = b.size(); i-- > 0;) v = v * 256.0 + std::uint8_t(b[i]);
  if (std::uint8_t(b.back()) & 0x80) v -= std::ldexp(1.0, static_cast<int>(8 * b.size()));
  return mk(v);
}

ValuePtr Machine::numpy_scalar(const std::vector<ValuePtr>& args) {
  charge_slots(args.size());
  if (args.size() < 2 || !args[0]->is<NpDType>() || !args[1]->is<Bytes>())
    return mk(Object{Global{"numpy", "scalar"}, args, nullptr, {}, {}});
  DType t;
  const auto& raw = args[1]->as<Bytes>().data;
  if (!numpy_code_to_dtype(args[0]->as<NpDType>().code, t) || raw.size() != dtype_size(t))
    return mk(Object{Global{"numpy", "scalar"}, args, nullptr, {}, {}});
  std::vector<std::byte> data = raw;
  if (args[0]->as<NpDType>().order == '>') byteswap_elements(data, dtype_size(t));
  double d = 0;
  convert_to_double(t, data.data(), &d, 1);
  switch (t) {
    case DType::F64:
    case DType::F32:
    case DType::F16:
    case DType::BF16:
      return mk(d);
    case DType::Bool:
      return mk(d != 0);
    case DType::I64: {
      std::int64_t i;
      std::memcpy(&i, data.data(), 8);
      return mk(i);
    }
    default:
      return mk(static_cast<std::int64_t>(d));
  }
}

ValuePtr Machine::numpy_frombuffer(const std::vector<ValuePtr>& args) {
  // numpy >= 1.16, protocol 5: _frombuffer(buffer, dtype, shape, order)
  charge_slots(args.size());
  if (args.size() >= 4 && args[0]->is<Bytes>() && args[1]->is<NpDType>()) {
    Array a;
    if (numpy_code_to_dtype(args[1]->as<NpDType>().code, a.dtype)) {
      a.shape = int_tuple(args[2], "shape");
      charge(args[0]->as<Bytes>().data.size());
      a.data = args[0]->as<Bytes>().data;
      if (a.data.size() == checked_nbytes(a.dtype, a.shape, what_ + ": numpy array")) {
        if (args[1]->as<NpDType>().order == '>') byteswap_elements(a.data, dtype_size(a.dtype));
        bool fortran = args[3]->is<std::string>() && args[3]->as<std::string>() == "F";
        if (!fortran || a.shape.size() < 2) return mk(NdArray{std::move(a)});
      }
    }
  }
  return mk(Object{Global{"numpy", "_frombuffer"}, args, nullptr, {}, {}});
}

ValuePtr Machine::reduce(const ValuePtr& callable, const std::vector<ValuePtr>& args) {
  if (!callable->is<Global>()) {
    // e.g. _rebuild_from_type_v2 passing a function that is itself a Global value
    fail("corrupt pickle (REDUCE on a " + callable->type_name() + ")");
  }
  const Global& g = callable->as<Global>();
  if (g.module == "collections" && g.name == "OrderedDict") {
    auto d = mk(Dict{});
    if (!args.empty() && (args[0]->is<List>() || args[0]->is<Tuple>())) {
      charge_slots(2 * args[0]->sequence().size());
      for (const auto& pair : args[0]->sequence()) {
        if (!pair->is<Tuple>() && !pair->is<List>()) continue;
        const auto& kv = pair->sequence();
        if (kv.size() == 2) d->as<Dict>().items.emplace_back(kv[0], kv[1]);
      }
    }
    return d;
  }
  if (g.module == "torch._utils" &&
      (g.name == "_rebuild_tensor_v2" || g.name == "_rebuild_tensor")) {
    if (args.size() < 4) fail("corrupt tensor record (too few arguments)");
    if (!args[0]->is<std::shared_ptr<Storage>>())
      fail("corrupt tensor record (first argument is a " + args[0]->type_name() +
           ", not a storage)");
    Tensor t;
    t.storage = args[0]->as<std::shared_ptr<Storage>>();
    t.offset = as_int(args[1], "storage offset", *this);
    t.shape = int_tuple(args[2], "size");
    t.stride = int_tuple(args[3], "stride");
    if (t.shape.size() != t.stride.size()) fail("corrupt tensor record (size/stride ranks differ)");
    return mk(std::move(t));
  }
  if (g.module == "torch._utils" &&
      (g.name == "_rebuild_parameter" || g.name == "_rebuild_parameter_with_state")) {
    if (args.empty()) fail("corrupt parameter record");
    return args[0];
  }
  if (g.module == "torch._tensor" && g.name == "_rebuild_from_type_v2") {
    // (func, type, args, state): a tensor subclass; rebuild the plain tensor inside.
    if (args.size() >= 3 && (args[2]->is<Tuple>() || args[2]->is<List>())) {
      // One level only: a self-referencing record would otherwise recurse forever.
      if (is_global(args[0], "torch._tensor", "_rebuild_from_type_v2"))
        fail("corrupt tensor subclass record (nested)");
      return reduce(args[0], args[2]->sequence());
    }
    fail("corrupt tensor subclass record");
  }
  if (g.module == "torch" && g.name == "Size") {
    if (!args.empty() && (args[0]->is<Tuple>() || args[0]->is<List>())) {
      charge_slots(args[0]->sequence().size());
      return mk(Tuple{args[0]->sequence()});
    }
  }
  if (g.module == "_codecs" && g.name == "encode") {
    // Protocol 2 pickles Python 3 bytes as _codecs.encode(latin-1 text, 'latin1').
    if (args.empty() || !args[0]->is<std::string>()) fail("corrupt bytes record");
    const std::string& s = args[0]->as<std::string>();
    charge(s.size());
    std::string enc =
        args.size() > 1 && args[1]->is<std::string>() ? args[1]->as<std::string>() : "";
    Bytes out;
    if (enc == "latin1" || enc == "latin-1" || enc == "iso-8859-1") {
      for (std::size_t i = 0; i < s.size();) {  // UTF-8 code points < 256 -> one byte each
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
          out.data.push_back(std::byte(c));
          i += 1;
        } else if ((c & 0xE0) == 0xC0 && i + 1 < s.size()) {
          unsigned cp = ((c & 0x1Fu) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3Fu);
          if (cp > 0xFF) fail("corrupt bytes record (code point > 255 in latin1 text)");
          out.data.push_back(std::byte(cp));
          i += 2;
        } else {
          fail("corrupt bytes record (code point > 255 in latin1 text)");
        }
      }
    } else {
      for (char c : s) out.data.push_back(std::byte(static_cast<unsigned char>(c)));
    }
    return mk(std::move(out));
  }
  if ((g.module == "builtins" || g.module == "__builtin__") && g.name == "bytes") {
    // Protocol 2 pickles an empty bytes object as bytes().
    if (args.empty()) return mk(Bytes{});
    if (args[0]->is<Bytes>()) return args[0];
  }
  if ((g.module == "builtins" || g.module == "__builtin__") && g.name == "bytearray") {
    if (args.empty()) return mk(Bytes{});
    if (args[0]->is<Bytes>()) return args[0];
    if (args[0]->is<std::string>() && args.size() > 1)
      return reduce(mk(Global{"_codecs", "encode"}), args);
  }
  if ((g.module == "builtins" || g.module == "__builtin__") &&
      (g.name == "set" || g.name == "frozenset")) {
    if (!args.empty() && (args[0]->is<List>() || args[0]->is<Tuple>())) {
      charge_slots(args[0]->sequence().size());
      return mk(List{args[0]->sequence()});
    }
    return mk(List{});
  }
  if (is_numpy(g, "_reconstruct")) {
    Array empty;
    return mk(NdArray{std::move(empty)});  // filled in by BUILD
  }
  if (is_numpy(g, "dtype") && !args.empty() && args[0]->is<std::string>()) {
    return mk(NpDType{args[0]->as<std::string>(), '='});
  }
  if (is_numpy(g, "scalar")) return numpy_scalar(args);
  if (is_numpy(g, "_frombuffer")) return numpy_frombuffer(args);
  // Protocols 0/1: Python 3 writes copyreg under its Python 2 name copy_reg.
  if ((g.module == "copyreg" || g.module == "copy_reg") && g.name == "_reconstructor" &&
      !args.empty() && args[0]->is<Global>()) {
    return mk(Object{args[0]->as<Global>(), {}, nullptr, {}, {}});
  }
  charge_slots(args.size());
  return mk(Object{g, args, nullptr, {}, {}});
}

void Machine::build(ValuePtr& obj, const ValuePtr& state) {
  if (obj->is<NdArray>()) {
    // numpy ndarray.__setstate__: (version, shape, dtype, is_fortran, rawdata)
    const auto* st = state->is<Tuple>() ? &state->as<Tuple>().items : nullptr;
    if (st && st->size() == 5 && (*st)[2]->is<NpDType>()) {
      Array a;
      const auto& dt = (*st)[2]->as<NpDType>();
      bool fortran = (*st)[3]->is<bool>() && (*st)[3]->as<bool>();
      ValuePtr raw = (*st)[4];
      if (raw->is<std::string>())
        raw = reduce(mk(Global{"_codecs", "encode"}), {raw, mk(std::string("latin1"))});
      if (numpy_code_to_dtype(dt.code, a.dtype) && raw->is<Bytes>()) {
        a.shape = int_tuple((*st)[1], "shape");
        // The copy, and the C-order copy of a Fortran array.
        charge(2 * raw->as<Bytes>().data.size());
        a.data = raw->as<Bytes>().data;
        if (a.data.size() != checked_nbytes(a.dtype, a.shape, what_ + ": numpy array"))
          fail("corrupt numpy array (data size does not match its shape)");
        if (dt.order == '>') byteswap_elements(a.data, dtype_size(a.dtype));
        if (fortran && a.shape.size() >= 2) {
          // Reverse the axes' memory order into C order.
          const std::size_t es = dtype_size(a.dtype);
          const std::size_t rank = a.shape.size();
          std::vector<std::byte> c(a.data.size());
          std::vector<std::int64_t> idx(rank, 0);
          for (std::int64_t lin = 0; lin < a.numel(); ++lin) {
            std::int64_t f = 0, mul = 1;  // Fortran offset of the C-order index `idx`
            for (std::size_t d = 0; d < rank; ++d) {
              f += idx[d] * mul;
              mul *= a.shape[d];
            }
            std::memcpy(c.data() + lin * es, a.data.data() + f * es, es);
            for (std::size_t d = rank; d-- > 0;) {
              if (++idx[d] < a.shape[d]) break;
              idx[d] = 0;
            }
          }
          a.data = std::move(c);
        }
        obj->v = NdArray{std::move(a)};  // in place: the memo holds this same object
        return;
      }
    }
    // Object arrays, strings, structured dtypes: keep them as an opaque record.
    obj->v = Object{Global{"numpy", "ndarray"}, {}, state, {}, {}};
    return;
  }
  if (obj->is<NpDType>()) {
    if (state->is<Tuple>() && state->as<Tuple>().items.size() > 1 &&
        state->as<Tuple>().items[1]->is<std::string>()) {
      const auto& o = state->as<Tuple>().items[1]->as<std::string>();
      if (!o.empty()) obj->as<NpDType>().order = o[0];
    }
    return;
  }
  if (obj->is<Object>()) {
    auto& o = obj->as<Object>();
    if (o.state && o.state->is<Dict>() && state->is<Dict>()) {
      charge_slots(2 * state->as<Dict>().items.size());
      for (const auto& kv : state->as<Dict>().items) o.state->as<Dict>().items.push_back(kv);
    } else {
      o.state = state;
    }
  }
  // BUILD on dicts/tensors (extra Python attributes) carries nothing we need.
}

// lint: long function (the opcode switch: one short case per pickle opcode)
ValuePtr Machine::run_ops() {
  while (true) {
    need(1);
    const unsigned char op = p_[pos_++];
    switch (op) {
      case 0x80: {  // PROTO
        const std::uint64_t protocol = read_uint(1);
        if (protocol > kHighestProtocol)
          fail("unsupported pickle protocol " + std::to_string(protocol) +
               " (this reader knows protocols 0 to 5); re-save the data with torch.save");
        break;
      }
      case 0x95:
        read_uint(8);
        break;     // FRAME: framing is transparent here
      case '.': {  // STOP
        if (stack_.empty()) fail("corrupt pickle (empty stack at STOP)");
        return stack_.back();
      }
      case '(':
        charge_slots(1);
        marks_.push_back(stack_.size());
        break;
      case '0':
        pop();
        break;
      case '1':
        pop_mark();
        break;
      case '2': {  // DUP: copy first, push_back may reallocate under a reference
        charge_slots(1);
        ValuePtr v = top();
        stack_.push_back(std::move(v));
        break;
      }
      case 'N':
        stack_.push_back(mk(None{}));
        break;
      case 0x88:
        stack_.push_back(mk(true));
        break;
      case 0x89:
        stack_.push_back(mk(false));
        break;
      case 'I': {
        std::string s = read_line();
        if (s == "01")
          stack_.push_back(mk(true));
        else if (s == "00")
          stack_.push_back(mk(false));
        else {
          char* end = nullptr;
          long long v = std::strtoll(s.c_str(), &end, 10);
          if (end == s.c_str()) fail("corrupt pickle (bad INT)");
          stack_.push_back(mk(static_cast<std::int64_t>(v)));
        }
        break;
      }
      case 'J':
        stack_.push_back(mk(static_cast<std::int64_t>(
            static_cast<std::int32_t>(static_cast<std::uint32_t>(read_uint(4))))));
        break;
      case 'K':
        stack_.push_back(mk(static_cast<std::int64_t>(read_uint(1))));
        break;
      case 'M':
        stack_.push_back(mk(static_cast<std::int64_t>(read_uint(2))));
        break;
      case 'L': {
        std::string s = read_line();
        if (!s.empty() && s.back() == 'L') s.pop_back();
        char* end = nullptr;
        long long v = std::strtoll(s.c_str(), &end, 10);
        if (end == s.c_str()) fail("corrupt pickle (bad LONG)");
        stack_.push_back(mk(static_cast<std::int64_t>(v)));
        break;
      }
      case 0x8a:
        stack_.push_back(long_from_bytes(read_bytes(read_uint(1))));
        break;
      case 0x8b:
        stack_.push_back(long_from_bytes(read_bytes(read_uint(4))));
        break;
      case 'F': {
        std::string s = read_line();
        stack_.push_back(mk(std::strtod(s.c_str(), nullptr)));
        break;
      }
      case 'G': {  // BINFLOAT: big-endian double
        need(8);
        std::uint64_t u = 0;
        for (int i = 0; i < 8; ++i) u = (u << 8) | p_[pos_ + static_cast<std::size_t>(i)];
        pos_ += 8;
        double d;
        std::memcpy(&d, &u, 8);
        stack_.push_back(mk(d));
        break;
      }
      case 'S': {  // STRING: repr of a Python 2 str, quoted
        std::string s = read_line();
        if (s.size() >= 2 && (s.front() == '\'' || s.front() == '"')) s = s.substr(1, s.size() - 2);
        stack_.push_back(mk(std::move(s)));
        break;
      }
      case 'T':
        stack_.push_back(mk(read_bytes(read_uint(4))));
        break;
      case 'U':
        stack_.push_back(mk(read_bytes(read_uint(1))));
        break;
      case 'V':
        stack_.push_back(mk(raw_unicode_escape_to_utf8(read_line())));
        break;
      case 'X':
        stack_.push_back(mk(read_bytes(read_uint(4))));
        break;
      case 0x8c:
        stack_.push_back(mk(read_bytes(read_uint(1))));
        break;
      case 0x8d:
        stack_.push_back(mk(read_bytes(read_uint(8))));
        break;
      case 'B':
      case 'C':
      case 0x8e:
      case 0x96: {
        std::uint64_t k = read_uint(op == 'C' ? 1 : op == 'B' ? 4 : 8);
        std::string s = read_bytes(k);  // charged there; the copy below replaces it
        Bytes b;
        b.data.resize(s.size());
        if (!s.empty()) std::memcpy(b.data.data(), s.data(), s.size());  // data() may be null
        stack_.push_back(mk(std::move(b)));
        break;
      }
      case ']':
        stack_.push_back(mk(List{}));
        break;
      case 'l':
        stack_.push_back(mk(List{pop_mark()}));
        break;
      case 'a': {
        ValuePtr v = pop();
        append_to(top(), {v});
        break;
      }
      case 'e': {
        auto items = pop_mark();
        append_to(top(), std::move(items));
        break;
      }
      case ')':
        stack_.push_back(mk(Tuple{}));
        break;
      case 't':
        stack_.push_back(mk(Tuple{pop_mark()}));
        break;
      case 0x85:
      case 0x86:
      case 0x87: {
        std::size_t k = op - 0x84u;
        if (stack_.size() < k || (!marks_.empty() && stack_.size() - k < marks_.back()))
          fail("corrupt pickle (stack underflow)");
        Tuple t;
        for (std::size_t i = stack_.size() - k; i < stack_.size(); ++i)
          t.items.push_back(stack_[i]);
        stack_.resize(stack_.size() - k);
        stack_.push_back(mk(std::move(t)));
        break;
      }
      case '}':
        stack_.push_back(mk(Dict{}));
        break;
      case 'd': {
        auto d = mk(Dict{});
        setitems(d, pop_mark());
        stack_.push_back(d);
        break;
      }
      case 's': {
        ValuePtr v = pop();
        ValuePtr k = pop();
        setitems(top(), {k, v});
        break;
      }
      case 'u': {
        auto kv = pop_mark();
        setitems(top(), std::move(kv));
        break;
      }
      case 0x8f:
        stack_.push_back(mk(List{}));
        break;      // EMPTY_SET, kept as a list
      case 0x90: {  // ADDITEMS
        auto items = pop_mark();
        append_to(top(), std::move(items));
        break;
      }
      case 0x91:
        stack_.push_back(mk(List{pop_mark()}));
        break;  // FROZENSET
      case 'p': {
        std::string s = read_line();
        charge_slots(2);
        memo_[std::strtoull(s.c_str(), nullptr, 10)] = top();
        break;
      }
      case 'q':
        charge_slots(2);
        memo_[read_uint(1)] = top();
        break;
      case 'r':
        charge_slots(2);
        memo_[read_uint(4)] = top();
        break;
      case 0x94:
        charge_slots(2);
        memo_[memo_.size()] = top();
        break;  // MEMOIZE
      case 'g':
      case 'h':
      case 'j': {
        std::uint64_t idx = op == 'g' ? std::strtoull(read_line().c_str(), nullptr, 10)
                                      : read_uint(op == 'h' ? 1 : 4);
        auto it = memo_.find(idx);
        if (it == memo_.end())
          fail("corrupt pickle (memo key " + std::to_string(idx) + " missing)");
        charge_slots(1);
        stack_.push_back(it->second);
        break;
      }
      case 'c': {
        std::string module = read_line();
        std::string name = read_line();
        stack_.push_back(make_global(std::move(module), std::move(name)));
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        ValuePtr name = pop();
        ValuePtr module = pop();
        if (!name->is<std::string>() || !module->is<std::string>())
          fail("corrupt pickle (STACK_GLOBAL needs two strings)");
        stack_.push_back(make_global(module->as<std::string>(), name->as<std::string>()));
        break;
      }
      case 'R': {
        ValuePtr args = pop();
        ValuePtr callable = pop();
        if (!args->is<Tuple>()) fail("corrupt pickle (REDUCE arguments are not a tuple)");
        stack_.push_back(reduce(callable, args->as<Tuple>().items));
        break;
      }
      case 0x81:
      case 0x92: {              // NEWOBJ, NEWOBJ_EX: cls.__new__(cls, *args)
        if (op == 0x92) pop();  // kwargs
        ValuePtr args = pop();
        ValuePtr cls = pop();
        if (!cls->is<Global>()) fail("corrupt pickle (NEWOBJ on a " + cls->type_name() + ")");
        if (is_global(cls, "collections", "OrderedDict")) {
          stack_.push_back(mk(Dict{}));
        } else {
          std::vector<ValuePtr> a;
          if (args->is<Tuple>()) {
            charge_slots(args->as<Tuple>().items.size());
            a = args->as<Tuple>().items;
          }
          stack_.push_back(mk(Object{cls->as<Global>(), std::move(a), nullptr, {}, {}}));
        }
        break;
      }
      case 'o': {  // OBJ: mark, cls, args...
        auto items = pop_mark();
        if (items.empty() || !items[0]->is<Global>()) fail("corrupt pickle (bad OBJ)");
        Global g = items[0]->as<Global>();
        items.erase(items.begin());
        stack_.push_back(mk(Object{std::move(g), std::move(items), nullptr, {}, {}}));
        break;
      }
      case 'i': {  // INST: module\nname\n, mark args...
        std::string module = read_line();
        std::string name = read_line();
        ValuePtr g = make_global(module, name);
        auto items = pop_mark();
        stack_.push_back(mk(Object{g->as<Global>(), std::move(items), nullptr, {}, {}}));
        break;
      }
      case 'b': {
        ValuePtr state = pop();
        build(top(), state);
        break;
      }
      case 'P':
      case 'Q': {
        ValuePtr pid = op == 'P' ? mk(read_line()) : pop();
        if (!persistent_load_)
          fail("pickle refers to external data (persistent id) it cannot load");
        std::vector<ValuePtr> items;
        if (pid->is<Tuple>())
          items = pid->as<Tuple>().items;
        else
          items.push_back(pid);
        stack_.push_back(persistent_load_(items));
        break;
      }
      case 0x82:
      case 0x83:
      case 0x84:
        fail("unsupported pickle opcode EXT (copyreg extension registry); re-save with torch.save");
      case 0x97:
      case 0x98:
        fail("pickle uses out-of-band buffers (protocol 5 NEXT_BUFFER), which a file cannot hold");
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        fail(std::string("unknown pickle opcode ") + hex + "; not a pickle, or a corrupt one");
      }
    }
  }
}

}  // namespace

bool is_allowed_global(const std::string& module, const std::string& name) {
  for (const auto& g : kAllowedGlobals) {
    if (module != g.module) continue;
    if (g.name[0] == '*') {
      const std::size_t n = std::strlen(g.name + 1);
      if (name.size() > n && name.compare(name.size() - n, n, g.name + 1) == 0) return true;
    } else if (name == g.name) {
      return true;
    }
  }
  return false;
}

std::string Value::type_name() const {
  struct Namer {
    std::string operator()(const None&) const { return "None"; }
    std::string operator()(bool) const { return "bool"; }
    std::string operator()(std::int64_t) const { return "int"; }
    std::string operator()(double) const { return "float"; }
    std::string operator()(const std::string&) const { return "str"; }
    std::string operator()(const Bytes&) const { return "bytes"; }
    std::string operator()(const List&) const { return "list"; }
    std::string operator()(const Tuple&) const { return "tuple"; }
    std::string operator()(const Dict&) const { return "dict"; }
    std::string operator()(const Global& g) const { return "global " + qualified(g); }
    std::string operator()(const Object& o) const { return "object " + qualified(o.cls); }
    std::string operator()(const std::shared_ptr<Storage>&) const { return "storage"; }
    std::string operator()(const Tensor&) const { return "tensor"; }
    std::string operator()(const NdArray&) const { return "ndarray"; }
    std::string operator()(const NpDType&) const { return "numpy dtype"; }
  };
  return std::visit(Namer{}, v);
}

ValuePtr Value::get(const std::string& key) const {
  auto find_in = [&](const std::vector<std::pair<ValuePtr, ValuePtr>>& items) -> ValuePtr {
    for (const auto& [k, val] : items)
      if (k && k->is<std::string>() && k->as<std::string>() == key) return val;
    return nullptr;
  };
  if (is<Dict>()) return find_in(as<Dict>().items);
  if (is<Object>()) {
    const auto& o = as<Object>();
    if (o.state && o.state->is<Dict>())
      if (auto r = find_in(o.state->as<Dict>().items)) return r;
    // (state, slotstate) tuples
    if (o.state && o.state->is<Tuple>())
      for (const auto& part : o.state->as<Tuple>().items)
        if (part->is<Dict>())
          if (auto r = find_in(part->as<Dict>().items)) return r;
    return find_in(o.dict_items);
  }
  return nullptr;
}

const std::vector<ValuePtr>& Value::sequence() const {
  if (is<List>()) return as<List>().items;
  if (is<Tuple>()) return as<Tuple>().items;
  throw Error("expected a list or tuple, found a " + type_name());
}

ValuePtr load(const std::byte* data, std::size_t size, const std::string& what,
              const PersistentLoader& persistent_load, std::uint64_t max_memory) {
  Machine m(data, size, what, persistent_load, max_memory);
  return m.run();
}

// Exposed for the torch reader: the dtype of a torch.*Storage class name.
bool torch_storage_dtype(const std::string& name, DType& out) {
  return storage_type_to_dtype(name, out);
}

}  // namespace actlens::io::pickle
