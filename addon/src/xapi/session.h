// A XAPI session for one client: login with originator "xen-compute-driver", one shared session,
// a transparent re-login once on SESSION_INVALID, HOST_IS_SLAVE redirection to the master (same
// scheme, port and TLS policy), failover to another known pool host when the master stops
// answering, logout on close. Thread-safe; no N-API.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "xapi/rpc.h"

namespace xapi {

struct SessionConfig {
  std::string url;
  std::string user;
  std::string password;
  std::string originator = "xen-compute-driver";
  Protocol protocol = Protocol::Auto;
  TlsPolicy tls;
  HttpLimits limits;
};

// An XAPI failure, verbatim: code then params.
struct XapiFailure : std::runtime_error {
  std::vector<std::string> description;
  std::string method;
  XapiFailure(std::vector<std::string> d, std::string m)
      : std::runtime_error(d.empty() ? std::string("XAPI failure") : d[0]),
        description(std::move(d)),
        method(std::move(m)) {}
};

class Session {
 public:
  explicit Session(SessionConfig cfg);
  ~Session();

  // Logs in (following HOST_IS_SLAVE). Throws XapiFailure or TransportError.
  void login();
  // Calls `method(session, params...)`. Re-logs in once on SESSION_INVALID, follows a master
  // change, fails over when the master is unreachable. XAPI failures come back in the Response.
  Response call(const std::string& method, const Array& params, CancelToken* cancel = nullptr,
                int read_timeout_ms = -1, bool bulk = false);
  // An HTTP request to the master with session_id added to the query (side channels).
  HttpResponse http(HttpRequest req, const std::string& query);
  void logout();     // best effort
  void shutdown();   // fails in-flight requests with ECANCELED

  std::string session_ref();
  uint64_t generation() const { return generation_.load(); }  // bumps at every (re)login
  std::string master_url();
  Protocol protocol();
  void set_pool_addresses(std::vector<std::string> addresses);

 private:
  struct Link {
    Endpoint ep;
    std::shared_ptr<Rpc> rpc;
    std::string ref;
    uint64_t gen = 0;
  };
  Link current();
  void relogin(uint64_t seen_gen);
  void failover(uint64_t seen_gen, const TransportError& cause);
  void failover_locked(const Link& old, const TransportError& cause);  // login_mu_ held
  // Opens an Rpc on `ep` and logs in there, following HOST_IS_SLAVE; returns the logged-in link.
  Link open(Endpoint ep, int hops);
  void refresh_pool_addresses(const Link& link);

  SessionConfig cfg_;
  std::shared_ptr<TlsContext> tls_;
  Protocol detected_ = Protocol::Auto;
  std::mutex mu_;        // guards link_ and addresses_
  std::mutex login_mu_;  // serialises (re)logins
  Link link_;
  std::vector<std::string> addresses_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> shut_{false};
};

}  // namespace xapi
