// Mirror rows -> JS objects, read straight from the encoded form (no intermediate Value), and
// JS filter specs -> mirror conditions. Main thread only.
#pragma once

#include <napi.h>

#include <vector>

#include "xapi/mirror.h"

namespace xapi::js {

// A record as a plain object with `$ref`; with `fields`, only those field ids.
napi_value row_to_js(napi_env env, const ClassSchema& cls, const Row& row, const std::vector<int>* fields);

// [[field, key|null, 'eq'|'in'|'exists'|'missing', values[]], ...] -> conditions.
std::vector<Cond> where_from_js(const ClassSchema& cls, Napi::Value spec);

}  // namespace xapi::js
