// The event.from loop and mirror (re)loads (see event_stream.h). Large classes are decoded into
// rows on two threads; freed decode trees are returned to the OS after a full load.
#include "xapi/event_stream.h"

#include <malloc.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

namespace xapi {

EventStream::EventStream(std::shared_ptr<Session> session, std::shared_ptr<Mirror> mirror, std::vector<int> classes,
                         Sink sink, int poll_seconds)
    : session_(std::move(session)),
      mirror_(std::move(mirror)),
      classes_(std::move(classes)),
      sink_(std::move(sink)),
      poll_seconds_(poll_seconds) {}

EventStream::~EventStream() { stop(); }

void EventStream::start() { thread_ = std::thread([this] { run(); }); }

void EventStream::stop() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cancel_.cancel();
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (poll_cancel_) poll_cancel_->cancel();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool EventStream::catch_up(int timeout_ms) {
  std::unique_lock<std::mutex> lk(mu_);
  if (stop_ || !synced_) return false;
  uint64_t want = ++wanted_;
  if (poll_cancel_) poll_cancel_->cancel();
  cv_.wait_for(lk, std::chrono::milliseconds(timeout_ms), [&] { return stop_ || applied_ >= want; });
  return !stop_ && applied_ >= want;
}

bool EventStream::settles_task(const Value& batch) const {
  const Value* events = batch.get("events");
  if (!events || !events->is_array()) return false;
  for (const Value& ev : events->array()) {
    const Value* op = ev.get("operation");
    if (op && op->is_string() && op->str() == "del") return true;
    const Value* snap = ev.get("snapshot");
    const Value* status = snap && snap->is_struct() ? snap->get("status") : nullptr;
    if (status && status->is_string() && status->str() != "pending" && status->str() != "cancelling") return true;
  }
  return false;
}

bool EventStream::synced() {
  std::lock_guard<std::mutex> lk(mu_);
  return synced_ && current_;
}

void EventStream::set_current(bool on) {
  std::lock_guard<std::mutex> lk(mu_);
  current_ = on;
}

void EventStream::wait_synced(int timeout_ms) {
  std::unique_lock<std::mutex> lk(mu_);
  bool done = cv_.wait_for(lk, std::chrono::milliseconds(timeout_ms), [this] { return first_done_ || stop_; });
  if (!done) throw TransportError("ETIMEDOUT", "initial mirror load did not finish in time");
  if (!first_failure_.empty()) throw XapiFailure(first_failure_, "event stream");
  if (!first_error_code_.empty()) throw TransportError(first_error_code_, first_error_);
  if (!synced_) throw TransportError("ECANCELED", "client closed during the initial load");
}

void EventStream::pause(int ms) {
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait_for(lk, std::chrono::milliseconds(ms), [this] { return stop_; });
}

void EventStream::load_class(int cls, std::vector<Change>* changes) {
  const std::string& name = mirror_->schema().cls(cls).name;
  Response r = session_->call(name + ".get_all_records", Array{}, &cancel_, -1, true);
  if (!r.ok) throw XapiFailure(r.error, name + ".get_all_records");
  std::vector<RowPtr> rows = mirror_->rows_of_all_records(cls, r.value);
  r.value = Value();
  mirror_->replace_class(cls, std::move(rows), changes);
}

void EventStream::load_all(std::string* token) {
  // A token taken before the load: no change between it and the load is lost.
  Response t = session_->call("event.from", Array{Value(Array{Value("pool")}), Value(""), Value(0.0)}, &cancel_);
  if (!t.ok) throw XapiFailure(t.error, "event.from");
  const Value* tok = t.value.get("token");
  *token = tok && tok->is_string() ? tok->str() : "";
  bool first;
  {
    std::lock_guard<std::mutex> lk(mu_);
    first = !synced_;
  }
  std::vector<Change> changes;
  for (int cls : classes_) load_class(cls, first ? nullptr : &changes);
  malloc_trim(0);
  {
    std::lock_guard<std::mutex> lk(mu_);
    synced_ = true;
    current_ = true;  // before waking connect(): synced() is true once it returns
    first_done_ = true;
    if (!first) resyncs_++;
  }
  cv_.notify_all();
  if (!changes.empty()) sink_(std::move(changes));
}

void EventStream::apply_events(const Value& batch, std::string* token) {
  const Value* tok = batch.get("token");
  if (tok && tok->is_string()) *token = tok->str();
  const Value* events = batch.get("events");
  if (!events || !events->is_array() || events->array().empty()) return;
  const Schema& schema = mirror_->schema();
  std::vector<Mirror::Update> updates;
  updates.reserve(events->array().size());
  for (const Value& ev : events->array()) {
    const Value* cls = ev.get("class");
    const Value* op = ev.get("operation");
    const Value* ref = ev.get("ref");
    if (!cls || !op || !ref || !cls->is_string() || !op->is_string() || !ref->is_string()) continue;
    int idx = schema.class_index_ci(cls->str());
    if (idx < 0 || std::find(classes_.begin(), classes_.end(), idx) == classes_.end()) continue;
    Mirror::Update u{idx, op->str() == "del" ? 'd' : (op->str() == "add" ? 'a' : 'm'), ref->str(), nullptr};
    if (u.op != 'd') {
      const Value* snap = ev.get("snapshot");
      if (!snap || !snap->is_struct()) continue;
      u.row = mirror_->make_row(idx, u.ref, *snap);
    }
    updates.push_back(std::move(u));
  }
  std::vector<Change> changes;
  mirror_->apply(updates, &changes);
  if (!changes.empty()) sink_(std::move(changes));
}

void EventStream::run() {
  // Decoding a large pool competes with the JS thread for the CPU: yield to it (the helper
  // threads this thread starts inherit the priority).
  setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 5);
  bool need_load = true;
  std::string token;
  uint64_t gen = 0;
  int backoff = 100;
  Array classes;
  for (int c : classes_) classes.emplace_back(mirror_->schema().cls(c).name);
  for (;;) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (stop_) break;
    }
    try {
      if (need_load) {
        gen = session_->generation();
        load_all(&token);
        need_load = false;
        backoff = 100;
      }
      // A catch_up request turns the long poll into an immediate one (xapi adds no batching
      // delay when changes are already there); it interrupts a long poll under way.
      uint64_t want;
      auto poll_cancel = std::make_shared<CancelToken>();
      {
        std::lock_guard<std::mutex> lk(mu_);
        if (stop_) break;
        want = wanted_;
        poll_cancel_ = poll_cancel;
      }
      double wait_s = want > applied_ ? 0.0 : double(poll_seconds_);
      Response r;
      try {
        r = session_->call("event.from", Array{Value(classes), Value(token), Value(wait_s)}, poll_cancel.get(),
                           (poll_seconds_ + 15) * 1000);
      } catch (const TransportError& e) {
        std::lock_guard<std::mutex> lk(mu_);
        poll_cancel_.reset();
        if (e.code == "ECANCELED" && !stop_ && wanted_ > want) continue;  // interrupted by catch_up
        throw;
      }
      {
        std::lock_guard<std::mutex> lk(mu_);
        poll_cancel_.reset();
      }
      if (session_->generation() != gen) {
        need_load = true;  // re-login: xapi restarted or the master changed; refs may differ
        set_current(false);
        continue;
      }
      if (!r.ok) {
        need_load = true;
        set_current(false);
        if (r.error.empty() || r.error[0] != "EVENTS_LOST") pause(backoff), backoff = std::min(backoff * 2, 5000);
        continue;
      }
      if (follow_ && settles_task(r.value)) follow_->catch_up(5000);
      apply_events(r.value, &token);
      set_current(true);
      backoff = 100;
      {
        std::lock_guard<std::mutex> lk(mu_);
        applied_ = std::max(applied_, want);
      }
      cv_.notify_all();
    } catch (const TransportError& e) {
      {
        std::lock_guard<std::mutex> lk(mu_);
        if (stop_) break;
        if (!first_done_ && e.code != "ECANCELED") {
          first_done_ = true;
          first_error_code_ = e.code;
          first_error_ = e.what();
        }
      }
      cv_.notify_all();
      set_current(false);
      if (session_->generation() != gen) need_load = true;
      pause(backoff);
      backoff = std::min(backoff * 2, 5000);
    } catch (const XapiFailure& e) {
      {
        std::lock_guard<std::mutex> lk(mu_);
        if (stop_) break;
        if (!first_done_) {
          first_done_ = true;
          first_failure_ = e.description;
        }
      }
      cv_.notify_all();
      set_current(false);
      need_load = true;
      pause(backoff);
      backoff = std::min(backoff * 2, 5000);
    } catch (const std::exception& e) {
      {
        std::lock_guard<std::mutex> lk(mu_);
        if (stop_) break;
        if (!first_done_) {
          first_done_ = true;
          first_error_code_ = "EPROTO";
          first_error_ = e.what();
        }
      }
      cv_.notify_all();
      set_current(false);
      need_load = true;
      pause(backoff);
      backoff = std::min(backoff * 2, 5000);
    }
  }
}

}  // namespace xapi
