// The one thread-safe function of a client: the event stream thread pushes mirror change
// batches here, and they reach JS coalesced, one call at a time. Threads only append to a
// plain vector; JS values are built in CallJs on the main thread.
#pragma once

#include <napi.h>

#include <mutex>
#include <vector>

#include "xapi/mirror.h"

namespace xapi::js {

class EventPump {
 public:
  // Creates the TSFN (unref'd: it never keeps the process alive). The pump deletes itself in
  // the TSFN finalizer, after release().
  static EventPump* create(Napi::Env env, Napi::Function callback, std::shared_ptr<const Schema> schema);
  void push(std::vector<Change>&& changes);  // any thread
  void release();                            // main thread, idempotent
  void keep_alive(Napi::Env env, bool on);   // main thread: Ref/Unref the TSFN

 private:
  EventPump(std::shared_ptr<const Schema> schema) : schema_(std::move(schema)) {}
  static void CallJs(Napi::Env env, Napi::Function callback, EventPump* self, void* data);
  using Tsfn = Napi::TypedThreadSafeFunction<EventPump, void, CallJs>;

  std::shared_ptr<const Schema> schema_;
  Tsfn tsfn_;
  std::mutex mu_;
  std::vector<Change> pending_;
  bool scheduled_ = false;
  bool released_ = false;
};

}  // namespace xapi::js
