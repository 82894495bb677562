// Datamodel type parsing and type-directed coercion of decoded values (see schema.h).
// Coercion is lenient: a value that does not fit its declared type is left as decoded.
#include "xapi/schema.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "xapi/datetime.h"

namespace xapi {

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  return s;
}

bool ends_with(const std::string& s, const char* suffix) {
  size_t n = strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

bool parse_int64(const std::string& s, int64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  errno = 0;
  char* end = nullptr;
  long long v = strtoll(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return false;
  *out = v;
  return true;
}

}  // namespace

int Schema::add_type(Type t) {
  types_.push_back(t);
  return static_cast<int>(types_.size() - 1);
}

int Schema::parse_type(const std::string& raw) {
  auto hit = type_cache_.find(raw);
  if (hit != type_cache_.end()) return hit->second;
  std::string text = raw;
  while (!text.empty() && text.back() == ' ') text.pop_back();
  Type t;
  if (!text.empty() && text[0] == '(' && ends_with(text, " map")) {
    // (K -> V) map: find the matching parenthesis.
    int depth = 0;
    size_t close = std::string::npos;
    for (size_t i = 0; i < text.size(); i++) {
      if (text[i] == '(') depth++;
      else if (text[i] == ')' && --depth == 0) {
        close = i;
        break;
      }
    }
    std::string inner = close == std::string::npos ? "" : text.substr(1, close - 1);
    // The arrow at depth 0 separates key and value.
    size_t arrow = std::string::npos;
    depth = 0;
    for (size_t i = 0; i + 3 < inner.size(); i++) {
      if (inner[i] == '(') depth++;
      else if (inner[i] == ')') depth--;
      else if (depth == 0 && inner.compare(i, 4, " -> ") == 0) {
        arrow = i;
        break;
      }
    }
    t.kind = Type::Kind::Map;
    t.elem = arrow == std::string::npos ? add_type(Type{}) : parse_type(inner.substr(arrow + 4));
  } else if (ends_with(text, " set")) {
    t.kind = Type::Kind::Set;
    t.elem = parse_type(text.substr(0, text.size() - 4));
  } else if (ends_with(text, " record")) {
    t.kind = Type::Kind::Record;
    std::string cname = text.substr(0, text.size() - 7);
    int idx = class_index(cname);
    t.cls = idx;
    if (idx < 0) pending_records_.emplace_back(static_cast<int>(types_.size()), cname);
  } else if (text == "int") {
    t.kind = Type::Kind::Int;
  } else if (text == "float") {
    t.kind = Type::Kind::Float;
  } else if (text == "bool") {
    t.kind = Type::Kind::Bool;
  } else if (text == "datetime") {
    t.kind = Type::Kind::DateTime;
  } else if (text == "string" || ends_with(text, " ref") || text.rfind("enum ", 0) == 0) {
    t.kind = Type::Kind::String;
  }
  int id = add_type(t);
  type_cache_[raw] = id;
  return id;
}

void Schema::add_class(const std::string& name, const std::vector<std::pair<std::string, std::string>>& fields) {
  ClassSchema c;
  c.name = name;
  int idx = static_cast<int>(classes_.size());
  class_ids_[name] = idx;
  class_ids_lower_[lower(name)] = idx;
  for (auto& [fname, ftype] : fields) {
    c.field_ids[fname] = static_cast<int>(c.fields.size());
    c.fields.push_back(fname);
    c.field_types.push_back(parse_type(ftype));
  }
  classes_.push_back(std::move(c));
  for (auto& [tid, cname] : pending_records_)
    if (cname == name) types_[static_cast<size_t>(tid)].cls = idx;
}

int Schema::class_index(const std::string& name) const {
  auto it = class_ids_.find(name);
  return it == class_ids_.end() ? -1 : it->second;
}

int Schema::class_index_ci(const std::string& name) const {
  auto it = class_ids_lower_.find(lower(name));
  return it == class_ids_lower_.end() ? -1 : it->second;
}

void Schema::coerce_record(Value& v, int cls_idx) const {
  if (!v.is_struct() || cls_idx < 0) return;
  const ClassSchema& c = classes_[static_cast<size_t>(cls_idx)];
  for (auto& m : v.members()) {
    auto it = c.field_ids.find(m.first);
    if (it != c.field_ids.end()) coerce(m.second, c.field_types[static_cast<size_t>(it->second)]);
  }
}

void Schema::coerce(Value& v, int type_id) const {
  if (type_id < 0) return;
  const Type& t = types_[static_cast<size_t>(type_id)];
  switch (t.kind) {
    case Type::Kind::Any:
    case Type::Kind::String:
      return;
    case Type::Kind::Int:
      if (v.is_string()) {
        int64_t i;
        if (parse_int64(v.str(), &i)) v = Value(i);
      } else if (v.kind() == Value::Kind::Double) {
        double d = v.dbl();
        if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.2e18) v = Value(static_cast<int64_t>(d));
      }
      return;
    case Type::Kind::Float:
      if (v.kind() == Value::Kind::Int) {
        v = Value(static_cast<double>(v.integer()));
      } else if (v.is_string() && !v.str().empty()) {
        char* end = nullptr;
        double d = strtod(v.str().c_str(), &end);
        if (*end == '\0') v = Value(d);
      }
      return;
    case Type::Kind::Bool:
      if (v.is_string()) {
        const std::string& s = v.str();
        if (s == "true" || s == "1") v = Value(true);
        else if (s == "false" || s == "0") v = Value(false);
      } else if (v.kind() == Value::Kind::Int) {
        v = Value(v.integer() != 0);
      }
      return;
    case Type::Kind::DateTime:
      if (v.is_string()) v = Value(parse_datetime(v.str()));
      return;
    case Type::Kind::Set:
      if (v.is_array())
        for (auto& e : v.array()) coerce(e, t.elem);
      return;
    case Type::Kind::Map:
      if (v.is_struct())
        for (auto& m : v.members()) coerce(m.second, t.elem);
      return;
    case Type::Kind::Record:
      coerce_record(v, t.cls);
      return;
  }
}

}  // namespace xapi
