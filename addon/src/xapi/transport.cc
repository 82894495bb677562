// Byte streams to a XAPI host (Unix, TCP, TLS) with deadlines and certificate policy.
// Blocking calls here run on worker threads only; every wait goes through poll() with a
// self-pipe so another thread can interrupt it. No HTTP, no RPC, no N-API.
#include "xapi/transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <stdexcept>

namespace xapi {

namespace {

std::string errno_code(int err) {
  switch (err) {
    case ECONNREFUSED: return "ECONNREFUSED";
    case ECONNRESET: return "ECONNRESET";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EHOSTUNREACH: return "EHOSTUNREACH";
    case ENETUNREACH: return "ENETUNREACH";
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EPIPE: return "EPIPE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    default: return "EIO";
  }
}

[[noreturn]] void throw_errno(const std::string& what, int err) {
  throw TransportError(errno_code(err), what + ": " + strerror(err));
}

std::string ssl_error_text() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown TLS error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

bool is_ip_literal(const std::string& host) {
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace

// ---- Endpoint -------------------------------------------------------------------------------

Endpoint Endpoint::parse(const std::string& url) {
  Endpoint ep;
  auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) throw std::invalid_argument("URL without scheme: " + url);
  std::string scheme = url.substr(0, scheme_end);
  std::string rest = url.substr(scheme_end + 3);
  if (scheme == "unix") {
    ep.kind = Kind::Unix;
    ep.path = rest;
    if (ep.path.empty() || ep.path[0] != '/') throw std::invalid_argument("unix URL needs an absolute path");
    return ep;
  }
  if (scheme != "http" && scheme != "https") throw std::invalid_argument("unsupported scheme: " + scheme);
  ep.tls = scheme == "https";
  ep.port = ep.tls ? 443 : 80;
  auto slash = rest.find('/');
  std::string authority = slash == std::string::npos ? rest : rest.substr(0, slash);
  auto at = authority.rfind('@');
  if (at != std::string::npos) authority = authority.substr(at + 1);
  std::string port_text;
  if (!authority.empty() && authority[0] == '[') {
    auto close = authority.find(']');
    if (close == std::string::npos) throw std::invalid_argument("bad IPv6 literal in URL");
    ep.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') port_text = authority.substr(close + 2);
  } else {
    auto colon = authority.rfind(':');
    if (colon != std::string::npos) {
      ep.host = authority.substr(0, colon);
      port_text = authority.substr(colon + 1);
    } else {
      ep.host = authority;
    }
  }
  if (ep.host.empty()) throw std::invalid_argument("URL without host: " + url);
  if (!port_text.empty()) {
    char* end = nullptr;
    long p = strtol(port_text.c_str(), &end, 10);
    if (*end != '\0' || p <= 0 || p > 65535) throw std::invalid_argument("bad port in URL: " + url);
    ep.port = static_cast<uint16_t>(p);
  }
  return ep;
}

Endpoint Endpoint::with_host(const std::string& new_host) const {
  Endpoint ep = *this;
  std::string h = new_host;
  // A master address may come as 'host:port' or '[v6]'; keep our port unless one is given.
  if (!h.empty() && h[0] == '[') {
    auto close = h.find(']');
    if (close != std::string::npos) h = h.substr(1, close - 1);
  }
  ep.host = h;
  return ep;
}

std::string Endpoint::url() const {
  if (kind == Kind::Unix) return "unix://" + path;
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return std::string(tls ? "https://" : "http://") + h + ":" + std::to_string(port);
}

std::string Endpoint::host_header() const {
  if (kind == Kind::Unix) return "localhost";
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if ((tls && port == 443) || (!tls && port == 80)) return h;
  return h + ":" + std::to_string(port);
}

// ---- TLS context ----------------------------------------------------------------------------

std::string normalize_fingerprint(const std::string& text) {
  std::string out;
  std::string t = text;
  if (t.rfind("sha-256:", 0) == 0 || t.rfind("sha256:", 0) == 0) t = t.substr(t.find(':') + 1);
  for (char c : t) {
    if (c == ':' || c == ' ') continue;
    if (!isxdigit(static_cast<unsigned char>(c))) return "";
    out.push_back(static_cast<char>(tolower(static_cast<unsigned char>(c))));
  }
  return out.size() == 64 ? out : "";
}

TlsContext::TlsContext(TlsPolicy policy) : policy_(std::move(policy)) {
  ctx_ = SSL_CTX_new(TLS_client_method());
  if (!ctx_) throw TransportError("TLS_INIT", "cannot create TLS context: " + ssl_error_text());
  SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx_, SSL_OP_IGNORE_UNEXPECTED_EOF);
  if (!policy_.fingerprint.empty()) {
    pinned_ = normalize_fingerprint(policy_.fingerprint);
    if (pinned_.empty()) {
      SSL_CTX_free(ctx_);
      throw TransportError("TLS_INIT", "fingerprint must be 64 hex digits (SHA-256)");
    }
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);  // checked against the pin after the handshake
  } else if (policy_.insecure) {
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
  } else {
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    int ok = policy_.ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx_)
                                     : SSL_CTX_load_verify_locations(ctx_, policy_.ca_file.c_str(), nullptr);
    if (ok != 1) {
      std::string msg = ssl_error_text();
      SSL_CTX_free(ctx_);
      throw TransportError("TLS_INIT", "cannot load CA file '" + policy_.ca_file + "': " + msg);
    }
  }
}

TlsContext::~TlsContext() {
  if (ctx_) SSL_CTX_free(ctx_);
}

// ---- Stream ---------------------------------------------------------------------------------

std::unique_ptr<Stream> Stream::open(const Endpoint& ep, const TlsContext* tls, int connect_timeout_ms) {
  std::unique_ptr<Stream> s(new Stream());
  if (pipe2(s->wake_, O_CLOEXEC | O_NONBLOCK) != 0) throw_errno("pipe", errno);
  int64_t deadline = now_ms() + connect_timeout_ms;

  if (ep.kind == Endpoint::Kind::Unix) {
    s->fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s->fd_ < 0) throw_errno("socket", errno);
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    if (ep.path.size() >= sizeof addr.sun_path) throw TransportError("EINVAL", "socket path too long");
    memcpy(addr.sun_path, ep.path.c_str(), ep.path.size());
    if (connect(s->fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS &&
        errno != EAGAIN)
      throw_errno("connect " + ep.path, errno);
    s->wait(false, connect_timeout_ms);
    return s;
  }

  struct addrinfo hints;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  struct addrinfo* res = nullptr;
  std::string port = std::to_string(ep.port);
  int rc = getaddrinfo(ep.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) throw TransportError("ENOTFOUND", "cannot resolve " + ep.host + ": " + gai_strerror(rc));
  int last_err = ECONNREFUSED;
  for (struct addrinfo* ai = res; ai; ai = ai->ai_next) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) {
      last_err = errno;
      continue;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last_err = errno;
      close(fd);
      continue;
    }
    s->fd_ = fd;
    try {
      int left = static_cast<int>(deadline - now_ms());
      s->wait(false, left > 0 ? left : 0);
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        last_err = err;
        close(fd);
        s->fd_ = -1;
        continue;
      }
    } catch (const TransportError&) {
      freeaddrinfo(res);
      throw;
    }
    break;
  }
  freeaddrinfo(res);
  if (s->fd_ < 0) throw_errno("connect " + ep.host + ":" + port, last_err);
  int one = 1;
  setsockopt(s->fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (ep.tls) {
    if (!tls) throw TransportError("TLS_INIT", "https endpoint without TLS context");
    int left = static_cast<int>(deadline - now_ms());
    s->tls_handshake(ep, *tls, left > 0 ? left : 1);
  }
  return s;
}

Stream::~Stream() {
  if (ssl_) SSL_free(ssl_);
  if (fd_ >= 0) close(fd_);
  if (wake_[0] >= 0) close(wake_[0]);
  if (wake_[1] >= 0) close(wake_[1]);
}

void Stream::interrupt() {
  interrupted_.store(true);
  char c = 1;
  if (wake_[1] >= 0) (void)!write(wake_[1], &c, 1);
}

void Stream::wait(bool for_read, int timeout_ms) {
  struct pollfd p[2];
  p[0].fd = fd_;
  p[0].events = for_read ? POLLIN : POLLOUT;
  p[1].fd = wake_[0];
  p[1].events = POLLIN;
  int64_t deadline = now_ms() + timeout_ms;
  for (;;) {
    if (interrupted_.load()) throw TransportError("ECANCELED", "connection closed by the client");
    int left = static_cast<int>(deadline - now_ms());
    if (left < 0) left = 0;
    int rc = poll(p, 2, left);
    if (rc < 0) {
      if (errno == EINTR) continue;
      throw_errno("poll", errno);
    }
    if (interrupted_.load() || (p[1].revents & POLLIN))
      throw TransportError("ECANCELED", "connection closed by the client");
    if (rc == 0) throw TransportError("ETIMEDOUT", for_read ? "read timed out" : "connect/write timed out");
    if (p[0].revents) return;
  }
}

void Stream::tls_handshake(const Endpoint& ep, const TlsContext& tls, int timeout_ms) {
  ssl_ = SSL_new(tls.ctx());
  if (!ssl_) throw TransportError("TLS_INIT", "SSL_new: " + ssl_error_text());
  SSL_set_fd(ssl_, fd_);
  bool ip = is_ip_literal(ep.host);
  if (!ip) SSL_set_tlsext_host_name(ssl_, ep.host.c_str());
  bool verify_chain = tls.pinned().empty() && !tls.policy().insecure;
  if (verify_chain) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, ep.host.c_str()) : X509_VERIFY_PARAM_set1_host(param, ep.host.c_str(), 0);
    if (ok != 1) throw TransportError("TLS_INIT", "cannot set the expected host name");
  }
  int64_t deadline = now_ms() + timeout_ms;
  for (;;) {
    ERR_clear_error();
    int rc = SSL_connect(ssl_);
    if (rc == 1) break;
    int err = SSL_get_error(ssl_, rc);
    int left = static_cast<int>(deadline - now_ms());
    if (err == SSL_ERROR_WANT_READ) {
      wait(true, left > 0 ? left : 0);
    } else if (err == SSL_ERROR_WANT_WRITE) {
      wait(false, left > 0 ? left : 0);
    } else {
      long vr = SSL_get_verify_result(ssl_);
      if (verify_chain && vr != X509_V_OK)
        throw TransportError("TLS_VERIFY", std::string("certificate verification failed for ") + ep.host + ": " +
                                               X509_verify_cert_error_string(vr));
      if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
        throw TransportError("ECONNRESET", "connection closed during the TLS handshake");
      throw TransportError("TLS_HANDSHAKE", "TLS handshake with " + ep.host + " failed: " + ssl_error_text());
    }
  }
  if (!tls.pinned().empty()) {
    X509* cert = SSL_get1_peer_certificate(ssl_);
    if (!cert) throw TransportError("TLS_VERIFY", "server sent no certificate");
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    X509_digest(cert, EVP_sha256(), md, &n);
    X509_free(cert);
    std::string hex;
    char b[3];
    for (unsigned i = 0; i < n; i++) {
      snprintf(b, sizeof b, "%02x", md[i]);
      hex += b;
    }
    if (hex != tls.pinned())
      throw TransportError("TLS_VERIFY", "certificate fingerprint of " + ep.host + " is sha256:" + hex +
                                             ", not the pinned one");
  }
}

void Stream::write_all(const char* data, size_t len, int timeout_ms) {
  int64_t deadline = now_ms() + timeout_ms;
  size_t off = 0;
  while (off < len) {
    if (interrupted_.load()) throw TransportError("ECANCELED", "connection closed by the client");
    int left = static_cast<int>(deadline - now_ms());
    if (left < 0) left = 0;
    if (ssl_) {
      ERR_clear_error();
      size_t chunk = len - off > (1u << 30) ? (1u << 30) : len - off;
      int rc = SSL_write(ssl_, data + off, static_cast<int>(chunk));
      if (rc > 0) {
        off += static_cast<size_t>(rc);
        continue;
      }
      int err = SSL_get_error(ssl_, rc);
      if (err == SSL_ERROR_WANT_READ) wait(true, left);
      else if (err == SSL_ERROR_WANT_WRITE) wait(false, left);
      else throw TransportError("ECONNRESET", "TLS write failed: " + ssl_error_text());
    } else {
      ssize_t rc = send(fd_, data + off, len - off, MSG_NOSIGNAL);
      if (rc > 0) {
        off += static_cast<size_t>(rc);
        continue;
      }
      if (rc < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) wait(false, left);
      else if (rc < 0 && errno == EINTR) continue;
      else throw_errno("write", rc < 0 ? errno : EPIPE);
    }
  }
}

size_t Stream::read_some(char* buf, size_t cap, int timeout_ms) {
  int64_t deadline = now_ms() + timeout_ms;
  for (;;) {
    if (interrupted_.load()) throw TransportError("ECANCELED", "connection closed by the client");
    int left = static_cast<int>(deadline - now_ms());
    if (left < 0) left = 0;
    if (ssl_) {
      ERR_clear_error();
      int want = cap > (1u << 30) ? (1 << 30) : static_cast<int>(cap);
      int rc = SSL_read(ssl_, buf, want);
      if (rc > 0) return static_cast<size_t>(rc);
      int err = SSL_get_error(ssl_, rc);
      if (err == SSL_ERROR_ZERO_RETURN) return 0;
      if (err == SSL_ERROR_WANT_READ) wait(true, left);
      else if (err == SSL_ERROR_WANT_WRITE) wait(false, left);
      else if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) return 0;
      else throw TransportError("ECONNRESET", "TLS read failed: " + ssl_error_text());
    } else {
      ssize_t rc = recv(fd_, buf, cap, 0);
      if (rc >= 0) return static_cast<size_t>(rc);
      if (errno == EAGAIN || errno == EWOULDBLOCK) wait(true, left);
      else if (errno == EINTR) continue;
      else throw_errno("read", errno);
    }
  }
}

}  // namespace xapi
