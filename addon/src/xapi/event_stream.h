// The event stream: a thread that loads its share of the mirrored classes with get_all_records
// and keeps them current with an event.from loop. EVENTS_LOST, a re-login (xapi restart) or a
// master change trigger a resync of its classes whose differences are reported like events. It
// hands change batches to a sink on its own thread; it never touches N-API. A client runs one
// for the task class alone (xapi answers task-only subscriptions without its 50 ms batching
// delay) and one for the other mirrored classes; before the task stream reports a task that
// settled, it makes the other stream catch up (follow_), so the mirror shows a task's effects
// by the time its completion reaches JS.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "xapi/mirror.h"
#include "xapi/session.h"

namespace xapi {

class EventStream {
 public:
  using Sink = std::function<void(std::vector<Change>&&)>;
  // `classes`: the mirrored class indexes this stream loads and watches.
  EventStream(std::shared_ptr<Session> session, std::shared_ptr<Mirror> mirror, std::vector<int> classes, Sink sink,
              int poll_seconds = 30);
  ~EventStream();

  void start();
  // Blocks until the first load finished; throws the error that stopped it (or ETIMEDOUT).
  void wait_synced(int timeout_ms);
  bool synced();
  uint64_t resyncs() const { return resyncs_; }
  void stop();  // interrupts the long poll and joins the thread
  // Settled tasks wait until `other` has applied an event.from issued after they were seen.
  void follow(std::shared_ptr<EventStream> other) { follow_ = std::move(other); }
  // Any thread: interrupts the long poll for an immediate one; blocks until it was applied
  // (true), or the stream stopped, is not synced or timeout_ms passed (false).
  bool catch_up(int timeout_ms);

 private:
  void run();
  void load_all(std::string* token);
  void load_class(int cls, std::vector<Change>* changes);
  void apply_events(const Value& batch, std::string* token);
  void pause(int ms);
  void set_current(bool on);
  bool settles_task(const Value& batch) const;

  std::shared_ptr<Session> session_;
  std::shared_ptr<Mirror> mirror_;
  std::vector<int> classes_;
  Sink sink_;
  int poll_seconds_;
  std::thread thread_;
  CancelToken cancel_;
  std::shared_ptr<CancelToken> poll_cancel_;  // the running event.from's (interrupted by catch_up)
  uint64_t wanted_ = 0;                       // catch_up requests
  uint64_t applied_ = 0;                      // requests met by an applied event.from
  std::shared_ptr<EventStream> follow_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool synced_ = false;
  // The mirror follows XAPI now: loaded, and nothing since (a poll error, a re-login) says it
  // may have missed changes. synced() answers synced_ && current_.
  bool current_ = false;
  bool first_done_ = false;
  std::string first_error_code_;
  std::string first_error_;
  std::vector<std::string> first_failure_;
  uint64_t resyncs_ = 0;
};

}  // namespace xapi
