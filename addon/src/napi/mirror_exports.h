// Test- and benchmark-only: decodeIntoMirror, a get_all_records body (no network) decoded and
// built into a scratch mirror exactly as the event stream loads a class, with native timings.
// Built into xapi_testing.node only; the product module (xapi.node) must not contain it.
#pragma once

#include <napi.h>

namespace xapi::js {

// decodeIntoMirror(schemaTables, cls, protocol, body, sharing?) -> { decodeMs, buildMs, freeMs,
// totalMs, rows, rowBytes }, on the calling thread plus, as `sharing` says ('auto': while a core
// is spare, as the product does; 'alone'; 'helper'), one helper thread.
Napi::Value DecodeIntoMirror(const Napi::CallbackInfo& info);

}  // namespace xapi::js
