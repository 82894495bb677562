// HTTP/1.1 request/response over a Stream, with a per-endpoint pool of keep-alive connections.
// A request that fails on a reused connection before any response byte is retried once on a
// fresh one (the server may have closed it while idle). No RPC knowledge, no N-API.
#include "xapi/http.h"

#include <algorithm>
#include <cstring>

namespace xapi {

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  size_t a = 0, b = s.size();
  while (a < b && (s[a] == ' ' || s[a] == '\t')) a++;
  while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\r')) b--;
  return s.substr(a, b - a);
}

}  // namespace

void CancelToken::cancel() {
  std::lock_guard<std::mutex> lk(mu_);
  cancelled_ = true;
  if (active_) active_->interrupt();
}
bool CancelToken::cancelled() {
  std::lock_guard<std::mutex> lk(mu_);
  return cancelled_;
}
void CancelToken::attach(Stream* s) {
  std::lock_guard<std::mutex> lk(mu_);
  if (cancelled_) throw TransportError("ECANCELED", "request cancelled");
  active_ = s;
}
void CancelToken::detach() {
  std::lock_guard<std::mutex> lk(mu_);
  active_ = nullptr;
}

// One connection with its read buffer (bytes received past the previous response).
struct HttpClient::Conn {
  std::unique_ptr<Stream> stream;
  std::string buf;
  size_t pos = 0;
  bool reused = false;

  size_t fill(int timeout_ms) {
    if (pos > 0 && pos == buf.size()) {
      buf.clear();
      pos = 0;
    }
    size_t old = buf.size();
    buf.resize(old + 65536);
    size_t n = stream->read_some(&buf[old], 65536, timeout_ms);
    buf.resize(old + n);
    return n;
  }
  // Reads up to and including CRLF; returns the line without it.
  std::string line(int timeout_ms, size_t max_len) {
    for (;;) {
      auto nl = buf.find('\n', pos);
      if (nl != std::string::npos) {
        std::string l = buf.substr(pos, nl - pos);
        pos = nl + 1;
        if (!l.empty() && l.back() == '\r') l.pop_back();
        return l;
      }
      if (buf.size() - pos > max_len) throw TransportError("EPROTO", "HTTP header line too long");
      if (fill(timeout_ms) == 0) throw TransportError("ECONNRESET", "connection closed before the response ended");
    }
  }
  // Appends exactly n bytes to out.
  void take(size_t n, std::string& out, int timeout_ms) {
    size_t avail = buf.size() - pos;
    size_t k = std::min(avail, n);
    out.append(buf, pos, k);
    pos += k;
    n -= k;
    while (n > 0) {
      size_t old = out.size();
      out.resize(old + n);
      size_t got = stream->read_some(&out[old], n, timeout_ms);
      out.resize(old + got);
      if (got == 0) throw TransportError("ECONNRESET", "connection closed before the response body ended");
      n -= got;
    }
  }
};

HttpClient::HttpClient(Endpoint ep, std::shared_ptr<TlsContext> tls, HttpLimits limits)
    : ep_(std::move(ep)), tls_(std::move(tls)), limits_(limits) {}

HttpClient::~HttpClient() { shutdown(); }

void HttpClient::shutdown() {
  std::lock_guard<std::mutex> lk(mu_);
  shut_ = true;
  for (Stream* s : active_) s->interrupt();
  idle_.clear();
}

std::unique_ptr<HttpClient::Conn> HttpClient::take() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (shut_) throw TransportError("ECANCELED", "client closed");
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      c->reused = true;
      active_.insert(c->stream.get());
      return c;
    }
  }
  auto c = std::make_unique<Conn>();
  c->stream = Stream::open(ep_, tls_.get(), limits_.connect_timeout_ms);
  std::lock_guard<std::mutex> lk(mu_);
  if (shut_) throw TransportError("ECANCELED", "client closed");
  active_.insert(c->stream.get());
  return c;
}

void HttpClient::give_back(std::unique_ptr<Conn> c) {
  std::lock_guard<std::mutex> lk(mu_);
  active_.erase(c->stream.get());
  // A stream interrupted by a cancel that raced with the end of its exchange is spent: pooling it
  // would fail the next request on it with ECANCELED.
  if (!shut_ && c && !c->stream->interrupted() && idle_.size() < 8 && c->pos == c->buf.size()) {
    c->buf.clear();
    c->pos = 0;
    idle_.push_back(std::move(c));
  }
}

HttpResponse HttpClient::request(const HttpRequest& req, CancelToken* cancel) {
  for (int attempt = 0;; attempt++) {
    std::unique_ptr<Conn> c;
    try {
      c = take();
    } catch (TransportError& e) {
      e.unsent = true;
      throw;
    }
    bool got_bytes = false;
    bool keep = false;
    try {
      if (cancel) cancel->attach(c->stream.get());
      HttpResponse r = exchange(*c, req, &got_bytes);
      if (cancel) cancel->detach();
      keep = true;
      for (auto& h : r.headers)
        if (h.first == "connection" && lower(h.second).find("close") != std::string::npos) keep = false;
      if (keep) {
        give_back(std::move(c));
      } else {
        std::lock_guard<std::mutex> lk(mu_);
        active_.erase(c->stream.get());
      }
      return r;
    } catch (const TransportError& e) {
      if (cancel) cancel->detach();
      bool was_reused = c->reused;
      {
        std::lock_guard<std::mutex> lk(mu_);
        active_.erase(c->stream.get());
      }
      // A pooled connection the server closed while idle fails before any response byte. The
      // other idle connections are as old, so drop them all and retry once on a new connection.
      bool stale = was_reused && !got_bytes && (e.code == "ECONNRESET" || e.code == "EPIPE");
      if (stale && attempt == 0) {
        std::lock_guard<std::mutex> lk(mu_);
        idle_.clear();
        continue;
      }
      throw;
    }
  }
}

HttpResponse HttpClient::exchange(Conn& c, const HttpRequest& req, bool* got_bytes) {
  std::string head;
  head.reserve(256);
  head += req.method + " " + req.target + " HTTP/1.1\r\nHost: " + ep_.host_header() + "\r\n";
  bool has_len = false;
  for (auto& h : req.headers) {
    head += h.first + ": " + h.second + "\r\n";
    if (lower(h.first) == "content-length") has_len = true;
  }
  if (!has_len && (req.body_len > 0 || req.method == "POST" || req.method == "PUT"))
    head += "Content-Length: " + std::to_string(req.body_len) + "\r\n";
  head += "Connection: keep-alive\r\n\r\n";
  int rt = req.read_timeout_ms >= 0 ? req.read_timeout_ms : limits_.read_timeout_ms;
  if (req.body_len > 0 && req.body_len < 65536) {
    head.append(req.body, req.body_len);
    c.stream->write_all(head.data(), head.size(), rt);
  } else {
    c.stream->write_all(head.data(), head.size(), rt);
    if (req.body_len > 0) c.stream->write_all(req.body, req.body_len, rt);
  }

  HttpResponse r;
  std::string status;
  for (;;) {
    if (c.buf.size() == c.pos && c.fill(rt) == 0)
      throw TransportError("ECONNRESET", "connection closed before the response");
    *got_bytes = true;
    status = c.line(rt, 16384);
    if (status.rfind("HTTP/1.", 0) != 0) throw TransportError("EPROTO", "not an HTTP response: " + status.substr(0, 80));
    if (status.size() < 12 || status[8] != ' ') throw TransportError("EPROTO", "bad HTTP status line: " + status.substr(0, 80));
    r.status = atoi(status.c_str() + 9);
    // Skip 1xx interim responses.
    if (r.status >= 100 && r.status < 200) {
      while (!c.line(rt, 16384).empty()) {
      }
      continue;
    }
    break;
  }
  int64_t content_length = -1;
  bool chunked = false;
  size_t header_bytes = 0;
  for (;;) {
    std::string l = c.line(rt, 65536);
    if (l.empty()) break;
    header_bytes += l.size();
    if (header_bytes > (1u << 20)) throw TransportError("EPROTO", "HTTP headers too large");
    auto colon = l.find(':');
    if (colon == std::string::npos) continue;
    std::string name = lower(trim(l.substr(0, colon)));
    std::string value = trim(l.substr(colon + 1));
    if (name == "content-length") content_length = strtoll(value.c_str(), nullptr, 10);
    else if (name == "transfer-encoding" && lower(value).find("chunked") != std::string::npos) chunked = true;
    else if (name == "content-type") r.content_type = value;
    else if (name == "location") r.location = value;
    r.headers.emplace_back(name, value);
  }
  const size_t max = limits_.max_response_bytes;
  auto too_large = [&]() {
    return TransportError("RESPONSE_TOO_LARGE",
                          "response larger than maxResponseBytes (" + std::to_string(max) + " bytes)");
  };
  if (req.method == "HEAD" || r.status == 204 || r.status == 304) return r;
  if (chunked) {
    for (;;) {
      std::string sz = c.line(rt, 1024);
      // A chunk size is 1-16 hex digits, optionally followed by extensions after ';'.
      size_t n = 0, digits = 0;
      for (char ch : sz) {
        int d = ch >= '0' && ch <= '9' ? ch - '0'
                : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                : -1;
        if (d < 0) break;
        if (++digits > 16) throw TransportError("EPROTO", "chunk size too long");
        n = n * 16 + static_cast<size_t>(d);
      }
      if (digits == 0) throw TransportError("EPROTO", "bad chunk size line");
      if (n == 0) {
        while (!c.line(rt, 65536).empty()) {
        }
        break;
      }
      if (n > max - r.body.size()) throw too_large();
      c.take(n, r.body, rt);
      c.line(rt, 16);
    }
  } else if (content_length >= 0) {
    if (static_cast<uint64_t>(content_length) > max) throw too_large();
    r.body.reserve(static_cast<size_t>(content_length));
    c.take(static_cast<size_t>(content_length), r.body, rt);
  } else {
    // Delimited by close.
    r.body.append(c.buf, c.pos, std::string::npos);
    c.pos = c.buf.size();
    if (r.body.size() > max) throw too_large();
    char tmp[65536];
    for (;;) {
      size_t n = c.stream->read_some(tmp, sizeof tmp, rt);
      if (n == 0) break;
      if (n > max - r.body.size()) throw too_large();
      r.body.append(tmp, n);
    }
    r.headers.emplace_back("connection", "close");
  }
  return r;
}

}  // namespace xapi
