// XML-RPC codec for XAPI: encodes method calls (and responses, for tests and tools) and decodes
// responses and calls into xapi::Value, following xapi's own serializer and lenient parser.
// No I/O and no policy: transports hand it bodies, callers interpret results. One header for
// both halves: xmlrpc_encode.cc and xmlrpc_decode.cc.
#pragma once

#include <string>
#include <string_view>

#include "xapi/value.h"

namespace xapi {

struct XmlRpcEncodeOptions {
  // How Int values go out. xapi's int64 unmarshaller accepts a decimal string, which is what the
  // Python and C SDKs send (`String`, written as a bare <value>); `I8` writes <i8>, strict mode.
  enum class Ints { String, I8 } ints = Ints::String;
};

struct Call {
  std::string method;
  Array params;
};

// <?xml version="1.0"?><methodCall><methodName>M</methodName><params>...</params></methodCall>
std::string xmlrpc_encode_call(std::string_view method, const Array& params, const XmlRpcEncodeOptions& opts = {});

// A methodResponse in xapi's Status/Value or Status/ErrorDescription envelope.
std::string xmlrpc_encode_response(const Response& response, const XmlRpcEncodeOptions& opts = {});

// Appends one <value>...</value>.
void xmlrpc_encode_value(std::string& out, const Value& v, const XmlRpcEncodeOptions& opts = {});

// Decodes a methodResponse. The xapi envelope (Status Success/Failure) is unwrapped; a response
// without it (system.listMethods) is returned as is; an XML-RPC <fault> becomes the error
// ["XMLRPC_FAULT", faultCode, faultString]. Untyped <value>s decode as strings, as in xapi.
// Throws DecodeError.
Response xmlrpc_decode_response(std::string_view body, const DecodeOptions& opts = {});

// Decodes a methodCall. Throws DecodeError.
Call xmlrpc_decode_call(std::string_view body, const DecodeOptions& opts = {});

// Decodes a run of <member> elements (what lies between a struct's tags) as the members of a
// struct nested `depth` deep (depth counts toward DecodeOptions::max_depth as in a document).
// bulk_decode.cc decodes pieces of a large answer with it. Throws DecodeError.
Struct xmlrpc_decode_members(std::string_view run, size_t depth, const DecodeOptions& opts = {});

}  // namespace xapi
