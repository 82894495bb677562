// The `codec` export object: the XML-RPC and JSON-RPC codecs callable from JS, for tests and
// benchmarks. Synchronous and stateless; built into xapi_testing.node only, never into the
// product module, and the client itself does not go through it.
#pragma once

#include <napi.h>

namespace xapi::js {

Napi::Object codec_exports(Napi::Env env);

}  // namespace xapi::js
