// Helpers shared by the libFuzzer targets: structural equality of decoded values (NaN equals
// NaN, so a round trip can be checked). Test code only; never linked into xapi.node.
#pragma once

#include <cmath>
#include <cstdlib>

#include "xapi/value.h"

namespace xapi::fuzz {

inline bool same(const Value& a, const Value& b) {
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::Nil:
      return true;
    case Value::Kind::String:
      return a.str() == b.str();
    case Value::Kind::Int:
      return a.integer() == b.integer();
    case Value::Kind::Double:
      return (std::isnan(a.dbl()) && std::isnan(b.dbl())) || a.dbl() == b.dbl();
    case Value::Kind::Bool:
      return a.boolean() == b.boolean();
    case Value::Kind::DateTime:
      return a.datetime().text == b.datetime().text && a.datetime().valid == b.datetime().valid &&
             a.datetime().epoch_ms == b.datetime().epoch_ms;
    case Value::Kind::Array:
      if (a.array().size() != b.array().size()) return false;
      for (size_t i = 0; i < a.array().size(); ++i)
        if (!same(a.array()[i], b.array()[i])) return false;
      return true;
    case Value::Kind::Struct:
      if (a.members().size() != b.members().size()) return false;
      for (size_t i = 0; i < a.members().size(); ++i)
        if (a.members()[i].first != b.members()[i].first || !same(a.members()[i].second, b.members()[i].second))
          return false;
      return true;
  }
  return false;
}

inline bool same(const Response& a, const Response& b) {
  return a.ok == b.ok && a.error == b.error && (!a.ok || same(a.value, b.value));
}

}  // namespace xapi::fuzz
