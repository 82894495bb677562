// Builds the JS error objects for failures captured on worker threads (errors.h).
#include "napi/errors.h"

#include "xapi/session.h"
#include "xapi/transport.h"

namespace xapi::js {

void Failure::from_description(const std::vector<std::string>& d, const std::string& method_name) {
  set = true;
  xapi = true;
  code = d.empty() ? "UNKNOWN_XAPI_ERROR" : d[0];
  params.assign(d.size() > 1 ? d.begin() + 1 : d.end(), d.end());
  method = method_name;
  message = code;
  if (!params.empty()) {
    message += " (";
    for (size_t i = 0; i < params.size(); i++) message += (i ? ", " : "") + params[i];
    message += ")";
  }
}

void Failure::capture(const std::exception_ptr& e, const std::string& method_name) {
  try {
    std::rethrow_exception(e);
  } catch (const XapiFailure& f) {
    from_description(f.description, f.method.empty() ? method_name : f.method);
  } catch (const TransportError& t) {
    set = true;
    xapi = false;
    code = t.code;
    method = method_name;
    message = t.what();
  } catch (const std::exception& x) {
    set = true;
    xapi = false;
    code = "EINTERNAL";
    method = method_name;
    message = x.what();
  } catch (...) {
    set = true;
    code = "EINTERNAL";
    method = method_name;
    message = "unknown native failure";
  }
}

Napi::Value failure_to_js(Napi::Env env, const Failure& f) {
  Napi::Error err = Napi::Error::New(env, f.message);
  Napi::Object o = err.Value();
  o.Set("kind", f.xapi ? "xapi" : "transport");
  o.Set("code", f.code);
  Napi::Array params = Napi::Array::New(env, f.params.size());
  for (size_t i = 0; i < f.params.size(); i++) params.Set(static_cast<uint32_t>(i), f.params[i]);
  o.Set("params", params);
  o.Set("method", f.method);
  return o;
}

}  // namespace xapi::js
