// Mirror rows as JSON text (see row_json in mirror.h): what JS parses into records faster than
// N-API can build them. Reads rows through the row form's reader (row_blob.h), never the bytes
// themselves; no locks, no I/O, no N-API.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "xapi/mirror.h"

namespace xapi {

namespace {

void json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  const char* p = s.data();
  size_t n = s.size();
  out.push_back('"');
  size_t run = 0;
  for (size_t i = 0; i < n; i++) {
    auto c = static_cast<uint8_t>(p[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(p + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        out += "\\u00";
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 15]);
    }
  }
  out.append(p + run, n - run);
  out.push_back('"');
}

bool json_value(std::string& out, const BlobValue& v, bool top) {
  char num[32];
  switch (v.tag) {
    case BlobTag::Nil:
      out += "null";
      return true;
    case BlobTag::String:
      json_string(out, v.text);
      return true;
    case BlobTag::Int:
      if (v.integer > 9007199254740991LL || v.integer < -9007199254740991LL) return false;
      out += std::to_string(v.integer);
      return true;
    case BlobTag::Double:
      if (!std::isfinite(v.dbl)) return false;
      snprintf(num, sizeof num, "%.17g", v.dbl);
      out += num;
      return true;
    case BlobTag::True:
      out += "true";
      return true;
    case BlobTag::False:
      out += "false";
      return true;
    case BlobTag::DateTime:
      if (!top) return false;
      if (v.valid) out += std::to_string(v.integer);
      else json_string(out, v.text);
      return true;
    case BlobTag::Array: {
      out.push_back('[');
      BlobCursor items(v.body);
      for (uint64_t i = 0; i < v.count; i++) {
        if (i) out.push_back(',');
        if (!json_value(out, items.value(), false)) return false;
      }
      out.push_back(']');
      return true;
    }
    case BlobTag::Struct: {
      out.push_back('{');
      BlobCursor members(v.body);
      for (uint64_t i = 0; i < v.count; i++) {
        if (i) out.push_back(',');
        json_string(out, members.key());
        out.push_back(':');
        if (!json_value(out, members.value(), false)) return false;
      }
      out.push_back('}');
      return true;
    }
  }
  return false;
}

}  // namespace

bool row_json(std::string& out, const ClassSchema& cls, const Row& row, const std::vector<int>* fields) {
  out += "{\"$ref\":";
  json_string(out, row.ref);
  auto one = [&](int id) {
    const uint8_t* p = row.field(id);
    if (!p) return true;
    out.push_back(',');
    const std::string& name = cls.fields[static_cast<size_t>(id)];
    json_string(out, name);
    out.push_back(':');
    return json_value(out, BlobCursor(p).value(), true);
  };
  if (fields) {
    for (int id : *fields)
      if (!one(id)) return false;
  } else {
    for (size_t id = 0; id < cls.fields.size(); id++)
      if (!one(static_cast<int>(id))) return false;
  }
  out.push_back('}');
  return true;
}

}  // namespace xapi
