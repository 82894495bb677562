// The datamodel tables as JS hands them over (src/xapi/client.ts datamodelTables().schema:
// [[class, [[field, type], ...]], ...]) -> a Schema. Shared by the client and the test-only
// module; main thread only, and it checks only what keeps C++ from crashing.
#pragma once

#include <napi.h>

#include <memory>

#include "xapi/schema.h"

namespace xapi::js {

// Classes and fields of `tables` (anything not an array gives an empty schema).
std::shared_ptr<Schema> schema_from_js(Napi::Value tables);

}  // namespace xapi::js
