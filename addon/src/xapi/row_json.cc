// Mirror rows as JSON text (see row_json in mirror.h): what JS parses into records faster than
// N-API can build them. Reads the encoded row form only; no locks, no I/O, no N-API.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

#include "xapi/mirror.h"

namespace xapi {

namespace {

void json_string(std::string& out, const uint8_t* p, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  size_t run = 0;
  for (size_t i = 0; i < n; i++) {
    uint8_t c = p[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(reinterpret_cast<const char*>(p + run), i - run);
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
  out.append(reinterpret_cast<const char*>(p + run), n - run);
  out.push_back('"');
}

bool json_value(std::string& out, const uint8_t*& p, bool top) {
  auto tag = static_cast<BlobTag>(*p++);
  char num[32];
  switch (tag) {
    case BlobTag::Nil:
      out += "null";
      return true;
    case BlobTag::String: {
      uint64_t n = blob_varint(p);
      json_string(out, p, n);
      p += n;
      return true;
    }
    case BlobTag::Int: {
      int64_t i;
      memcpy(&i, p, 8);
      p += 8;
      if (i > 9007199254740991LL || i < -9007199254740991LL) return false;
      out += std::to_string(i);
      return true;
    }
    case BlobTag::Double: {
      double d;
      memcpy(&d, p, 8);
      p += 8;
      if (!std::isfinite(d)) return false;
      snprintf(num, sizeof num, "%.17g", d);
      out += num;
      return true;
    }
    case BlobTag::True:
      out += "true";
      return true;
    case BlobTag::False:
      out += "false";
      return true;
    case BlobTag::DateTime: {
      uint64_t n = blob_varint(p);
      const uint8_t* text = p;
      p += n;
      bool valid = *p++ != 0;
      int64_t ms;
      memcpy(&ms, p, 8);
      p += 8;
      if (!top) return false;
      if (valid) out += std::to_string(ms);
      else json_string(out, text, n);
      return true;
    }
    case BlobTag::Array: {
      uint64_t n = blob_varint(p);
      p += 4;
      out.push_back('[');
      for (uint64_t i = 0; i < n; i++) {
        if (i) out.push_back(',');
        if (!json_value(out, p, false)) return false;
      }
      out.push_back(']');
      return true;
    }
    case BlobTag::Struct: {
      uint64_t n = blob_varint(p);
      p += 4;
      out.push_back('{');
      for (uint64_t i = 0; i < n; i++) {
        if (i) out.push_back(',');
        uint64_t k = blob_varint(p);
        json_string(out, p, k);
        p += k;
        out.push_back(':');
        if (!json_value(out, p, false)) return false;
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
  json_string(out, reinterpret_cast<const uint8_t*>(row.ref.data()), row.ref.size());
  auto one = [&](int id) {
    const uint8_t* p = row.field(id);
    if (!p) return true;
    out.push_back(',');
    const std::string& name = cls.fields[static_cast<size_t>(id)];
    json_string(out, reinterpret_cast<const uint8_t*>(name.data()), name.size());
    out.push_back(':');
    return json_value(out, p, true);
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
