// Encoded mirror rows -> JS values, read with the row form's own reader (xapi/row_blob.h), with
// the same value rules as convert.cc (ints as numbers or BigInt beyond 2^53, valid datetimes as
// Date), and filter specs -> Cond. Main thread only; it never parses the byte layout itself.
#include "napi/mirror_js.h"

#include <string_view>

namespace xapi::js {
namespace {

constexpr int64_t kMaxSafe = 9007199254740991;

void check(napi_env env, napi_status s) {
  if (s != napi_ok) throw Napi::Error::New(env, "N-API call failed while reading the mirror");
}

napi_value str(napi_env env, std::string_view s) {
  napi_value v;
  check(env, napi_create_string_utf8(env, s.data(), s.size(), &v));
  return v;
}

napi_value decode(napi_env env, const BlobValue& v) {
  napi_value out = nullptr;
  switch (v.tag) {
    case BlobTag::Nil:
      check(env, napi_get_null(env, &out));
      return out;
    case BlobTag::String:
      return str(env, v.text);
    case BlobTag::Int:
      if (v.integer >= -kMaxSafe && v.integer <= kMaxSafe) check(env, napi_create_int64(env, v.integer, &out));
      else check(env, napi_create_bigint_int64(env, v.integer, &out));
      return out;
    case BlobTag::Double:
      check(env, napi_create_double(env, v.dbl, &out));
      return out;
    case BlobTag::True:
    case BlobTag::False:
      check(env, napi_get_boolean(env, v.boolean(), &out));
      return out;
    case BlobTag::DateTime:
      if (!v.valid) return str(env, v.text);
      check(env, napi_create_date(env, static_cast<double>(v.integer), &out));
      return out;
    case BlobTag::Array: {
      check(env, napi_create_array_with_length(env, v.count, &out));
      BlobCursor items(v.body);
      for (uint64_t i = 0; i < v.count; i++)
        check(env, napi_set_element(env, out, static_cast<uint32_t>(i), decode(env, items.value())));
      return out;
    }
    case BlobTag::Struct: {
      check(env, napi_create_object(env, &out));
      if (v.count == 0) return out;
      std::vector<napi_property_descriptor> props(v.count);
      BlobCursor members(v.body);
      for (auto& prop : props) {
        prop.name = str(env, members.key());
        prop.value = decode(env, members.value());
        prop.attributes = static_cast<napi_property_attributes>(napi_writable | napi_enumerable | napi_configurable);
      }
      check(env, napi_define_properties(env, out, props.size(), props.data()));
      return out;
    }
  }
  check(env, napi_get_undefined(env, &out));
  return out;
}

Value scalar_from_js(Napi::Value v) {
  if (v.IsString()) return Value(v.As<Napi::String>().Utf8Value());
  if (v.IsBoolean()) return Value(v.As<Napi::Boolean>().Value());
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (d == static_cast<double>(static_cast<int64_t>(d)) && d > -9.2e18 && d < 9.2e18)
      return Value(static_cast<int64_t>(d));
    return Value(d);
  }
  throw Napi::TypeError::New(v.Env(), "filter values must be strings, numbers or booleans");
}

}  // namespace

napi_value KeyCache::keys_of(napi_env env, int cls) {
  if (refs_.size() <= static_cast<size_t>(cls)) refs_.resize(static_cast<size_t>(cls) + 1, nullptr);
  napi_ref& r = refs_[static_cast<size_t>(cls)];
  napi_value arr;
  if (r) {
    check(env, napi_get_reference_value(env, r, &arr));
    return arr;
  }
  check(env, napi_create_array(env, &arr));
  check(env, napi_create_reference(env, arr, 1, &r));
  return arr;
}

napi_value KeyCache::field(napi_env env, napi_value keys, uint32_t id, const std::string& name) {
  napi_value out;
  check(env, napi_get_element(env, keys, id, &out));
  napi_valuetype t;
  check(env, napi_typeof(env, out, &t));
  if (t == napi_string) return out;
  out = str(env, name);
  check(env, napi_set_element(env, keys, id, out));
  return out;
}

void KeyCache::release(napi_env env) {
  for (auto& r : refs_)
    if (r) napi_delete_reference(env, r);
  refs_.clear();
}

napi_value row_to_js(napi_env env, KeyCache& keys, int cls_idx, const ClassSchema& cls, const Row& row,
                     const std::vector<int>* fields) {
  std::vector<napi_property_descriptor> props;
  props.reserve((fields ? fields->size() : cls.fields.size()) + 1);
  auto add = [&](napi_value name, napi_value value) {
    napi_property_descriptor d = {};
    d.name = name;
    d.value = value;
    d.attributes = static_cast<napi_property_attributes>(napi_writable | napi_enumerable | napi_configurable);
    props.push_back(d);
  };
  napi_value key_array = keys.keys_of(env, cls_idx);
  const std::string kRef = "$ref";
  add(keys.field(env, key_array, static_cast<uint32_t>(cls.fields.size()), kRef),
      str(env, row.ref));
  auto one = [&](int id) {
    const uint8_t* p = row.field(id);
    if (!p) return;
    add(keys.field(env, key_array, static_cast<uint32_t>(id), cls.fields[static_cast<size_t>(id)]),
        decode(env, BlobCursor(p).value()));
  };
  if (fields) {
    for (int id : *fields) one(id);
  } else {
    for (size_t id = 0; id < cls.fields.size(); id++) one(static_cast<int>(id));
  }
  napi_value obj;
  check(env, napi_create_object(env, &obj));
  check(env, napi_define_properties(env, obj, props.size(), props.data()));
  return obj;
}

std::vector<Cond> where_from_js(const ClassSchema& cls, Napi::Value spec) {
  std::vector<Cond> out;
  if (!spec.IsArray()) return out;
  auto arr = spec.As<Napi::Array>();
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value item = arr.Get(i);
    if (!item.IsArray()) throw Napi::TypeError::New(spec.Env(), "malformed filter");
    auto t = item.As<Napi::Array>();
    Cond c;
    std::string field = t.Get(0u).As<Napi::String>().Utf8Value();
    auto it = cls.field_ids.find(field);
    c.field = it == cls.field_ids.end() ? -1 : it->second;
    Napi::Value key = t.Get(1u);
    if (key.IsString()) {
      c.has_key = true;
      c.key = key.As<Napi::String>().Utf8Value();
    }
    std::string op = t.Get(2u).As<Napi::String>().Utf8Value();
    c.op = op == "in" ? Cond::Op::In : op == "exists" ? Cond::Op::Exists : op == "missing" ? Cond::Op::Missing : Cond::Op::Eq;
    Napi::Value vals = t.Get(3u);
    if (vals.IsArray()) {
      auto va = vals.As<Napi::Array>();
      for (uint32_t j = 0; j < va.Length(); j++) c.values.push_back(scalar_from_js(va.Get(j)));
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace xapi::js
