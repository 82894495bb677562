// Module init only: builds the addon's exports. Each export lives in its own src/napi/ file;
// nothing here holds state or does work beyond registering them.
#include <napi.h>

#include "napi/client_wrap.h"
#include "napi/codec_exports.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("codec", xapi::js::codec_exports(env));
  exports.Set("NativeClient", xapi::js::ClientWrap::Define(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(xapi, Init)
