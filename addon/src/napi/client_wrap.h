// The native client object (ObjectWrap): connect, call, mirror get/query/count, task result
// decoding, httpPut, close. It owns its session, mirror, event stream threads (one for tasks,
// one for the other classes), a small pool of call threads (calls never hold libuv's
// threadpool) and event pump; close() (or the env cleanup hook, or GC as a backstop) stops and
// joins them. No statics.
#pragma once

#include <napi.h>

#include <memory>
#include <unordered_map>

#include "napi/event_pump.h"
#include "napi/mirror_js.h"
#include "xapi/event_stream.h"
#include "xapi/mirror.h"
#include "xapi/schema.h"
#include "xapi/session.h"
#include "xapi/worker_pool.h"

namespace xapi::js {

class ClientWrap : public Napi::ObjectWrap<ClientWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit ClientWrap(const Napi::CallbackInfo& info);
  ~ClientWrap() override;

 private:
  Napi::Value Connect(const Napi::CallbackInfo& info);
  Napi::Value Call(const Napi::CallbackInfo& info);
  Napi::Value TaskResult(const Napi::CallbackInfo& info);
  Napi::Value MirrorGet(const Napi::CallbackInfo& info);
  Napi::Value MirrorQuery(const Napi::CallbackInfo& info);
  Napi::Value MirrorCount(const Napi::CallbackInfo& info);
  Napi::Value Synced(const Napi::CallbackInfo& info);
  Napi::Value KeepAlive(const Napi::CallbackInfo& info);
  Napi::Value SyncTasks(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value Resyncs(const Napi::CallbackInfo& info);
  Napi::Value HttpPut(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  Napi::Value submit(Napi::Env env, PromiseWorker* job, bool urgent = false);  // on the pool; its promise
  int class_arg(const Napi::CallbackInfo& info, size_t i);
  int result_type(const std::string& text) const;
  void teardown();  // synchronous stop (cleanup hook, GC)
  static void CleanupHook(void* arg);

  std::shared_ptr<Schema> schema_;
  std::unordered_map<std::string, int> result_types_;
  std::shared_ptr<Session> session_;
  std::shared_ptr<Mirror> mirror_;
  std::vector<std::shared_ptr<EventStream>> streams_;  // the other classes' stream (if any), then tasks'
  std::shared_ptr<WorkerPool> pool_;
  EventPump* pump_ = nullptr;  // deletes itself after release()
  KeyCache keys_;
  int connect_timeout_ms_ = 10000;
  int poll_seconds_ = 30;
  bool closing_ = false;
  bool hook_ = false;
  napi_env env_ = nullptr;
};

}  // namespace xapi::js
