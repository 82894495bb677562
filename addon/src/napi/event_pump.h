// The one thread-safe function of a client: the event stream threads push mirror change
// batches here, and they reach JS coalesced, one call at a time. While JS is busy, changes of
// one object merge into one pending entry, so the pending batch is bounded by the number of
// objects, not of events. Threads only touch plain structs; JS values are built in CallJs.
#pragma once

#include <napi.h>

#include <mutex>
#include <string>
#include <unordered_map>
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
  void merge(Change&& c);  // under mu_

  std::vector<Change> pending_;
  std::vector<char> first_op_;                         // per pending entry: its first op in this batch
  std::unordered_map<std::string, size_t> index_;      // "cls:ref" -> entry in pending_
  bool scheduled_ = false;
  bool released_ = false;
};

}  // namespace xapi::js
