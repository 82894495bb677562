// xapi::Value <-> Napi::Value. Objects are built with napi_define_properties in one call per
// struct (data properties, so a '__proto__' member never reaches a setter). Only the main
// thread may call these; they must not keep JS handles beyond the call.
#include "napi/convert.h"

#include <cmath>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "xapi/datetime.h"

namespace xapi::js {
namespace {

constexpr int64_t kMaxSafe = 9007199254740991;  // 2^53 - 1

// Builds JS values from one decoded tree. Member names repeat across records, so each distinct
// one (up to a bound) is created once per conversion and reused: V8 strings are immutable, so
// sharing them is invisible to JS. Values are mostly unique (refs, uuids) and are not cached.
class ToJs {
 public:
  explicit ToJs(napi_env env) : env_(env) {}

  napi_value convert(const Value& v) {
    napi_value out = nullptr;
    switch (v.kind()) {
      case Value::Kind::Nil:
        check(napi_get_null(env_, &out));
        break;
      case Value::Kind::String:
        out = v.str().empty() ? cached(v.str()) : make_string(v.str());
        break;
      case Value::Kind::Int: {
        int64_t i = v.integer();
        if (i >= -kMaxSafe && i <= kMaxSafe)
          check(napi_create_int64(env_, i, &out));
        else
          check(napi_create_bigint_int64(env_, i, &out));
        break;
      }
      case Value::Kind::Double:
        check(napi_create_double(env_, v.dbl(), &out));
        break;
      case Value::Kind::Bool:
        check(napi_get_boolean(env_, v.boolean(), &out));
        break;
      case Value::Kind::DateTime: {
        const DateTime& dt = v.datetime();
        if (dt.valid)
          check(napi_create_date(env_, static_cast<double>(dt.epoch_ms), &out));
        else
          out = make_string(dt.text);
        break;
      }
      case Value::Kind::Array: {
        const Array& a = v.array();
        check(napi_create_array_with_length(env_, a.size(), &out));
        for (size_t i = 0; i < a.size(); ++i) check(napi_set_element(env_, out, static_cast<uint32_t>(i), convert(a[i])));
        break;
      }
      case Value::Kind::Struct:
        out = object(v.members());
        break;
    }
    return out;
  }

 private:
  static constexpr size_t kMaxCached = 4096;

  void check(napi_status status) {
    if (status != napi_ok) throw Napi::Error::New(env_);
  }

  // ASCII text (nearly all of XAPI's) is created as Latin-1, which V8 copies without decoding.
  napi_value make_string(const std::string& s) {
    napi_value out;
    if (is_ascii(s))
      check(napi_create_string_latin1(env_, s.data(), s.size(), &out));
    else
      check(napi_create_string_utf8(env_, s.data(), s.size(), &out));
    return out;
  }

  static bool is_ascii(const std::string& s) {
    const char* p = s.data();
    size_t n = s.size();
    uint64_t acc = 0;
    for (; n >= 8; p += 8, n -= 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      acc |= w;
    }
    for (; n > 0; ++p, --n) acc |= static_cast<unsigned char>(*p);
    return (acc & 0x8080808080808080ULL) == 0;
  }

  napi_value cached(const std::string& s) {
    if (cache_.size() >= kMaxCached) {
      auto it = cache_.find(s);
      return it != cache_.end() ? it->second : make_string(s);
    }
    auto [it, inserted] = cache_.try_emplace(std::string_view(s), nullptr);
    if (inserted) it->second = make_string(s);
    return it->second;
  }

  napi_value object(const Struct& s) {
    napi_value obj;
    check(napi_create_object(env_, &obj));
    if (s.empty()) return obj;
    size_t base = props_used_;
    props_used_ += s.size();
    if (props_.size() < props_used_) props_.resize(props_used_);
    for (size_t i = 0; i < s.size(); ++i) {
      napi_value name = cached(s[i].first);
      napi_value value = convert(s[i].second);
      napi_property_descriptor& d = props_[base + i];
      d = napi_property_descriptor{};
      d.name = name;
      d.value = value;
      d.attributes = static_cast<napi_property_attributes>(napi_writable | napi_enumerable | napi_configurable);
    }
    check(napi_define_properties(env_, obj, s.size(), props_.data() + base));
    props_used_ = base;
    return obj;
  }

  napi_env env_;
  // Keys view strings inside the tree being converted, which outlives this object.
  std::unordered_map<std::string_view, napi_value> cache_;
  // Descriptor stack shared by nested structs (each uses a slice above its parent's).
  std::vector<napi_property_descriptor> props_;
  size_t props_used_ = 0;
};

class FromJs {
 public:
  explicit FromJs(Napi::Env env)
      : env_(env), double_tag_(Napi::Symbol::For(env, kDoubleTag)), int_tag_(Napi::Symbol::For(env, kIntTag)) {}

  Value convert(Napi::Value v, int depth) {
    switch (v.Type()) {
      case napi_undefined:
      case napi_null:
        return Value();
      case napi_boolean:
        return Value(v.As<Napi::Boolean>().Value());
      case napi_number:
        return number(v.As<Napi::Number>().DoubleValue());
      case napi_bigint:
        return bigint(v.As<Napi::BigInt>());
      case napi_string:
        return Value(v.As<Napi::String>().Utf8Value());
      case napi_object:
        return object(v.As<Napi::Object>(), depth);
      default:
        throw Napi::TypeError::New(env_, "XAPI values cannot be functions, symbols or externals");
    }
  }

 private:
  static Value number(double d) {
    if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) <= static_cast<double>(kMaxSafe))
      return Value(static_cast<int64_t>(d));
    return Value(d);
  }

  Value bigint(Napi::BigInt b) {
    bool lossless = false;
    int64_t i = b.Int64Value(&lossless);
    if (!lossless) throw Napi::RangeError::New(env_, "BigInt outside the int64 range");
    return Value(i);
  }

  Value forced_int(Napi::Value v) {
    if (v.IsBigInt()) return bigint(v.As<Napi::BigInt>());
    if (v.IsNumber()) {
      double d = v.As<Napi::Number>().DoubleValue();
      if (!std::isfinite(d) || std::trunc(d) != d || std::fabs(d) > static_cast<double>(kMaxSafe))
        throw Napi::RangeError::New(env_, "xapi.int: number is not a safe integer");
      return Value(static_cast<int64_t>(d));
    }
    if (v.IsString()) {
      std::string s = v.As<Napi::String>().Utf8Value();
      size_t pos = 0;
      int64_t i = 0;
      try {
        i = std::stoll(s, &pos, 10);
      } catch (const std::exception&) {
        pos = 0;
      }
      if (s.empty() || pos != s.size() || !(s[0] == '-' || (s[0] >= '0' && s[0] <= '9')))
        throw Napi::RangeError::New(env_, "xapi.int: string is not a decimal int64");
      return Value(static_cast<int64_t>(i));
    }
    throw Napi::TypeError::New(env_, "xapi.int expects a number, a bigint or a decimal string");
  }

  Value object(Napi::Object o, int depth) {
    if (depth >= kMaxJsDepth) throw Napi::RangeError::New(env_, "value nested too deeply (or cyclic)");
    if (o.IsArray()) {
      Napi::Array a = o.As<Napi::Array>();
      uint32_t n = a.Length();
      Array out;
      out.reserve(n);
      for (uint32_t i = 0; i < n; ++i) out.push_back(convert(a.Get(i), depth + 1));
      return Value(std::move(out));
    }
    if (o.IsDate()) {
      double ms = o.As<Napi::Date>().ValueOf();
      if (!std::isfinite(ms)) throw Napi::RangeError::New(env_, "invalid Date");
      DateTime dt;
      dt.epoch_ms = static_cast<int64_t>(ms);
      dt.valid = true;
      dt.text = format_datetime(dt.epoch_ms);
      return Value(std::move(dt));
    }
    if (o.IsBuffer() || o.IsTypedArray() || o.IsArrayBuffer() || o.IsPromise())
      throw Napi::TypeError::New(env_, "XAPI values cannot be buffers, typed arrays or promises");
    if (o.Has(double_tag_)) {
      Napi::Value inner = o.Get(double_tag_);
      if (!inner.IsNumber()) throw Napi::TypeError::New(env_, "xapi.double expects a number");
      return Value(inner.As<Napi::Number>().DoubleValue());
    }
    if (o.Has(int_tag_)) return forced_int(o.Get(int_tag_));
    Napi::Array keys = o.GetPropertyNames();  // own and inherited enumerable string keys
    uint32_t n = keys.Length();
    Struct out;
    out.reserve(n);
    for (uint32_t i = 0; i < n; ++i) {
      Napi::Value key = keys.Get(i);
      if (!o.HasOwnProperty(key)) continue;
      Napi::Value member = o.Get(key);
      if (member.IsUndefined()) continue;
      out.emplace_back(key.ToString().Utf8Value(), convert(member, depth + 1));
    }
    return Value(std::move(out));
  }

  Napi::Env env_;
  Napi::Symbol double_tag_;
  Napi::Symbol int_tag_;
};

}  // namespace

Napi::Value to_js(Napi::Env env, const Value& v) { return Napi::Value(env, ToJs(env).convert(v)); }

Value from_js(Napi::Value v) { return FromJs(v.Env()).convert(v, 0); }

}  // namespace xapi::js
