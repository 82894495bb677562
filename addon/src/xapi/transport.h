// Byte streams to a XAPI host: Unix socket, TCP and TLS (OpenSSL as bundled with Node), with
// connect/read deadlines and certificate policy (CA file, pinned SHA-256 fingerprint, or an
// explicit opt-out). Knows nothing of HTTP or RPC; never touches N-API.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace xapi {

// A failure below the RPC layer, with a stable code ('ECONNREFUSED', 'ETIMEDOUT', 'TLS_VERIFY'...).
struct TransportError : std::runtime_error {
  std::string code;
  bool unsent = false;  // the request never left (connect failed): safe to send elsewhere
  TransportError(std::string c, const std::string& message)
      : std::runtime_error(message), code(std::move(c)) {}
};

// Where to connect: `unix:///path`, `http://host[:port]`, `https://host[:port]`.
struct Endpoint {
  enum class Kind { Unix, Tcp };
  Kind kind = Kind::Tcp;
  std::string path;  // Unix socket path
  std::string host;  // TCP host name or address (IPv6 without brackets)
  uint16_t port = 80;
  bool tls = false;

  static Endpoint parse(const std::string& url);  // throws std::invalid_argument
  Endpoint with_host(const std::string& new_host) const;
  std::string url() const;
  std::string host_header() const;
};

struct TlsPolicy {
  std::string ca_file;      // PEM bundle to verify against; empty: system default paths
  std::string fingerprint;  // SHA-256 of the DER certificate, hex (colons allowed); wins over ca_file
  bool insecure = false;    // accept any certificate (the caller logs this choice)
};

// One SSL_CTX per client and policy; connections share it.
class TlsContext {
 public:
  explicit TlsContext(TlsPolicy policy);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;
  SSL_CTX* ctx() const { return ctx_; }
  const TlsPolicy& policy() const { return policy_; }
  const std::string& pinned() const { return pinned_; }  // normalized lowercase hex, or empty

 private:
  TlsPolicy policy_;
  std::string pinned_;
  SSL_CTX* ctx_ = nullptr;
};

// A connected stream. read/write take a timeout in milliseconds; interrupt() may be called from
// another thread to make a blocked read or write fail with code 'ECANCELED'.
class Stream {
 public:
  static std::unique_ptr<Stream> open(const Endpoint& ep, const TlsContext* tls, int connect_timeout_ms);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  void write_all(const char* data, size_t len, int timeout_ms);
  size_t read_some(char* buf, size_t cap, int timeout_ms);  // 0 on orderly EOF
  void interrupt();
  bool interrupted() const { return interrupted_.load(); }

 private:
  Stream() = default;
  void wait(bool for_read, int timeout_ms);
  void tls_handshake(const Endpoint& ep, const TlsContext& tls, int timeout_ms);

  int fd_ = -1;
  int wake_[2] = {-1, -1};  // self-pipe so interrupt() wakes poll()
  SSL* ssl_ = nullptr;
  std::atomic<bool> interrupted_{false};
};

// Lowercase hex SHA-256 fingerprint normalisation ("AA:bb..." -> "aabb..."); empty when malformed.
std::string normalize_fingerprint(const std::string& text);

}  // namespace xapi
