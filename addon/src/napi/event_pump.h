// The one thread-safe function of a client: the event stream threads push mirror change
// batches here, and they reach JS coalesced, one call at a time; the client's call threads
// push finished jobs here, whose promises settle on the main thread. While JS is busy, changes of
// one object merge into one pending entry, so the pending batch is bounded by the number of
// objects, not of events. Threads only touch plain structs; JS values are built in CallJs.
#pragma once

#include <napi.h>

#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "napi/call_worker.h"
#include "xapi/mirror.h"

namespace xapi::js {

class EventPump {
 public:
  // Creates the TSFN (unref'd: it never keeps the process alive). The pump deletes itself in
  // the TSFN finalizer, after release().
  static EventPump* create(Napi::Env env, Napi::Function callback, std::shared_ptr<const Schema> schema);
  void push(std::vector<Change>&& changes);  // any thread
  void push_done(PromiseWorker* job);        // any thread: settle (and delete) it on the main thread
  void drain(Napi::Env env);                 // main thread: deliver what is pending now
  void release();                            // main thread, idempotent
  // Main thread. The TSFN keeps the process alive while tasks are tracked (keep_alive) or
  // jobs are in flight (started/settled count them).
  void keep_alive(Napi::Env env, bool on);
  void job_started(Napi::Env env);

 private:
  EventPump(std::shared_ptr<const Schema> schema) : schema_(std::move(schema)) {}
  static void CallJs(Napi::Env env, Napi::Function callback, EventPump* self, void* data);
  using Tsfn = Napi::TypedThreadSafeFunction<EventPump, void, CallJs>;

  std::shared_ptr<const Schema> schema_;
  Tsfn tsfn_;
  std::mutex mu_;
  void merge(Change&& c);  // under mu_
  void schedule();         // under mu_
  void update_ref(Napi::Env env);
  void settle(Napi::Env env, std::vector<PromiseWorker*>& done);  // main thread

  std::vector<PromiseWorker*> done_;
  size_t in_flight_ = 0;  // main thread only
  bool tasks_alive_ = false;
  bool refd_ = false;

  std::vector<Change> pending_;
  std::vector<char> first_op_;                         // per pending entry: its first op in this batch
  std::unordered_map<std::string, size_t> index_;      // "cls:ref" -> entry in pending_
  bool scheduled_ = false;
  bool released_ = false;
};

}  // namespace xapi::js
