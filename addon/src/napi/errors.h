// Failures as plain C++ structs (filled on worker threads) and their JS form: an Error with
// `kind` ('xapi' | 'transport'), `code`, `params` and `method`, which src/xapi/errors.ts turns
// into XapiError / TransportError with the caller's stack.
#pragma once

#include <napi.h>

#include <exception>
#include <string>
#include <vector>

namespace xapi::js {

struct Failure {
  bool set = false;
  bool xapi = false;  // XAPI ErrorDescription, else transport
  std::string code;
  std::vector<std::string> params;
  std::string method;
  std::string message;

  // Records the exception in flight (XapiFailure, TransportError, anything else).
  void capture(const std::exception_ptr& e, const std::string& method_name);
  void from_description(const std::vector<std::string>& description, const std::string& method_name);
};

Napi::Value failure_to_js(Napi::Env env, const Failure& f);

}  // namespace xapi::js
