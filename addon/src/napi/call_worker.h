// Work that leaves the main thread: connect, RPC calls, HTTP side channels and close, each a
// job holding plain inputs (a "baton") and shared ownership of the session. The client runs it
// on its own pool thread (Execute never touches JS) and settles the promise on the main thread
// through its event pump (Settle). It never uses libuv's threadpool.
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

class PromiseWorker {
 public:
  PromiseWorker(Napi::Env env, std::string method);
  virtual ~PromiseWorker() = default;
  Napi::Promise promise() { return deferred_.Promise(); }
  void Execute();               // pool thread
  void Settle(Napi::Env env);   // main thread, once
  void Refuse();                // main thread: the client is closed, the job will not run

 protected:
  virtual void Run() = 0;                          // pool thread; throw to fail
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
