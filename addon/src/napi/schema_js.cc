// JS datamodel tables -> Schema (see schema_js.h). Entries of the wrong shape are a TypeError.
#include "napi/schema_js.h"

#include <string>
#include <utility>
#include <vector>

namespace xapi::js {

std::shared_ptr<Schema> schema_from_js(Napi::Value tables) {
  auto schema = std::make_shared<Schema>();
  if (!tables.IsArray()) return schema;
  Napi::Env env = tables.Env();
  auto classes = tables.As<Napi::Array>();
  for (uint32_t i = 0; i < classes.Length(); i++) {
    Napi::Value entry = classes.Get(i);
    if (!entry.IsArray() || !entry.As<Napi::Array>().Get(0u).IsString() || !entry.As<Napi::Array>().Get(1u).IsArray())
      throw Napi::TypeError::New(env, "schema entries are [class, [[field, type], ...]]");
    auto cls = entry.As<Napi::Array>();
    std::string name = cls.Get(0u).As<Napi::String>().Utf8Value();
    std::vector<std::pair<std::string, std::string>> fields;
    auto fa = cls.Get(1u).As<Napi::Array>();
    for (uint32_t j = 0; j < fa.Length(); j++) {
      Napi::Value f = fa.Get(j);
      if (!f.IsArray() || !f.As<Napi::Array>().Get(0u).IsString() || !f.As<Napi::Array>().Get(1u).IsString())
        throw Napi::TypeError::New(env, "schema fields are [field, type]");
      fields.emplace_back(f.As<Napi::Array>().Get(0u).As<Napi::String>().Utf8Value(),
                          f.As<Napi::Array>().Get(1u).As<Napi::String>().Utf8Value());
    }
    schema->add_class(name, fields);
  }
  return schema;
}

}  // namespace xapi::js
