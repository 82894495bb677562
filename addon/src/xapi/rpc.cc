// RPC round trips in either protocol over an HttpClient (see rpc.h). HTTP errors and
// undecodable bodies become TransportErrors; XAPI failures stay in the Response.
#include "xapi/rpc.h"

#include "xapi/bulk_decode.h"
#include "xapi/jsonrpc.h"
#include "xapi/xmlrpc.h"

namespace xapi {

const char* protocol_name(Protocol p) {
  switch (p) {
    case Protocol::JsonRpc: return "json-rpc";
    case Protocol::XmlRpc: return "xml-rpc";
    default: return "auto";
  }
}

Rpc::Rpc(std::shared_ptr<HttpClient> http, Protocol protocol) : http_(std::move(http)), protocol_(protocol) {}

Response Rpc::call(const std::string& method, const Array& params, CancelToken* cancel, int read_timeout_ms,
                   bool bulk) {
  Protocol p = protocol_.load();
  if (p != Protocol::Auto) return call_as(p, method, params, cancel, read_timeout_ms, false, bulk);
  return call_as(Protocol::JsonRpc, method, params, cancel, read_timeout_ms, true, bulk);
}

Response Rpc::call_as(Protocol p, const std::string& method, const Array& params, CancelToken* cancel,
                      int read_timeout_ms, bool detecting, bool bulk) {
  HttpRequest req;
  std::string body;
  if (p == Protocol::JsonRpc) {
    body = jsonrpc_encode_call(method, params, next_id_.fetch_add(1));
    req.target = "/jsonrpc";
    req.headers.emplace_back("Content-Type", "application/json");
  } else {
    body = xmlrpc_encode_call(method, params);
    req.target = "/";
    req.headers.emplace_back("Content-Type", "text/xml");
  }
  req.body = body.data();
  req.body_len = body.size();
  req.read_timeout_ms = read_timeout_ms;
  HttpResponse res = http_->request(req, cancel);
  bool json_answer = res.content_type.find("json") != std::string::npos;
  if (detecting) {
    if (res.status == 200 && json_answer) {
      protocol_.store(Protocol::JsonRpc);
    } else {
      // Hosts without JSON-RPC answer /jsonrpc through their XML-RPC handler (or not at all).
      protocol_.store(Protocol::XmlRpc);
      return call_as(Protocol::XmlRpc, method, params, cancel, read_timeout_ms, false, bulk);
    }
  }
  if (res.status != 200)
    throw TransportError("HTTP_" + std::to_string(res.status),
                         "XAPI answered HTTP " + std::to_string(res.status) + " to " + method);
  try {
    std::string_view view(res.body);
    if (p == Protocol::JsonRpc && !json_answer)
      throw TransportError("EPROTO", "expected a JSON-RPC answer, got " + res.content_type);
    if (bulk) return decode_bulk(view, p);
    return p == Protocol::JsonRpc ? jsonrpc_decode_response(view) : xmlrpc_decode_response(view);
  } catch (const DecodeError& e) {
    throw TransportError("EPROTO", std::string("undecodable response to ") + method + ": " + e.what());
  }
}

Value decode_task_result(const std::string& text) {
  if (text.empty()) return Value(std::string());
  std::string doc = "<?xml version=\"1.0\"?><methodResponse><params><param>" + text +
                    "</param></params></methodResponse>";
  try {
    Response r = xmlrpc_decode_response(doc);
    return r.ok ? std::move(r.value) : Value(text);
  } catch (const DecodeError&) {
    return Value(text);
  }
}

}  // namespace xapi
