// Module init only, of xapi_testing.node: the test- and benchmark-only entry points (`codec`,
// `decodeIntoMirror`). It is a separate gyp target so the product module (xapi.node, module.cc)
// never contains them; nothing in src/ loads it, only test/ and bench/.
#include <napi.h>

#include "napi/codec_exports.h"
#include "napi/mirror_exports.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("codec", xapi::js::codec_exports(env));
  exports.Set("decodeIntoMirror", Napi::Function::New(env, xapi::js::DecodeIntoMirror, "decodeIntoMirror"));
  return exports;
}

}  // namespace

NODE_API_MODULE(xapi_testing, Init)
