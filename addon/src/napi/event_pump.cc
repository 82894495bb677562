// Batched delivery of mirror changes to JS through one TypedThreadSafeFunction (event_pump.h).
// At most one call is queued at a time; changes that arrive meanwhile join the pending batch,
// merged per (cls, ref): what JS is told depends only on whether the object existed before the
// batch (its first op was not an add) and exists after it (its last op is not a del):
//   no  -> yes: add      yes -> yes: mod      yes -> no: del
//   no  -> no (added and deleted while JS was busy): del, so a caller that learned the ref from
//   a call's result (a task, a clone) hears that it is gone; a del of an unknown ref is a no-op.
// The entry keeps its first position in the batch and the latest uuid.
#include "napi/event_pump.h"

#include <algorithm>

namespace xapi::js {

EventPump* EventPump::create(Napi::Env env, Napi::Function callback, std::shared_ptr<const Schema> schema) {
  auto* self = new EventPump(std::move(schema));
  self->tsfn_ = Tsfn::New(env, callback, "xapi-mirror-events", 0, 1, self,
                          [](Napi::Env, void*, EventPump* ctx) { delete ctx; });
  self->tsfn_.Unref(env);
  return self;
}

void EventPump::push(std::vector<Change>&& changes) {
  std::lock_guard<std::mutex> lk(mu_);
  if (released_) return;
  for (auto& c : changes) merge(std::move(c));
  schedule();
}

void EventPump::push_done(PromiseWorker* job) {
  std::lock_guard<std::mutex> lk(mu_);
  if (released_) {
    delete job;  // env teardown: nobody is left to settle it
    return;
  }
  done_.push_back(job);
  schedule();
}

void EventPump::schedule() {
  if (scheduled_) return;
  if (tsfn_.NonBlockingCall() == napi_ok) scheduled_ = true;
}

void EventPump::drain(Napi::Env env) {
  std::vector<PromiseWorker*> done;
  {
    std::lock_guard<std::mutex> lk(mu_);
    done.swap(done_);
  }
  settle(env, done);
}

void EventPump::settle(Napi::Env env, std::vector<PromiseWorker*>& done) {
  if (done.empty()) return;
  for (auto* job : done) {
    job->Settle(env);
    delete job;
  }
  in_flight_ -= std::min(in_flight_, done.size());
  update_ref(env);
}

void EventPump::job_started(Napi::Env env) {
  in_flight_++;
  update_ref(env);
}

void EventPump::update_ref(Napi::Env env) {
  std::lock_guard<std::mutex> lk(mu_);
  if (released_) return;
  bool want = tasks_alive_ || in_flight_ > 0;
  if (want == refd_) return;
  refd_ = want;
  if (want) tsfn_.Ref(env);
  else tsfn_.Unref(env);
}

void EventPump::merge(Change&& c) {
  std::string key = std::to_string(c.cls);
  key.push_back(':');
  key += c.ref;
  auto [it, fresh] = index_.try_emplace(std::move(key), pending_.size());
  if (fresh) {
    first_op_.push_back(c.op);
    pending_.push_back(std::move(c));
    return;
  }
  Change& p = pending_[it->second];
  bool before = first_op_[it->second] != 'a';
  bool after = c.op != 'd';
  p.op = after ? (before ? 'm' : 'a') : 'd';
  if (!c.uuid.empty()) p.uuid = std::move(c.uuid);
}

void EventPump::release() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (released_) return;
    released_ = true;
  }
  tsfn_.Release();
}

void EventPump::keep_alive(Napi::Env env, bool on) {
  tasks_alive_ = on;
  update_ref(env);
}

void EventPump::CallJs(Napi::Env env, Napi::Function callback, EventPump* self, void*) {
  std::vector<Change> batch;
  std::vector<PromiseWorker*> done;
  {
    std::lock_guard<std::mutex> lk(self->mu_);
    batch.swap(self->pending_);
    done.swap(self->done_);
    self->first_op_.clear();
    self->index_.clear();
    self->scheduled_ = false;
  }
  if (env == nullptr) {  // the environment is going away: nothing can be settled
    for (auto* job : done) delete job;
    return;
  }
  self->settle(env, done);
  if (batch.empty()) return;
  Napi::HandleScope scope(env);
  napi_env e = env;
  napi_value arr;
  napi_create_array_with_length(e, batch.size(), &arr);
  static const char* kOps[] = {"add", "mod", "del"};
  for (size_t i = 0; i < batch.size(); i++) {
    const Change& c = batch[i];
    const std::string& cls = self->schema_->cls(c.cls).name;
    const char* op = c.op == 'a' ? kOps[0] : (c.op == 'm' ? kOps[1] : kOps[2]);
    napi_property_descriptor d[4] = {};
    napi_create_string_utf8(e, "cls", 3, &d[0].name);
    napi_create_string_utf8(e, cls.data(), cls.size(), &d[0].value);
    napi_create_string_utf8(e, "ref", 3, &d[1].name);
    napi_create_string_utf8(e, c.ref.data(), c.ref.size(), &d[1].value);
    napi_create_string_utf8(e, "op", 2, &d[2].name);
    napi_create_string_utf8(e, op, NAPI_AUTO_LENGTH, &d[2].value);
    napi_create_string_utf8(e, "uuid", 4, &d[3].name);
    napi_create_string_utf8(e, c.uuid.data(), c.uuid.size(), &d[3].value);
    for (auto& p : d) p.attributes = static_cast<napi_property_attributes>(napi_writable | napi_enumerable | napi_configurable);
    napi_value obj;
    napi_create_object(e, &obj);
    napi_define_properties(e, obj, 4, d);
    napi_set_element(e, arr, static_cast<uint32_t>(i), obj);
  }
  try {
    callback.Call({Napi::Value(env, arr)});
  } catch (const Napi::Error& err) {
    // A throwing listener must not take the pump down; surface it as an uncaught exception.
    napi_fatal_exception(env, err.Value());
  }
}

}  // namespace xapi::js
