// libFuzzer target for the JSON decoder and JSON-RPC response decoding: any input must decode or
// throw DecodeError, and a decoded response must survive encode and decode unchanged. Built by
// run.sh only; never linked into xapi.node.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "fuzz_common.h"
#include "xapi/jsonrpc.h"
#include "xapi/utf8.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  xapi::DecodeOptions strict;
  strict.repair_utf8 = false;
  strict.max_depth = 32;
  try {
    xapi::json_decode(body, strict);
  } catch (const xapi::DecodeError&) {
  }
  xapi::Response first;
  try {
    first = xapi::jsonrpc_decode_response(body);
  } catch (const xapi::DecodeError&) {
    return 0;
  }
  for (auto version : {xapi::JsonRpcVersion::V1, xapi::JsonRpcVersion::V2}) {
    std::string again = xapi::jsonrpc_encode_response(first, 7, version);
    if (!xapi::utf8_valid(again)) std::abort();
    xapi::Response second = xapi::jsonrpc_decode_response(again);  // must not throw
    if (!xapi::fuzz::same(first, second)) std::abort();
  }
  return 0;
}
