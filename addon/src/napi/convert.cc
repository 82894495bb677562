// xapi::Value <-> Napi::Value. Objects are built with napi_define_properties in one call per
// struct (data properties, so a '__proto__' member never reaches a setter). Only the main
// thread may call these; they must not keep JS handles beyond the call.
#include "napi/convert.h"

#include <cmath>
#include <string>
#include <vector>

#include "xapi/datetime.h"

namespace xapi::js {
namespace {

constexpr int64_t kMaxSafe = 9007199254740991;  // 2^53 - 1

void check(Napi::Env env, napi_status status) {
  if (status != napi_ok) throw Napi::Error::New(env);
}

napi_value to_js_raw(napi_env env, const Value& v);

napi_value struct_to_js(napi_env env, const Struct& s) {
  napi_value obj;
  check(env, napi_create_object(env, &obj));
  if (s.empty()) return obj;
  std::vector<napi_property_descriptor> props(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    napi_property_descriptor& d = props[i];
    check(env, napi_create_string_utf8(env, s[i].first.data(), s[i].first.size(), &d.name));
    d.value = to_js_raw(env, s[i].second);
    d.attributes = static_cast<napi_property_attributes>(napi_writable | napi_enumerable | napi_configurable);
  }
  check(env, napi_define_properties(env, obj, props.size(), props.data()));
  return obj;
}

napi_value to_js_raw(napi_env env, const Value& v) {
  napi_value out = nullptr;
  switch (v.kind()) {
    case Value::Kind::Nil:
      check(env, napi_get_null(env, &out));
      break;
    case Value::Kind::String:
      check(env, napi_create_string_utf8(env, v.str().data(), v.str().size(), &out));
      break;
    case Value::Kind::Int: {
      int64_t i = v.integer();
      if (i >= -kMaxSafe && i <= kMaxSafe)
        check(env, napi_create_int64(env, i, &out));
      else
        check(env, napi_create_bigint_int64(env, i, &out));
      break;
    }
    case Value::Kind::Double:
      check(env, napi_create_double(env, v.dbl(), &out));
      break;
    case Value::Kind::Bool:
      check(env, napi_get_boolean(env, v.boolean(), &out));
      break;
    case Value::Kind::DateTime: {
      const DateTime& dt = v.datetime();
      if (dt.valid)
        check(env, napi_create_date(env, static_cast<double>(dt.epoch_ms), &out));
      else
        check(env, napi_create_string_utf8(env, dt.text.data(), dt.text.size(), &out));
      break;
    }
    case Value::Kind::Array: {
      const Array& a = v.array();
      check(env, napi_create_array_with_length(env, a.size(), &out));
      for (size_t i = 0; i < a.size(); ++i)
        check(env, napi_set_element(env, out, static_cast<uint32_t>(i), to_js_raw(env, a[i])));
      break;
    }
    case Value::Kind::Struct:
      out = struct_to_js(env, v.members());
      break;
  }
  return out;
}

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

Napi::Value to_js(Napi::Env env, const Value& v) { return Napi::Value(env, to_js_raw(env, v)); }

Value from_js(Napi::Value v) { return FromJs(v.Env()).convert(v, 0); }

}  // namespace xapi::js
