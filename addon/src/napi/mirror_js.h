// Mirror rows -> JS objects, read straight from the encoded form (no intermediate Value), and
// JS filter specs -> mirror conditions. Main thread only.
#pragma once

#include <napi.h>

#include <vector>

#include "xapi/mirror.h"

namespace xapi::js {

// Property-name strings of each class's fields, made once per client and reused by every read
// (V8 then finds them already internalized). Main thread only; release() before the env goes.
// (N-API 8 cannot reference a string, so each class's keys live in a referenced JS array.)
class KeyCache {
 public:
  napi_value keys_of(napi_env env, int cls);  // the class's key array (slot n: field n, last: '$ref')
  napi_value field(napi_env env, napi_value keys, uint32_t id, const std::string& name);
  void release(napi_env env);

 private:
  std::vector<napi_ref> refs_;
};

// A record as a plain object with `$ref`; with `fields`, only those field ids.
napi_value row_to_js(napi_env env, KeyCache& keys, int cls_idx, const ClassSchema& cls, const Row& row,
                     const std::vector<int>* fields);

// [[field, key|null, 'eq'|'in'|'exists'|'missing', values[]], ...] -> conditions.
std::vector<Cond> where_from_js(const ClassSchema& cls, Napi::Value spec);

}  // namespace xapi::js
