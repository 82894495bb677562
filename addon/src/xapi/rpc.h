// One RPC round trip to one XAPI endpoint in JSON-RPC or XML-RPC: encode, POST, check the HTTP
// answer, decode. Auto mode detects the protocol from the Content-Type of the /jsonrpc answer,
// as Xen Orchestra does. No session logic, no N-API.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "xapi/http.h"
#include "xapi/value.h"

namespace xapi {

enum class Protocol { Auto, JsonRpc, XmlRpc };
const char* protocol_name(Protocol p);

class Rpc {
 public:
  Rpc(std::shared_ptr<HttpClient> http, Protocol protocol);
  // Sends `method(params...)`; returns the decoded result or XAPI failure. Throws TransportError.
  // `bulk`: the answer is a large ref -> record map, decoded on two threads (bulk_decode.h).
  Response call(const std::string& method, const Array& params, CancelToken* cancel = nullptr,
                int read_timeout_ms = -1, bool bulk = false);
  Protocol protocol() const { return protocol_.load(); }
  HttpClient& http() { return *http_; }
  std::shared_ptr<HttpClient> http_ptr() { return http_; }

 private:
  Response call_as(Protocol p, const std::string& method, const Array& params, CancelToken* cancel,
                   int read_timeout_ms, bool detecting, bool bulk);
  std::shared_ptr<HttpClient> http_;
  std::atomic<Protocol> protocol_;
  std::atomic<int64_t> next_id_{1};
};

// Decodes a task's `result` field, which xapi fills with the XML-RPC text of one <value> even
// for JSON-RPC clients. Empty text decodes to an empty string (void).
Value decode_task_result(const std::string& text);

}  // namespace xapi
