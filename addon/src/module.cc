// Module init only, of the product module xapi.node: builds the addon's exports. Each export
// lives in its own src/napi/ file; nothing here holds state or does work beyond registering
// them. Test- and benchmark-only entry points belong to testing_module.cc, never here.
#include <napi.h>

#include "napi/client_wrap.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeClient", xapi::js::ClientWrap::Define(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(xapi, Init)
