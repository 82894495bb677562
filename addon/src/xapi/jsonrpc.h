// JSON-RPC codec for XAPI: encodes v1/v2 requests and decodes v1/v2 responses (both error shapes)
// into xapi::Value, with exact int64 and yojson's NaN/Infinity literals. Plain JSON values too.
// No I/O and no policy: transports hand it bodies, callers interpret results.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "xapi/value.h"

namespace xapi {

enum class JsonRpcVersion { V1, V2 };

// {"jsonrpc":"2.0","method":M,"params":[...],"id":ID} (v1: without "jsonrpc").
// Datetimes go out as strings in their wire text, Nil as null, non-finite doubles as NaN/Infinity.
std::string jsonrpc_encode_call(std::string_view method, const Array& params, int64_t id,
                                JsonRpcVersion version = JsonRpcVersion::V2);

// A response as xapi writes it: v2 {"result"} / {"error":{"code":1,"message","data"}}, or v1.
std::string jsonrpc_encode_response(const Response& response, int64_t id, JsonRpcVersion version = JsonRpcVersion::V2);

// Appends one JSON value.
void json_encode_value(std::string& out, const Value& v);

// Decodes a response of either version. An error member that is not null makes a failure:
// v2 {"message": CODE, "data": [params]} or v1 [CODE, params...]; an empty description becomes
// ["Failure"]. Throws DecodeError.
Response jsonrpc_decode_response(std::string_view body, const DecodeOptions& opts = {});

// Decodes one JSON document (object members keep their order; integers that fit int64 are Int,
// other numbers Double). Throws DecodeError.
Value json_decode(std::string_view body, const DecodeOptions& opts = {});

// Decodes the inside of an object (`"name":value` members separated by commas, no braces) as the
// members of an object nested `depth` deep (depth counts toward DecodeOptions::max_depth as in a
// document). bulk_decode.cc decodes pieces of a large answer with it. Throws DecodeError.
Struct json_decode_members(std::string_view run, size_t depth, const DecodeOptions& opts = {});

}  // namespace xapi
