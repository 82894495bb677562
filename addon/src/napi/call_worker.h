// Work that leaves the main thread: connect, RPC calls, HTTP side channels and close, each an
// AsyncWorker holding plain inputs (a "baton") and shared ownership of the session. Execute()
// never touches JS; the promise settles in OnOK/OnError on the main thread.
#pragma once

#include <napi.h>

#include <functional>
#include <memory>
#include <string>

#include "napi/errors.h"
#include "xapi/schema.h"
#include "xapi/session.h"
#include "xapi/value.h"

namespace xapi::js {

class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, std::string method);
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() final;
  void OnOK() final;
  void OnError(const Napi::Error& e) final;
  virtual void Run() = 0;                          // worker thread; throw to fail
  virtual Napi::Value Result(Napi::Env env) = 0;   // main thread
  Failure failure_;
  std::string method_;

 private:
  Napi::Promise::Deferred deferred_;
};

// A XAPI call; the result is coerced by its datamodel type (type id, -1 for none).
class CallWorker : public PromiseWorker {
 public:
  CallWorker(Napi::Env env, std::shared_ptr<Session> session, std::shared_ptr<const Schema> schema,
             std::string method, Array params, int result_type);

 protected:
  void Run() override;
  Napi::Value Result(Napi::Env env) override;

 private:
  std::shared_ptr<Session> session_;
  std::shared_ptr<const Schema> schema_;
  Array params_;
  int result_type_;
  Value result_;
};

// Any other background step: `run` on the worker thread, `result` on the main thread.
class TaskWorker : public PromiseWorker {
 public:
  TaskWorker(Napi::Env env, std::string what, std::function<void()> run,
             std::function<Napi::Value(Napi::Env)> result);

 protected:
  void Run() override { run_(); }
  Napi::Value Result(Napi::Env env) override { return result_(env); }

 private:
  std::function<void()> run_;
  std::function<Napi::Value(Napi::Env)> result_;
};

}  // namespace xapi::js
