// The jobs behind every promise of the native client (call_worker.h). Failures are captured
// as plain structs on the pool thread and turned into JS errors on the main thread.
#include "napi/call_worker.h"

#include "napi/convert.h"

namespace xapi::js {

PromiseWorker::PromiseWorker(Napi::Env env, std::string method)
    : method_(std::move(method)), deferred_(Napi::Promise::Deferred::New(env)) {}

void PromiseWorker::Execute() {
  try {
    Run();
  } catch (...) {
    failure_.capture(std::current_exception(), method_);
  }
}

void PromiseWorker::Settle(Napi::Env env) {
  Napi::HandleScope scope(env);
  if (failure_.set) {
    deferred_.Reject(failure_to_js(env, failure_));
    return;
  }
  try {
    deferred_.Resolve(Result(env));
  } catch (const Napi::Error& e) {
    deferred_.Reject(e.Value());
  } catch (const std::exception& e) {
    deferred_.Reject(Napi::Error::New(env, e.what()).Value());
  }
}

void PromiseWorker::Refuse() {
  failure_.set = true;
  failure_.code = "ECANCELED";
  failure_.message = "client closed";
  failure_.method = method_;
}

CallWorker::CallWorker(Napi::Env env, std::shared_ptr<Session> session, std::shared_ptr<const Schema> schema,
                       std::string method, Array params, int result_type)
    : PromiseWorker(env, std::move(method)),
      session_(std::move(session)),
      schema_(std::move(schema)),
      params_(std::move(params)),
      result_type_(result_type) {}

void CallWorker::Run() {
  Response r = session_->call(method_, params_);
  params_.clear();
  if (!r.ok) {
    failure_.from_description(r.error, method_);
    return;
  }
  result_ = std::move(r.value);
  schema_->coerce(result_, result_type_);
}

Napi::Value CallWorker::Result(Napi::Env env) { return to_js(env, result_); }

TaskWorker::TaskWorker(Napi::Env env, std::string what, std::function<void()> run,
                       std::function<Napi::Value(Napi::Env)> result)
    : PromiseWorker(env, std::move(what)), run_(std::move(run)), result_(std::move(result)) {}

}  // namespace xapi::js
