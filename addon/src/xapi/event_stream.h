// The event stream: one thread per client that loads the mirrored classes with get_all_records
// and keeps them current with an event.from loop. EVENTS_LOST, a re-login (xapi restart) or a
// master change trigger a full resync whose differences are reported like events. It hands
// change batches to a sink on its own thread; it never touches N-API.
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
  EventStream(std::shared_ptr<Session> session, std::shared_ptr<Mirror> mirror, Sink sink, int poll_seconds = 30);
  ~EventStream();

  void start();
  // Blocks until the first load finished; throws the error that stopped it (or ETIMEDOUT).
  void wait_synced(int timeout_ms);
  bool synced();
  uint64_t resyncs() const { return resyncs_; }
  void stop();  // interrupts the long poll and joins the thread

 private:
  void run();
  void load_all(std::string* token);
  void load_class(int cls, std::vector<Change>* changes);
  void apply_events(const Value& batch, std::string* token);
  void pause(int ms);

  std::shared_ptr<Session> session_;
  std::shared_ptr<Mirror> mirror_;
  Sink sink_;
  int poll_seconds_;
  std::thread thread_;
  CancelToken cancel_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool synced_ = false;
  bool first_done_ = false;
  std::string first_error_code_;
  std::string first_error_;
  std::vector<std::string> first_failure_;
  uint64_t resyncs_ = 0;
};

}  // namespace xapi
