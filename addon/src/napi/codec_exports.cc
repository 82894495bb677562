// JS entry points to the codecs (see codec_exports.h): encode a call or a response, decode a
// response or a call, in both protocols, the bulk decode of get_all_records answers, plus
// decode-only timing helpers for benchmarks.
// Arguments are checked only so nothing can crash; decode failures throw an Error with code
// 'DECODE_ERROR' and the byte offset. It holds no state and the client never calls through it.
#include "napi/codec_exports.h"

#include <chrono>
#include <ctime>
#include <string>

#include "napi/convert.h"
#include "xapi/bulk_decode.h"
#include "xapi/datetime.h"
#include "xapi/jsonrpc.h"
#include "xapi/xmlrpc.h"

namespace xapi::js {
namespace {

// The bytes of a Buffer or string argument. A Buffer is viewed in place; a string is copied.
class Body {
 public:
  Body(const Napi::CallbackInfo& info, size_t index) {
    Napi::Value v = info[index];
    if (v.IsBuffer()) {
      auto b = v.As<Napi::Buffer<char>>();
      view_ = std::string_view(b.Data(), b.Length());
    } else if (v.IsString()) {
      copy_ = v.As<Napi::String>().Utf8Value();
      view_ = copy_;
    } else {
      throw Napi::TypeError::New(info.Env(), "body must be a Buffer or a string");
    }
  }
  std::string_view view() const { return view_; }

 private:
  std::string copy_;
  std::string_view view_;
};

DecodeOptions decode_options(const Napi::CallbackInfo& info, size_t index) {
  DecodeOptions o;
  if (info.Length() <= index || !info[index].IsObject()) return o;
  Napi::Object opts = info[index].As<Napi::Object>();
  Napi::Value depth = opts.Get("maxDepth");
  if (depth.IsNumber()) {
    double d = depth.As<Napi::Number>().DoubleValue();
    if (d >= 1 && d <= 10000) o.max_depth = static_cast<size_t>(d);
  }
  Napi::Value repair = opts.Get("repairUtf8");
  if (repair.IsBoolean()) o.repair_utf8 = repair.As<Napi::Boolean>().Value();
  return o;
}

XmlRpcEncodeOptions xml_encode_options(const Napi::CallbackInfo& info, size_t index) {
  XmlRpcEncodeOptions o;
  if (info.Length() > index && info[index].IsObject()) {
    Napi::Value ints = info[index].As<Napi::Object>().Get("ints");
    if (ints.IsString() && ints.As<Napi::String>().Utf8Value() == "i8") o.ints = XmlRpcEncodeOptions::Ints::I8;
  }
  return o;
}

std::string method_arg(const Napi::CallbackInfo& info) {
  if (!info[0].IsString()) throw Napi::TypeError::New(info.Env(), "method must be a string");
  return info[0].As<Napi::String>().Utf8Value();
}

Array params_arg(const Napi::CallbackInfo& info, size_t index) {
  if (!info[index].IsArray()) throw Napi::TypeError::New(info.Env(), "params must be an array");
  Value v = from_js(info[index]);
  return std::move(v.array());
}

// { ok: true, value } or { ok: false, error: [code, ...params] } from JS.
Response response_arg(const Napi::CallbackInfo& info, size_t index) {
  if (!info[index].IsObject()) throw Napi::TypeError::New(info.Env(), "response must be an object");
  Napi::Object o = info[index].As<Napi::Object>();
  Response r;
  Napi::Value error = o.Get("error");
  if (error.IsArray()) {
    r.ok = false;
    Napi::Array a = error.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); ++i) r.error.push_back(a.Get(i).ToString().Utf8Value());
  } else {
    r.value = from_js(o.Get("value"));
  }
  return r;
}

JsonRpcVersion version_arg(const Napi::CallbackInfo& info, size_t index) {
  if (info.Length() > index && info[index].IsNumber() && info[index].As<Napi::Number>().Int32Value() == 1)
    return JsonRpcVersion::V1;
  return JsonRpcVersion::V2;
}

int64_t id_arg(const Napi::CallbackInfo& info, size_t index) {
  if (info.Length() > index && info[index].IsNumber()) return info[index].As<Napi::Number>().Int64Value();
  return 0;
}

Napi::Value to_buffer(Napi::Env env, const std::string& s) { return Napi::Buffer<char>::Copy(env, s.data(), s.size()); }

Napi::Value response_to_js(Napi::Env env, const Response& r) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("ok", Napi::Boolean::New(env, r.ok));
  if (r.ok) {
    out.Set("value", to_js(env, r.value));
  } else {
    Napi::Array e = Napi::Array::New(env, r.error.size());
    for (size_t i = 0; i < r.error.size(); ++i) e.Set(static_cast<uint32_t>(i), Napi::String::New(env, r.error[i]));
    out.Set("error", e);
  }
  return out;
}

[[noreturn]] void throw_decode_error(Napi::Env env, const DecodeError& e) {
  Napi::Error err = Napi::Error::New(env, e.what());
  err.Set("code", Napi::String::New(env, "DECODE_ERROR"));
  err.Set("offset", Napi::Number::New(env, static_cast<double>(e.offset())));
  throw err;
}

template <typename F>
auto decoding(Napi::Env env, F f) -> decltype(f()) {
  try {
    return f();
  } catch (const DecodeError& e) {
    throw_decode_error(env, e);
  }
}

// CPU time of the calling thread: on a shared machine it excludes time spent waiting for a core.
double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

size_t count_values(const Value& v) {
  size_t n = 1;
  if (v.is_array())
    for (const auto& item : v.array()) n += count_values(item);
  else if (v.is_struct())
    for (const auto& m : v.members()) n += count_values(m.second);
  return n;
}

Napi::Value XmlRpcEncodeCall(const Napi::CallbackInfo& info) {
  return to_buffer(info.Env(), xmlrpc_encode_call(method_arg(info), params_arg(info, 1), xml_encode_options(info, 2)));
}

Napi::Value XmlRpcEncodeResponse(const Napi::CallbackInfo& info) {
  return to_buffer(info.Env(), xmlrpc_encode_response(response_arg(info, 0), xml_encode_options(info, 1)));
}

Napi::Value XmlRpcDecodeResponse(const Napi::CallbackInfo& info) {
  Body body(info, 0);
  Response r = decoding(info.Env(), [&] { return xmlrpc_decode_response(body.view(), decode_options(info, 1)); });
  return response_to_js(info.Env(), r);
}

Napi::Value XmlRpcDecodeCall(const Napi::CallbackInfo& info) {
  Body body(info, 0);
  Call c = decoding(info.Env(), [&] { return xmlrpc_decode_call(body.view(), decode_options(info, 1)); });
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("method", Napi::String::New(info.Env(), c.method));
  out.Set("params", to_js(info.Env(), Value(std::move(c.params))));
  return out;
}

Napi::Value JsonRpcEncodeCall(const Napi::CallbackInfo& info) {
  return to_buffer(info.Env(),
                   jsonrpc_encode_call(method_arg(info), params_arg(info, 1), id_arg(info, 2), version_arg(info, 3)));
}

Napi::Value JsonRpcEncodeResponse(const Napi::CallbackInfo& info) {
  return to_buffer(info.Env(), jsonrpc_encode_response(response_arg(info, 0), id_arg(info, 1), version_arg(info, 2)));
}

Napi::Value JsonRpcDecodeResponse(const Napi::CallbackInfo& info) {
  Body body(info, 0);
  Response r = decoding(info.Env(), [&] { return jsonrpc_decode_response(body.view(), decode_options(info, 1)); });
  return response_to_js(info.Env(), r);
}

Napi::Value JsonDecode(const Napi::CallbackInfo& info) {
  Body body(info, 0);
  Value v = decoding(info.Env(), [&] { return json_decode(body.view(), decode_options(info, 1)); });
  return to_js(info.Env(), v);
}

// decodeNative(protocol, body) -> { values, decodeMs, decodeCpuMs, freeMs }: decodes into the C++ tree only
// (what the mirror does), for benchmarks that must not measure JS materialisation.
Napi::Value DecodeNative(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool json = info[0].IsString() && info[0].As<Napi::String>().Utf8Value() == "json-rpc";
  Body body(info, 1);
  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  double cpu0 = thread_cpu_ms();
  auto r = std::make_unique<Response>(decoding(env, [&] {
    return json ? jsonrpc_decode_response(body.view()) : xmlrpc_decode_response(body.view());
  }));
  double cpu1 = thread_cpu_ms();
  auto t1 = Clock::now();
  size_t values = count_values(r->value);
  auto t2 = Clock::now();
  r.reset();
  auto t3 = Clock::now();
  auto ms = [](Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); };
  Napi::Object out = Napi::Object::New(env);
  out.Set("values", Napi::Number::New(env, static_cast<double>(values)));
  out.Set("decodeMs", Napi::Number::New(env, ms(t1 - t0)));
  out.Set("decodeCpuMs", Napi::Number::New(env, cpu1 - cpu0));
  out.Set("freeMs", Napi::Number::New(env, ms(t3 - t2)));
  return out;
}

// decodeBulk(protocol, body, sharing?) -> response + { pieces }: a get_all_records body through
// the event stream's decode (bulk_decode.h), with 'auto', 'alone' or 'helper' sharing, as JS
// values, and how many pieces were decoded apart (0: whole).
Napi::Value DecodeBulk(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool json = info[0].IsString() && info[0].As<Napi::String>().Utf8Value() == "json-rpc";
  Body body(info, 1);
  std::string mode = info.Length() > 2 && info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "auto";
  Sharing sharing = mode == "alone" ? Sharing::Alone : mode == "helper" ? Sharing::Helper : Sharing::Auto;
  size_t pieces = 0;
  Response r = decoding(
      env, [&] { return decode_bulk(body.view(), json ? Protocol::JsonRpc : Protocol::XmlRpc, sharing, &pieces); });
  Napi::Value out = response_to_js(env, r);
  out.As<Napi::Object>().Set("pieces", Napi::Number::New(env, static_cast<double>(pieces)));
  return out;
}

Napi::Value ParseDatetime(const Napi::CallbackInfo& info) {
  if (!info[0].IsString()) throw Napi::TypeError::New(info.Env(), "text must be a string");
  DateTime dt = parse_datetime(info[0].As<Napi::String>().Utf8Value());
  return dt.valid ? Napi::Number::New(info.Env(), static_cast<double>(dt.epoch_ms)) : info.Env().Null();
}

Napi::Value FormatDatetime(const Napi::CallbackInfo& info) {
  if (!info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), "epochMs must be a number");
  return Napi::String::New(info.Env(), format_datetime(info[0].As<Napi::Number>().Int64Value()));
}

}  // namespace

Napi::Object codec_exports(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("xmlrpcEncodeCall", Napi::Function::New(env, XmlRpcEncodeCall, "xmlrpcEncodeCall"));
  o.Set("xmlrpcEncodeResponse", Napi::Function::New(env, XmlRpcEncodeResponse, "xmlrpcEncodeResponse"));
  o.Set("xmlrpcDecodeResponse", Napi::Function::New(env, XmlRpcDecodeResponse, "xmlrpcDecodeResponse"));
  o.Set("xmlrpcDecodeCall", Napi::Function::New(env, XmlRpcDecodeCall, "xmlrpcDecodeCall"));
  o.Set("jsonrpcEncodeCall", Napi::Function::New(env, JsonRpcEncodeCall, "jsonrpcEncodeCall"));
  o.Set("jsonrpcEncodeResponse", Napi::Function::New(env, JsonRpcEncodeResponse, "jsonrpcEncodeResponse"));
  o.Set("jsonrpcDecodeResponse", Napi::Function::New(env, JsonRpcDecodeResponse, "jsonrpcDecodeResponse"));
  o.Set("jsonDecode", Napi::Function::New(env, JsonDecode, "jsonDecode"));
  o.Set("decodeNative", Napi::Function::New(env, DecodeNative, "decodeNative"));
  o.Set("decodeBulk", Napi::Function::New(env, DecodeBulk, "decodeBulk"));
  o.Set("parseDatetime", Napi::Function::New(env, ParseDatetime, "parseDatetime"));
  o.Set("formatDatetime", Napi::Function::New(env, FormatDatetime, "formatDatetime"));
  return o;
}

}  // namespace xapi::js
