// decodeIntoMirror (see mirror_exports.h): the same steps as EventStream::load_class after the
// HTTP answer (decode_bulk, rows_of_all_records, replace_class), timed natively. Holds no state
// between calls; the scratch mirror lives for one call.
#include "napi/mirror_exports.h"

#include <chrono>
#include <string>
#include <string_view>

#include "napi/schema_js.h"
#include "xapi/bulk_decode.h"
#include "xapi/mirror.h"

namespace xapi::js {

Napi::Value DecodeIntoMirror(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray() || !info[1].IsString() || !info[2].IsString() || !info[3].IsBuffer())
    throw Napi::TypeError::New(env, "decodeIntoMirror(schema, cls, protocol, body)");
  std::shared_ptr<const Schema> schema = schema_from_js(info[0]);
  int cls = schema->class_index(info[1].As<Napi::String>().Utf8Value());
  if (cls < 0) throw Napi::TypeError::New(env, "unknown class");
  bool json = info[2].As<Napi::String>().Utf8Value() == "json-rpc";
  auto buf = info[3].As<Napi::Buffer<char>>();
  std::string mode = info[4].IsString() ? info[4].As<Napi::String>().Utf8Value() : "auto";
  Sharing sharing = mode == "alone" ? Sharing::Alone : mode == "helper" ? Sharing::Helper : Sharing::Auto;
  using clock = std::chrono::steady_clock;
  auto ms = [](clock::time_point a, clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
  };
  auto t0 = clock::now();
  Response r;
  try {
    r = decode_bulk(std::string_view(buf.Data(), buf.Length()), json ? Protocol::JsonRpc : Protocol::XmlRpc, sharing);
  } catch (const DecodeError& e) {
    throw Napi::Error::New(env, e.what());
  }
  auto t1 = clock::now();
  Mirror scratch(schema, {cls});
  std::vector<RowPtr> rows = scratch.rows_of_all_records(cls, r.value, sharing);
  size_t bytes = 0;
  for (auto& row : rows) bytes += row->data.size() + row->ref.size() + row->uuid.size();
  size_t n = rows.size();
  scratch.replace_class(cls, std::move(rows), nullptr);
  auto t2 = clock::now();
  r.value = Value();
  auto t3 = clock::now();
  Napi::Object o = Napi::Object::New(env);
  o.Set("decodeMs", ms(t0, t1));
  o.Set("buildMs", ms(t1, t2));
  o.Set("freeMs", ms(t2, t3));
  o.Set("totalMs", ms(t0, t2));
  o.Set("rows", static_cast<double>(n));
  o.Set("rowBytes", static_cast<double>(bytes));
  return o;
}

}  // namespace xapi::js
