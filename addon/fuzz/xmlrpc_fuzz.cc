// libFuzzer target for the XML-RPC decoder: any input must decode or throw DecodeError, and a
// decoded response must survive encode (with <i8> ints) and decode unchanged. Built by run.sh
// only; never linked into xapi.node.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "fuzz_common.h"
#include "xapi/utf8.h"
#include "xapi/xmlrpc.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  xapi::DecodeOptions strict;
  strict.repair_utf8 = false;
  strict.max_depth = 32;
  try {
    xapi::xmlrpc_decode_call(body, strict);
  } catch (const xapi::DecodeError&) {
  }
  try {
    xapi::xmlrpc_decode_response(body, strict);
  } catch (const xapi::DecodeError&) {
  }
  xapi::Response first;
  try {
    first = xapi::xmlrpc_decode_response(body);
  } catch (const xapi::DecodeError&) {
    return 0;
  }
  xapi::XmlRpcEncodeOptions i8;
  i8.ints = xapi::XmlRpcEncodeOptions::Ints::I8;
  std::string again = xapi::xmlrpc_encode_response(first, i8);
  if (!xapi::utf8_valid(again)) std::abort();
  xapi::Response second = xapi::xmlrpc_decode_response(again);  // must not throw
  if (!xapi::fuzz::same(first, second)) std::abort();
  return 0;
}
