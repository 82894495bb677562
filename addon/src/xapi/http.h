// A small HTTP/1.1 client for one XAPI endpoint: keep-alive connection pool, Content-Length,
// chunked and close-delimited bodies, connect/read timeouts, a bound on response size, and
// cancellation from another thread. Knows nothing of RPC encodings; never touches N-API.
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "xapi/transport.h"

namespace xapi {

struct HttpLimits {
  int connect_timeout_ms = 10000;
  int read_timeout_ms = 60000;
  size_t max_response_bytes = 512u << 20;
};

struct HttpRequest {
  std::string method = "POST";
  std::string target = "/";  // path and query
  std::vector<std::pair<std::string, std::string>> headers;
  const char* body = nullptr;
  size_t body_len = 0;
  int read_timeout_ms = -1;  // -1: the client's default
};

struct HttpResponse {
  int status = 0;
  std::string content_type;
  std::string location;
  std::vector<std::pair<std::string, std::string>> headers;  // lowercase names
  std::string body;
};

// Lets another thread abort one in-flight request (the event stream's long poll at close()).
class CancelToken {
 public:
  void cancel();
  bool cancelled();
  void attach(Stream* s);  // throws ECANCELED when already cancelled
  void detach();

 private:
  std::mutex mu_;
  Stream* active_ = nullptr;
  bool cancelled_ = false;
};

class HttpClient {
 public:
  HttpClient(Endpoint ep, std::shared_ptr<TlsContext> tls, HttpLimits limits);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request and reads the whole response. Throws TransportError.
  HttpResponse request(const HttpRequest& req, CancelToken* cancel = nullptr);
  // Fails every in-flight and future request with ECANCELED.
  void shutdown();
  const Endpoint& endpoint() const { return ep_; }
  const HttpLimits& limits() const { return limits_; }

 private:
  struct Conn;
  std::unique_ptr<Conn> take();
  void give_back(std::unique_ptr<Conn> c);
  HttpResponse exchange(Conn& c, const HttpRequest& req, bool* got_bytes);

  Endpoint ep_;
  std::shared_ptr<TlsContext> tls_;
  HttpLimits limits_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Conn>> idle_;
  std::set<Stream*> active_;
  bool shut_ = false;
};

}  // namespace xapi
