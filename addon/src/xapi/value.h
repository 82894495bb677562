// The XAPI value model: one tagged value type that both codecs decode into and encode from,
// and that the mirror stores. Plain C++17, no N-API: background threads build and read these.
// It must stay a small value type; conversions to JS live in src/napi/.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace xapi {

struct Value;
using Array = std::vector<Value>;
// Struct members keep wire order; lookups are linear, which is fastest for record-sized structs.
using Struct = std::vector<std::pair<std::string, Value>>;

// A datetime as it came off the wire, kept as text plus its parsed UTC instant when the text
// parsed. xapi writes `YYYYMMDDTHH:MM:SSZ`; older hosts and other clients send other forms.
struct DateTime {
  std::string text;
  bool valid = false;
  int64_t epoch_ms = 0;
};

struct Nil {};

struct Value {
  enum class Kind { Nil, String, Int, Double, Bool, DateTime, Array, Struct };
  std::variant<Nil, std::string, int64_t, double, bool, DateTime, Array, Struct> v;

  Value() : v(Nil{}) {}
  Value(std::string s) : v(std::move(s)) {}
  Value(const char* s) : v(std::string(s)) {}
  Value(int64_t i) : v(i) {}
  Value(int i) : v(static_cast<int64_t>(i)) {}
  Value(double d) : v(d) {}
  Value(bool b) : v(b) {}
  Value(DateTime d) : v(std::move(d)) {}
  Value(Array a) : v(std::move(a)) {}
  Value(Struct s) : v(std::move(s)) {}

  Kind kind() const { return static_cast<Kind>(v.index()); }
  bool is_nil() const { return kind() == Kind::Nil; }
  bool is_string() const { return kind() == Kind::String; }
  bool is_struct() const { return kind() == Kind::Struct; }
  bool is_array() const { return kind() == Kind::Array; }

  const std::string& str() const { return std::get<std::string>(v); }
  std::string& str() { return std::get<std::string>(v); }
  int64_t integer() const { return std::get<int64_t>(v); }
  double dbl() const { return std::get<double>(v); }
  bool boolean() const { return std::get<bool>(v); }
  const DateTime& datetime() const { return std::get<DateTime>(v); }
  const Array& array() const { return std::get<Array>(v); }
  Array& array() { return std::get<Array>(v); }
  const Struct& members() const { return std::get<Struct>(v); }
  Struct& members() { return std::get<Struct>(v); }

  // Member of a struct by name, or nullptr when absent or when this is not a struct.
  const Value* get(const std::string& name) const {
    if (!is_struct()) return nullptr;
    for (const auto& m : members())
      if (m.first == name) return &m.second;
    return nullptr;
  }
};

// What one RPC response decodes to, in either protocol: the result when `ok`, otherwise XAPI's
// ErrorDescription verbatim (error code first, then its parameters, all as strings).
struct Response {
  bool ok = true;
  Value value;
  std::vector<std::string> error;
};

// Limits and leniency of the decoders (xmlrpc.h, jsonrpc.h). Input size bounds output size.
struct DecodeOptions {
  size_t max_depth = 128;    // nested arrays/structs; deeper input is rejected
  bool repair_utf8 = true;   // invalid UTF-8 becomes U+FFFD; false: reject the body
};

// A body the decoders refuse: malformed, too deep, or (without repair) invalid UTF-8.
class DecodeError : public std::runtime_error {
 public:
  DecodeError(const std::string& what, size_t offset)
      : std::runtime_error(what + " at byte " + std::to_string(offset)), offset_(offset) {}
  size_t offset() const { return offset_; }

 private:
  size_t offset_;
};

}  // namespace xapi
